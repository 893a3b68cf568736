// An event-driven HTTP front on Boost.Beast (issue 22): a few event-loop threads hold every
// connection, idle, slow or kept alive, and read each request whole under deadlines; only a
// complete request takes a worker thread, to run the router. Slow clients cost a socket and a
// buffer, never a thread: a thousand connections dribbling header bytes leave the workers to
// the clients that send whole requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/router.hpp"

namespace tollgate::http {

struct FrontOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                                // 0: any free port
  size_t io_threads = 1;                            // event-loop threads
  size_t workers = 16;                              // threads that run the router
  std::chrono::milliseconds header_timeout{10000};  // from the first wait to the end of the headers
  std::chrono::milliseconds body_timeout{30000};    // to the end of the body
  std::chrono::milliseconds keepalive_timeout{
      5000};                            // a kept-alive connection's wait for a request
  size_t keepalive_requests = 100;      // requests on one connection before it closes
  size_t max_connections = 10000;       // beyond: new connections are closed at once
  size_t max_connections_per_ip = 256;  // from one client address
};

class Front {
 public:
  // Binds and listens at once (throws std::runtime_error naming the address on failure).
  Front(Router& router, const FrontOptions& options);
  ~Front();
  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;

  void start();
  // Stops accepting, lets the requests in flight finish (at most `grace`), closes the rest.
  void stop(std::chrono::milliseconds grace);

  std::string address() const;  // host:port actually bound
  size_t connections() const;
  uint64_t refusedConnections() const;  // over max_connections or the per-address limit

  struct Impl;  // front.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::http
