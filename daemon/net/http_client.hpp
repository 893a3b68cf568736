// Outbound HTTP(S) requests with kept-alive connections, a deadline for the whole exchange and
// failures sorted by what they mean for a retry. Plugins reach it through tg_host_api's
// http_request; the Twilio REST and Stripe clients of the core use it directly. Connections come
// from net::makeSession, so TLS is always the verifying context (net/client.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace Poco::Net {
class HTTPClientSession;
}

namespace tollgate::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https://, query included
  Headers headers;  // not Host, Content-Length, Transfer-Encoding or Connection
  std::string body;
  std::chrono::steady_clock::time_point deadline;  // of the whole exchange
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// Why a request got no response, sorted by what a caller may do next.
enum class HttpFailure {
  kInvalid,         // bad method, URL or header: nothing was sent
  kNotSent,         // no whole request reached the server (name, connect, TLS, time): retry
  kOutcomeUnknown,  // sent, but no whole response came back: it may have taken effect
};

class HttpError : public std::runtime_error {
 public:
  HttpError(HttpFailure failure, const std::string& message)
      : std::runtime_error(message), failure_(failure) {}
  HttpFailure failure() const noexcept { return failure_; }

 private:
  HttpFailure failure_;
};

class HttpClient {
 public:
  struct Options {
    size_t max_idle_per_origin = 8;         // kept-alive connections kept per scheme://host:port
    size_t max_response_bytes = 16u << 20;  // a longer body is an error
    std::chrono::milliseconds max_idle{30000};  // an idle connection older than this is closed
  };
  HttpClient();
  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads the whole response; throws HttpError. Thread-safe.
  HttpResponse send(const HttpRequest& request);

  // What the request may be sent twice for: GET, HEAD, PUT, DELETE, or an Idempotency-Key.
  static bool replayable(const HttpRequest& request);

  // Connections kept idle now (for tests).
  size_t idleConnections();

 private:
  struct Idle;
  std::unique_ptr<Poco::Net::HTTPClientSession> take(const std::string& origin, bool* reused);
  void giveBack(const std::string& origin, std::unique_ptr<Poco::Net::HTTPClientSession> s);

  Options options_;
  std::mutex mu_;
  std::map<std::string, std::vector<Idle>> idle_;  // by origin
};

}  // namespace tollgate::net
