#include "http/router.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <optional>
#include <sstream>

#include "storage/store.hpp"

namespace tollgate::http {
namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t j = path.find('/', i);
    out.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j;
  }
  return out;
}

int statusFor(tg_status s) {
  switch (s) {
    case TG_ERR_INVALID_ARGUMENT:
      return 400;
    case TG_ERR_NOT_FOUND:
      return 404;
    case TG_ERR_CONFLICT:
      return 409;
    case TG_ERR_UNAVAILABLE:
    case TG_ERR_DEADLINE:
      return 503;
    case TG_ERR_OUTCOME_UNKNOWN:
      return 502;
    default:
      return 500;
  }
}

// A request without Content-Length or chunked encoding has no body (RFC 9112 section 6.3),
// whatever its method. Poco would read such a POST until the client closes the connection.
bool hasBody(const Poco::Net::HTTPServerRequest& req) {
  return req.getChunkedTransferEncoding() || req.hasContentLength();
}

const char* codeFor(tg_status s) {
  switch (s) {
    case TG_ERR_INVALID_ARGUMENT:
      return "invalid_argument";
    case TG_ERR_NOT_FOUND:
      return "not_found";
    case TG_ERR_CONFLICT:
      return "conflict";
    case TG_ERR_UNAVAILABLE:
    case TG_ERR_DEADLINE:
      return "unavailable";
    case TG_ERR_OUTCOME_UNKNOWN:
      return "outcome_unknown";
    default:
      return "internal";
  }
}

// Reads the whole body into `out`. False when it is longer than Request::kMaxBody: the rest is
// left unread, so the connection must close (those bytes would be parsed as the next request).
bool readBody(Poco::Net::HTTPServerRequest& req, std::string& out) {
  if (!hasBody(req)) return true;
  if (req.hasContentLength() &&
      req.getContentLength64() > static_cast<Poco::Int64>(Request::kMaxBody)) {
    return false;
  }
  std::istream& in = req.stream();
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > Request::kMaxBody) return false;
  }
  return true;
}

void send(Poco::Net::HTTPServerResponse& resp, const Response& r, const std::string& request_id) {
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
  resp.set("X-Request-Id", request_id);
  for (const auto& [k, v] : r.headers) resp.set(k, v);
  if (r.status == 204) {
    resp.setContentLength(0);
    resp.send();
    return;
  }
  resp.setContentType(r.content_type);
  resp.setContentLength(static_cast<std::streamsize>(r.body.size()));
  resp.send().write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
}

class Dispatch : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Dispatch(Router& router) : router_(router) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    const std::string request_id = requestIdFor(req.get("X-Request-Id", ""));
    Incoming in{.method = req.getMethod(),
                .target = req.getURI(),
                .peer = req.clientAddress().host().toString(),
                .headers = {},
                .body = {}};
    for (const auto& [name, value] : req) in.headers.emplace_back(name, value);
    if (auto why = ambiguousFraming(in.headers)) {
      // Where this request ends is unclear, so nothing after it on this connection is trusted.
      resp.setKeepAlive(false);
      send(resp, Response::error(400, "bad_request", *why), request_id);
      return;
    }
    bool whole = false;
    try {
      whole = readBody(req, in.body);
    } catch (const std::exception&) {  // cut off, or too slow for the server's timeout
      resp.setKeepAlive(false);
      send(resp, Response::error(400, "bad_request", "the request body could not be read"),
           request_id);
      return;
    }
    if (!whole) {
      resp.setKeepAlive(false);
      send(resp,
           Response::error(413, "payload_too_large",
                           fmt::format("body exceeds {} bytes", Request::kMaxBody)),
           request_id);
      return;
    }
    const Response r = router_.dispatch(in, request_id);
    send(resp, r, request_id);
  }

 private:
  Router& router_;
};

}  // namespace

std::optional<std::string> ambiguousFraming(const Headers& headers) {
  const auto is = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  size_t lengths = 0;
  bool encoded = false;
  for (const auto& [name, value] : headers) {
    if (is(name, "Content-Length")) {
      ++lengths;
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        return "Content-Length must be a decimal number of bytes";
      }
    } else if (is(name, "Transfer-Encoding")) {
      if (encoded || !is(value, "chunked")) {
        return "the only Transfer-Encoding accepted is one 'chunked'";
      }
      encoded = true;
    }
  }
  if (lengths > 1) return "more than one Content-Length";
  if (lengths == 1 && encoded) return "Content-Length and Transfer-Encoding together";
  return std::nullopt;
}

