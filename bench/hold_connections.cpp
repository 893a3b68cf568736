// Holds connections open against a server for the length of a benchmark run (issue 22):
// IDLE kept-alive connections, each having made one whole request, and SLOW ones dribbling a
// header byte per second and never finishing their request. A connection the server closes
// (its keep-alive or header deadline) is opened again, so the server holds about that many
// throughout. Connections come from 127.0.0.2 and up, 50 per address, to stay under a
// per-address limit. One thread, poll().
//
//   bench_hold_connections PORT IDLE SLOW SECONDS
// Prints "READY" once every idle connection had its answer, and at the end (SECONDS, or
// SIGINT/SIGTERM) one line: "HOLD idle=... slow=... reopened=... min_open=... refused=..."
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t stop = 0;

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  bool slow = false;
  int index = 0;
  bool answered = false;  // idle: its request was answered
  Clock::time_point next_byte;
};

int open(int index, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(2 + index / 50));
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool begin(Conn& c, uint16_t port) {
  c.fd = open(c.index, port);
  if (c.fd < 0) return false;
  c.answered = false;
  const std::string req = c.slow ? "POST /twilio/sms HTTP/1.1\r\nHost: x\r\n"
                                 : "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
  c.next_byte = Clock::now() + std::chrono::seconds(1);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PORT IDLE SLOW SECONDS\n", argv[0]);
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  const int idle = std::atoi(argv[2]), slow = std::atoi(argv[3]);
  const auto end = Clock::now() + std::chrono::seconds(std::atoi(argv[4]));
  std::signal(SIGINT, [](int) { stop = 1; });
  std::signal(SIGTERM, [](int) { stop = 1; });
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  std::vector<Conn> conns(static_cast<size_t>(idle + slow));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].index = static_cast<int>(i);
    conns[i].slow = static_cast<int>(i) >= idle;
    begin(conns[i], port);
  }
  long reopened = 0, refused = 0;
  size_t min_open = conns.size();
  bool warm = false;  // min_open counts once every idle connection was answered once
  std::vector<pollfd> fds(conns.size());
  char buf[4096];
  while (stop == 0 && Clock::now() < end) {
    size_t open_now = 0;
    for (size_t i = 0; i < conns.size(); ++i) {
      fds[i] = pollfd{conns[i].fd, POLLIN, 0};
      if (conns[i].fd >= 0) ++open_now;
    }
    if (warm) min_open = std::min(min_open, open_now);
    ::poll(fds.data(), fds.size(), 200);
    const auto now = Clock::now();
    bool all_answered = true;
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      if (c.fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {  // closed by the server: open it again
          ::close(c.fd);
          c.fd = -1;
        } else if (!c.slow) {
          c.answered = true;
        }
      }
      if (c.fd < 0) {
        if (begin(c, port)) {
          ++reopened;
        } else {
          ++refused;
        }
      } else if (c.slow && now >= c.next_byte) {
        ::send(c.fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        c.next_byte = now + std::chrono::seconds(1);
      }
      if (!c.slow && !c.answered) all_answered = false;
    }
    if (!warm && all_answered) {
      warm = true;
      std::printf("READY\n");
      std::fflush(stdout);
    }
  }
  std::printf("HOLD idle=%d slow=%d reopened=%ld min_open=%zu refused=%ld\n", idle, slow, reopened,
              warm ? min_open : 0, refused);
  return 0;
}
