// URL routing for tollgated's HTTP server, and the JSON error shape every endpoint shares:
//   {"error": {"code": "invalid_argument", "message": "...", "field": "name"}}
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
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

class Request {
 public:
  Request(Poco::Net::HTTPServerRequest& raw, std::map<std::string, std::string> params,
          std::string request_id);

  Poco::Net::HTTPServerRequest& raw() { return raw_; }
  const std::string& method() const { return raw_.getMethod(); }
  const std::string& param(const std::string& name) const { return params_.at(name); }
  const std::string& requestId() const { return request_id_; }
  std::string header(const std::string& name) const { return raw_.get(name, ""); }
  std::string query(const std::string& name, const std::string& def = {}) const;

  // The body, read once, at most kMaxBody bytes (413 beyond).
  const std::string& body();
  // The body as a JSON object; 400 naming the problem if it is not one.
  Poco::JSON::Object::Ptr jsonBody();

  static constexpr size_t kMaxBody = 1 << 20;

 private:
  Poco::Net::HTTPServerRequest& raw_;
  std::map<std::string, std::string> params_;
  std::string request_id_;
  std::map<std::string, std::string> query_;
  std::string body_;
  bool body_read_ = false;
};

using Handler = std::function<Response(Request&)>;

class Router : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  // `pattern` is a path whose segments may be "{name}" captures, e.g. /admin/v1/tenants/{id}.
  void add(const std::string& method, const std::string& pattern, Handler handler);

  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

  // Finds the route and runs it, mapping exceptions to JSON errors. Public for tests.
  Response dispatch(Poco::Net::HTTPServerRequest& request, const std::string& request_id);

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Small helpers for handlers.
// `text` as a JSON object; throws ApiError 400 naming the problem if it is not one.
Poco::JSON::Object::Ptr parseJsonObject(const std::string& text);
std::string requireString(const Poco::JSON::Object& o, const std::string& field, size_t max_len);
std::string optionalString(const Poco::JSON::Object& o, const std::string& field, size_t max_len);

}  // namespace tollgate::http