std::string requestIdFor(std::string_view given) {
  const bool safe =
      !given.empty() && given.size() <= 64 && std::all_of(given.begin(), given.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (safe) return std::string(given);
  static std::atomic<uint64_t> counter{0};
  return fmt::format("rq{:x}", counter.fetch_add(1, std::memory_order_relaxed));
}

Response Response::json(int status, const Poco::JSON::Object& body) {
  std::ostringstream os;
  body.stringify(os);
  return Response{status, "application/json", os.str(), {}};
}

Response Response::error(int status, const std::string& code, const std::string& message,
                         const std::string& field) {
  Poco::JSON::Object err;
  err.set("code", code);
  err.set("message", message);
  if (!field.empty()) err.set("field", field);
  Poco::JSON::Object body;
  body.set("error", err);
  return json(status, body);
}

Request::Request(const Incoming& in, std::map<std::string, std::string> params,
                 std::string request_id)
    : in_(in), params_(std::move(params)), request_id_(std::move(request_id)) {
  try {
    for (const auto& [k, v] : Poco::URI(in.target).getQueryParameters()) query_.emplace(k, v);
  } catch (const Poco::Exception&) {
    throw ApiError(400, "invalid_argument", "malformed query string");
  }
}

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : in_.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

std::string Request::query(const std::string& name, const std::string& def) const {
  auto it = query_.find(name);
  return it == query_.end() ? def : it->second;
}

Poco::JSON::Object::Ptr Request::jsonBody() const { return parseJsonObject(body()); }

Poco::JSON::Object::Ptr parseJsonObject(const std::string& text) {
  if (text.empty()) throw ApiError(400, "invalid_argument", "request body must be a JSON object");
  try {
    Poco::JSON::Parser parser;
    auto v = parser.parse(text);
    auto obj = v.extract<Poco::JSON::Object::Ptr>();
    if (obj.isNull()) throw ApiError(400, "invalid_argument", "request body must be a JSON object");
    return obj;
  } catch (const ApiError&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw ApiError(400, "invalid_json",
                   fmt::format("request body is not valid JSON: {}", e.message()));
  } catch (const std::exception&) {
    throw ApiError(400, "invalid_argument", "request body must be a JSON object");
  }
}

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{method, splitPath(pattern), std::move(handler)});
}

Poco::Net::HTTPRequestHandlerFactory* newPocoFront(Router& router) {
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(Router& r) : router_(r) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Dispatch(router_);
    }

   private:
    Router& router_;
  };
  return new Factory(router);
}

Response Router::dispatch(const Incoming& req, const std::string& request_id) {
  std::string path;
  try {
    path = Poco::URI(req.target).getPath();
  } catch (const Poco::Exception&) {
    return Response::error(400, "invalid_argument", "malformed request URI");
  }
  const auto segments = splitPath(path);
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& p = route.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = segments[i];
      } else {
        match = p == segments[i];
      }
    }
    if (!match) continue;
    if (route.method != req.method) {
      allowed.push_back(route.method);
      continue;
    }
    try {
      Request r(req, std::move(params), request_id);
      return route.handler(r);
    } catch (const ApiError& e) {
      return Response::error(e.status(), e.code(), e.what(), e.field());
    } catch (const storage::StorageError& e) {
      const int status = statusFor(e.status());
      if (status >= 500) spdlog::error("{} {} {}: {}", request_id, req.method, path, e.what());
      return Response::error(status, codeFor(e.status()),
                             status >= 500 ? "storage unavailable, retry later" : e.what());
    } catch (const std::exception& e) {
      spdlog::error("{} {} {}: {}", request_id, req.method, path, e.what());
      return Response::error(500, "internal",
                             "internal error; see the daemon log for " + request_id);
    }
  }
  if (!allowed.empty()) {
    Response r = Response::error(405, "method_not_allowed",
                                 fmt::format("{} is not allowed on {}", req.method, path));
    r.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
    return r;
  }
  return Response::error(404, "not_found", fmt::format("no endpoint {}", path));
}

std::string requireString(const Poco::JSON::Object& o, const std::string& field, size_t max_len) {
  if (!o.has(field) || o.isNull(field)) {
    throw ApiError(400, "invalid_argument", fmt::format("'{}' is required", field), field);
  }
  return optionalString(o, field, max_len);
}

std::string optionalString(const Poco::JSON::Object& o, const std::string& field, size_t max_len) {
  if (!o.has(field) || o.isNull(field)) return {};
  const Poco::Dynamic::Var v = o.get(field);
  if (!v.isString()) {
    throw ApiError(400, "invalid_argument", fmt::format("'{}' must be a string", field), field);
  }
  std::string s = v.convert<std::string>();
  if (s.size() > max_len) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'{}' is longer than {} bytes", field, max_len), field);
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      throw ApiError(400, "invalid_argument",
                     fmt::format("'{}' must not contain control characters", field), field);
    }
  }
  return s;
}

}  // namespace tollgate::http
