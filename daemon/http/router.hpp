// URL routing for tollgated's HTTP server, and the JSON error shape every endpoint shares:
//   {"error": {"code": "invalid_argument", "message": "...", "field": "name"}}
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::http {

// An error a handler throws to answer with a 4xx/5xx JSON body.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message, std::string field = {})
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string code_;
  std::string field_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(int status, const Poco::JSON::Object& body);
  static Response error(int status, const std::string& code, const std::string& message,
                        const std::string& field = {});
  static Response noContent() { return Response{204, {}, {}, {}}; }
};

// A whole request as the HTTP front read it: what the router and the handlers see, whatever
// server reads the wire. The front checks the framing and reads the body (at most
// Request::kMaxBody bytes; 413 beyond) before the router sees the request.
using Headers = std::vector<std::pair<std::string, std::string>>;
struct Incoming {
  std::string method;
  std::string target;  // the request-target as sent: path and query
  std::string peer;    // the client's IP address
  Headers headers;     // as received, in order
  std::string body;
};

// Why the end of a request's body is ambiguous (RFC 9112 section 6.3), if it is: several
// Content-Length headers, a Transfer-Encoding other than one "chunked", or both. A proxy in
// front may read such a request differently, and the bytes it counts as body we would parse
// as a request (smuggling): a front answers 400 and closes the connection.
std::optional<std::string> ambiguousFraming(const Headers& headers);
// A client's X-Request-Id starts every log line of its request, so only a short token of safe
// characters is taken; anything else gets a generated id.
std::string requestIdFor(std::string_view given);

class Request {
 public:
  Request(const Incoming& in, std::map<std::string, std::string> params, std::string request_id);

  const std::string& method() const { return in_.method; }
  const std::string& target() const { return in_.target; }
  const std::string& peer() const { return in_.peer; }
  const std::string& param(const std::string& name) const { return params_.at(name); }
  const std::string& requestId() const { return request_id_; }
  // The first header of that name (case-insensitive), "" when there is none.
  std::string header(std::string_view name) const;
  std::string query(const std::string& name, const std::string& def = {}) const;

  const std::string& body() const { return in_.body; }
  // The body as a JSON object; 400 naming the problem if it is not one.
  Poco::JSON::Object::Ptr jsonBody() const;

  static constexpr size_t kMaxBody = 1 << 20;

 private:
  const Incoming& in_;
  std::map<std::string, std::string> params_;
  std::string request_id_;
  std::map<std::string, std::string> query_;
};

using Handler = std::function<Response(Request&)>;

class Router {
 public:
  // `pattern` is a path whose segments may be "{name}" captures, e.g. /admin/v1/tenants/{id}.
  void add(const std::string& method, const std::string& pattern, Handler handler);

  // Finds the route and runs it, mapping exceptions to JSON errors.
  Response dispatch(const Incoming& request, const std::string& request_id);

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Poco's HTTPServer as the front (server.front = poco): a handler factory, owned by the server,
// that reads each request whole, checks its framing and hands it to `router`.
Poco::Net::HTTPRequestHandlerFactory* newPocoFront(Router& router);

// Small helpers for handlers.
// `text` as a JSON object; throws ApiError 400 naming the problem if it is not one.
Poco::JSON::Object::Ptr parseJsonObject(const std::string& text);
std::string requireString(const Poco::JSON::Object& o, const std::string& field, size_t max_len);
std::string optionalString(const Poco::JSON::Object& o, const std::string& field, size_t max_len);

}  // namespace tollgate::http
