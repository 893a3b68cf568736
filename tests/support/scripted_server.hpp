// An HTTP/1.1 server on loopback scripted by the test: it hands each request, as raw bytes, to
// the test, which says what to write back, and it counts what it accepted. For the tests of
// outbound HTTP clients (net::HttpClient, the Twilio REST client).
#pragma once

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tollgate::testing {

// An HTTP/1.1 server that hands each request, as raw bytes, to `answer`, which returns the raw
// response to write ("" writes nothing) and whether to close the connection after it.
class ScriptedServer {
 public:
  struct Reply {
    std::string bytes;
    bool close = false;
    bool hang = false;  // write nothing and keep the connection open until the server stops
  };
  using Answer = std::function<Reply(const std::string& request)>;

  explicit ScriptedServer(Answer answer)
      : answer_(std::move(answer)), socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (auto& t : connections_) t.join();
  }
  uint16_t port() const { return socket_.address().port(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  size_t accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits until `n` connections have been closed by the server.
  bool waitClosed(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return closed_ >= n; });
  }

 private:
  void run() {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      if (!socket_.poll(Poco::Timespan(0, 20000), Poco::Net::Socket::SELECT_READ)) continue;
      Poco::Net::StreamSocket conn = socket_.acceptConnection();
      std::lock_guard lock(mu_);
      ++accepted_;
      connections_.emplace_back([this, conn]() mutable { serve(conn); });
    }
  }
  // Reads one request (headers and a Content-Length body); "" when the peer closed.
  static std::string readRequest(Poco::Net::StreamSocket& conn, std::string& buffer) {
    for (;;) {
      const auto end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        const auto cl = buffer.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(buffer.substr(cl + 16));
        if (buffer.size() >= end + 4 + length) {
          std::string req = buffer.substr(0, end + 4 + length);
          buffer.erase(0, end + 4 + length);
          return req;
        }
      }
      char chunk[4096];
      const int n = conn.receiveBytes(chunk, sizeof chunk);
      if (n <= 0) return "";
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }
  void serve(Poco::Net::StreamSocket conn) {
    conn.setReceiveTimeout(Poco::Timespan(10, 0));
    std::string buffer;
    try {
      for (;;) {
        const std::string req = readRequest(conn, buffer);
        if (req.empty()) break;
        Reply reply;
        {
          std::lock_guard lock(mu_);
          requests_.push_back(req);
        }
        reply = answer_(req);
        if (reply.hang) {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return stop_; });
          break;
        }
        conn.sendBytes(reply.bytes.data(), static_cast<int>(reply.bytes.size()));
        if (reply.close) break;
      }
    } catch (const Poco::Exception&) {
    }
    conn.close();
    std::lock_guard lock(mu_);
    ++closed_;
    cv_.notify_all();
  }

  Answer answer_;
  Poco::Net::ServerSocket socket_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  size_t accepted_ = 0, closed_ = 0;
  std::vector<std::string> requests_;
  std::vector<std::thread> connections_;
};

}  // namespace tollgate::testing
