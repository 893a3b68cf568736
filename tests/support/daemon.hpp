// Test support: runs the real tollgated (or any command) as a child process and talks HTTP to it.
#pragma once

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tollgate::testing {
namespace fs = std::filesystem;

struct HttpReply {
  int status = 0;
  std::string body;
};

inline HttpReply http(uint16_t port, const std::string& method, const std::string& path,
                      const std::string& body = {},
                      const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession s("127.0.0.1", port);
  s.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!body.empty()) req.setContentType("application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.setContentLength(static_cast<std::streamsize>(body.size()));
  s.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = s.receiveResponse(resp);
  HttpReply r;
  r.status = resp.getStatus();
  Poco::StreamCopier::copyToString(in, r.body);
  return r;
}

inline uint16_t freePort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  return s.address().port();
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline fs::path makeTempDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// The first sanitizer report in a child's stderr, or "" if none. Sanitized builds stop a
// process at its first report (-fno-sanitize-recover); LeakSanitizer reports when it exits.
inline std::string sanitizerReport(const std::string& err) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                             "WARNING: ThreadSanitizer", ": runtime error: "}) {
    const auto at = err.find(marker);
    if (at == std::string::npos) continue;
    const auto line = err.rfind('\n', at);
    return err.substr(line == std::string::npos ? 0 : line + 1, 6000);
  }
  return "";
}

// A child process with stdout and stderr captured to files. Whatever way it ends, a sanitizer
// report in its stderr fails the test that ran it.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const fs::path& dir)
      : out_(dir / "stdout"), err_(dir / "stderr") {
    pid_ = fork();
    if (pid_ == 0) {
      // If the test process dies (a crash, a timeout kill), take the child with it.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (pid_ > 0) {
      const std::string report = sanitizerReport(err());
      if (!report.empty()) ADD_FAILURE() << "sanitizer report from a child process:\n" << report;
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Waits for exit; returns the exit code (or 128+signal), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  bool running() {
    int st = 0;
    if (exited_) return false;
    if (waitpid(pid_, &st, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // Stops it as systemd does (SIGTERM) and checks that it exits 0 in time: a clean shutdown,
  // and in sanitized builds no leak at exit. A running child that does not stop is killed.
  void stopCleanly(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (!running()) return;
    signal(SIGTERM);
    const int code = wait(timeout);
    if (code == -1) {
      ADD_FAILURE() << "did not exit within " << timeout.count() << " ms of SIGTERM:\n" << err();
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      exited_ = true;
    } else if (code != 0) {
      ADD_FAILURE() << "exited " << code << " after SIGTERM:\n" << err();
    }
  }
  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// Runs a command to completion.
struct Ran {
  int code;
  std::string out, err;
};
inline Ran run(const std::vector<std::string>& argv, const fs::path& dir) {
  fs::create_directories(dir);
  Child c(argv, dir);
  const int code = c.wait();
  return Ran{code, c.out(), c.err()};
}

}  // namespace tollgate::testing
