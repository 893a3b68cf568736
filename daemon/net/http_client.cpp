#include "net/http_client.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/URI.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <istream>
#include <ostream>

#include "net/client.hpp"

namespace tollgate::net {
namespace {

using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 token characters, for header names.
bool isToken(std::string_view s) {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

// A header value may not start a new header or a body: no CR, LF or NUL.
bool isFieldValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

void check(const HttpRequest& r, const Poco::URI& uri) {
  constexpr std::array<std::string_view, 6> kMethods = {"GET", "HEAD",  "POST",
                                                        "PUT", "PATCH", "DELETE"};
  if (std::find(kMethods.begin(), kMethods.end(), r.method) == kMethods.end()) {
    throw HttpError(
        HttpFailure::kInvalid,
        fmt::format("method '{}': use GET, HEAD, POST, PUT, PATCH or DELETE", r.method));
  }
  if ((uri.getScheme() != "http" && uri.getScheme() != "https") || uri.getHost().empty()) {
    throw HttpError(HttpFailure::kInvalid,
                    fmt::format("url '{}': want an absolute http:// or https:// URL", r.url));
  }
  for (const auto& [name, value] : r.headers) {
    if (!isToken(name) || !isFieldValue(value)) {
      throw HttpError(HttpFailure::kInvalid,
                      fmt::format("header '{}': not a valid name, or a value with CR, LF or NUL",
                                  name.substr(0, 64)));
    }
    for (const char* own : {"Host", "Content-Length", "Transfer-Encoding", "Connection"}) {
      if (iequals(name, own)) {
        throw HttpError(HttpFailure::kInvalid,
                        fmt::format("header '{}': set by the host, not by the caller", name));
      }
    }
  }
}

std::string originOf(const Poco::URI& uri) {
  return fmt::format("{}://{}:{}", uri.getScheme(), uri.getHost(), uri.getPort());
}

Poco::Timespan remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  return Poco::Timespan(std::max<int64_t>(left.count(), 0));
}

bool passed(Clock::time_point deadline) { return Clock::now() >= deadline; }

// The server closed a kept-alive connection before it read our request: nothing came back at all.
bool closedBeforeAnswering(const Poco::Exception& e) {
  return dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr ||
         dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) != nullptr;
}

}  // namespace

struct HttpClient::Idle {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  Clock::time_point since;
};

HttpClient::HttpClient() : HttpClient(Options{}) {}
HttpClient::HttpClient(Options options) : options_(options) {}
HttpClient::~HttpClient() = default;

bool HttpClient::replayable(const HttpRequest& r) {
  if (r.method == "GET" || r.method == "HEAD" || r.method == "PUT" || r.method == "DELETE") {
    return true;
  }
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [](const auto& h) { return iequals(h.first, "Idempotency-Key"); });
}

size_t HttpClient::idleConnections() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [origin, list] : idle_) n += list.size();
  return n;
}

std::unique_ptr<Poco::Net::HTTPClientSession> HttpClient::take(const std::string& origin,
                                                               bool* reused) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(origin);
  while (it != idle_.end() && !it->second.empty()) {
    Idle idle = std::move(it->second.back());
    it->second.pop_back();
    if (Clock::now() - idle.since < options_.max_idle && idle.session->connected()) {
      *reused = true;
      return std::move(idle.session);
    }
  }
  *reused = false;
  return nullptr;
}

void HttpClient::giveBack(const std::string& origin,
                          std::unique_ptr<Poco::Net::HTTPClientSession> s) {
  std::lock_guard lock(mu_);
  auto& list = idle_[origin];
  if (list.size() >= options_.max_idle_per_origin) return;  // closed as it goes
  list.push_back(Idle{.session = std::move(s), .since = Clock::now()});
}

HttpResponse HttpClient::send(const HttpRequest& request) {
  Poco::URI uri;
  try {
    uri = Poco::URI(request.url);
  } catch (const Poco::Exception& e) {
    throw HttpError(HttpFailure::kInvalid, fmt::format("url '{}': {}", request.url, e.message()));
  }
  check(request, uri);
  const std::string origin = originOf(uri);
  std::string target = uri.getPathAndQuery();
  if (target.empty()) target = "/";

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto session = attempt == 0 ? take(origin, &reused) : nullptr;
    if (!session) {
      session = makeSession(uri);
      session->setKeepAlive(true);
      session->setKeepAliveTimeout(Poco::Timespan(options_.max_idle.count() * 1000));
    }
    if (passed(request.deadline)) {
      throw HttpError(HttpFailure::kNotSent, fmt::format("{}: no time left to send", origin));
    }
    const Poco::Timespan left = remaining(request.deadline);
    session->setTimeout(left, left, left);

    Poco::Net::HTTPRequest req(request.method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : request.headers) req.add(name, value);
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      req.setContentLength64(static_cast<Poco::Int64>(request.body.size()));
    }
    try {
      std::ostream& out = session->sendRequest(req);
      out.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
      out.flush();
      if (!out) throw Poco::Net::NetException("the connection closed while sending");
    } catch (const Poco::Exception& e) {
      if (reused && attempt == 0) continue;  // a stale kept-alive connection: nothing was sent
      throw HttpError(HttpFailure::kNotSent, fmt::format("{}: {}", origin, describeError(e)));
    }

    HttpResponse out;
    try {
      if (passed(request.deadline)) throw Poco::TimeoutException("deadline passed");
      session->setTimeout(remaining(request.deadline));
      Poco::Net::HTTPResponse resp;
      std::istream& in = session->receiveResponse(resp);
      out.status = static_cast<int>(resp.getStatus());
      for (const auto& [name, value] : resp) out.headers.emplace_back(name, value);
      std::array<char, 16384> buf{};
      while (in) {
        if (passed(request.deadline)) throw Poco::TimeoutException("deadline passed");
        session->socket().setReceiveTimeout(remaining(request.deadline));
        in.read(buf.data(), buf.size());
        const auto n = static_cast<size_t>(in.gcount());
        if (out.body.size() + n > options_.max_response_bytes) {
          throw HttpError(
              HttpFailure::kOutcomeUnknown,
              fmt::format("{}: response body over {} bytes", origin, options_.max_response_bytes));
        }
        out.body.append(buf.data(), n);
      }
      if (in.bad()) {  // the stream kept what the socket threw
        if (const Poco::Exception* e = session->networkException()) e->rethrow();
        throw Poco::Net::NetException("the response body was cut short");
      }
      if (resp.getKeepAlive()) giveBack(origin, std::move(session));
      return out;
    } catch (const Poco::Exception& e) {
      if (reused && attempt == 0 && out.status == 0 && closedBeforeAnswering(e) &&
          replayable(request)) {
        continue;  // the server had closed it; send again on a new connection
      }
      throw HttpError(HttpFailure::kOutcomeUnknown,
                      fmt::format("{}: sent, no whole response: {}", origin, describeError(e)));
    }
  }
}

}  // namespace tollgate::net
