#include "twilio/rest_client.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <sstream>
#include <thread>

#include "twilio/form.hpp"

namespace tollgate::twilio {
namespace {

using Clock = std::chrono::steady_clock;
using Poco::JSON::Object;

constexpr int kTooManyRequests = 429;
constexpr int kRateLimitCode = 20429;

std::string basicAuth(const Credentials& c) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << c.account_sid << ':' << c.auth_token;
  encoder.close();
  return "Basic " + out.str();
}

// An account SID goes into the URL's path: AC and 32 hex digits, nothing else.
void checkSid(std::string_view what, std::string_view sid, std::string_view prefix) {
  const bool ok = sid.size() == 34 && sid.substr(0, 2) == prefix &&
                  std::all_of(sid.begin() + 2, sid.end(),
                              [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!ok) {
    throw RestError(RestError::Kind::kNotSent, ApiError{},
                    fmt::format("twilio: {} '{}' is not {} and 32 hex digits", what, sid, prefix));
  }
}

std::string header(const net::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

// Retry-After in seconds (Twilio sends delta-seconds), or nullopt.
std::optional<std::chrono::milliseconds> retryAfter(const net::Headers& headers) {
  const std::string v = header(headers, "Retry-After");
  if (v.empty() || v.size() > 6 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stoi(v));
}

std::string text(const Object& o, const std::string& name) {
  if (!o.has(name) || o.isNull(name)) return "";
  return o.get(name).convert<std::string>();
}

int integer(const Object& o, const std::string& name) {
  const std::string v = text(o, name);  // Twilio writes counts as strings ("1")
  if (v.empty() || v.size() > 9 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  return std::stoi(v);
}

MessageResource messageOf(const Object::Ptr& o) {
  MessageResource m{.sid = text(*o, "sid"),
                    .account_sid = text(*o, "account_sid"),
                    .status = text(*o, "status"),
                    .to = text(*o, "to"),
                    .from = text(*o, "from"),
                    .body = text(*o, "body"),
                    .num_segments = integer(*o, "num_segments"),
                    .num_media = integer(*o, "num_media"),
                    .error_code = std::nullopt,
                    .error_message = text(*o, "error_message"),
                    .price = text(*o, "price"),
                    .price_unit = text(*o, "price_unit"),
                    .date_created = text(*o, "date_created")};
  if (o->has("error_code") && !o->isNull("error_code")) {
    m.error_code = o->get("error_code").convert<int>();
  }
  if (m.sid.empty()) {
    throw RestError(RestError::Kind::kOutcomeUnknown, ApiError{},
                    "twilio: a Message without a sid");
  }
  return m;
}

// A JSON object from a body Twilio answered with 2xx; `what` names it in the error.
Object::Ptr parsedObject(std::string_view body, std::string_view what) {
  try {
    auto o = Poco::JSON::Parser().parse(std::string(body)).extract<Object::Ptr>();
    if (o) return o;
  } catch (const std::exception& e) {
    throw RestError(RestError::Kind::kOutcomeUnknown, ApiError{},
                    fmt::format("twilio: a {} that is not JSON: {}", what, e.what()));
  }
  throw RestError(RestError::Kind::kOutcomeUnknown, ApiError{},
                  fmt::format("twilio: a {} that is not a JSON object", what));
}

}  // namespace

RestClient::RestClient(net::HttpClient& http, Options options)
    : http_(http),
      options_(std::move(options)),
      sleep_([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }) {
  while (!options_.api_base_url.empty() && options_.api_base_url.back() == '/') {
    options_.api_base_url.pop_back();
  }
}

ApiError RestClient::parseError(int http_status, std::string_view body) {
  ApiError e{.http_status = http_status, .code = 0, .message = {}, .more_info = {}};
  try {
    const auto o = Poco::JSON::Parser().parse(std::string(body)).extract<Object::Ptr>();
    e.code = o->has("code") && !o->isNull("code") ? o->getValue<int>("code") : 0;
    e.message = text(*o, "message");
    e.more_info = text(*o, "more_info");
  } catch (const Poco::Exception&) {
    e.message = fmt::format("HTTP {} with a body that is not Twilio's error JSON", http_status);
  } catch (const std::exception&) {
    e.message = fmt::format("HTTP {} with a body that is not Twilio's error JSON", http_status);
  }
  return e;
}

MessageResource RestClient::parseMessage(std::string_view body) {
  return messageOf(parsedObject(body, "Message"));
}

CallResource RestClient::parseCall(std::string_view body) {
  const Object::Ptr o = parsedObject(body, "Call");
  CallResource c{.sid = text(*o, "sid"),
                 .account_sid = text(*o, "account_sid"),
                 .status = text(*o, "status"),
                 .direction = text(*o, "direction"),
                 .to = text(*o, "to"),
                 .from = text(*o, "from"),
                 .duration_s = integer(*o, "duration"),
                 .price = text(*o, "price"),
                 .price_unit = text(*o, "price_unit")};
  if (c.sid.empty()) {
    throw RestError(RestError::Kind::kOutcomeUnknown, ApiError{}, "twilio: a Call without a sid");
  }
  return c;
}

net::HttpResponse RestClient::call(const Credentials& account, const std::string& method,
                                   const std::string& path, const std::string& form_body) {
  checkSid("account_sid", account.account_sid, "AC");
  const auto deadline = Clock::now() + options_.timeout;
  net::HttpRequest req{.method = method,
                       .url = options_.api_base_url + path,
                       .headers = {{"Authorization", basicAuth(account)},
                                   {"Accept", "application/json"},
                                   {"User-Agent", "tollgate"}},
                       .body = form_body,
                       .deadline = deadline};
  if (method == "POST") {
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  }
  const bool read_only = method == "GET";
  thread_local std::minstd_rand jitter(std::random_device{}());
  auto backoff = options_.first_backoff;
  for (int attempt = 1;; ++attempt) {
    std::optional<std::chrono::milliseconds> wait;
    std::string why;
    try {
      net::HttpResponse r = http_.send(req);
      if (r.status < 400) return r;
      const ApiError e = parseError(r.status, r.body);
      if (r.status >= 500 && !read_only) {
        // A server error after the request arrived: whether it was acted on is not known.
        throw RestError(RestError::Kind::kOutcomeUnknown, e,
                        fmt::format("twilio: {} {}: HTTP {} code {}: {}", method, path, r.status,
                                    e.code, e.message));
      }
      // 429 (20429) is Twilio saying it did nothing: safe to retry, after its Retry-After.
      if (r.status != kTooManyRequests && !(read_only && r.status >= 500)) {
        throw RestError(RestError::Kind::kRejected, e,
                        fmt::format("twilio: {} {}: HTTP {} code {}: {}", method, path, r.status,
                                    e.code, e.message));
      }
      if (r.status == kTooManyRequests && e.code != 0 && e.code != kRateLimitCode) {
        throw RestError(
            RestError::Kind::kRejected, e,
            fmt::format("twilio: {} {}: HTTP 429 code {}: {}", method, path, e.code, e.message));
      }
      wait = retryAfter(r.headers);
      why = fmt::format("HTTP {} code {}", r.status, e.code);
      if (attempt >= options_.max_attempts) {
        throw RestError(
            RestError::Kind::kRejected, e,
            fmt::format("twilio: {} {}: {} after {} attempts", method, path, why, attempt));
      }
    } catch (const net::HttpError& e) {
      const bool unknown = e.failure() == net::HttpFailure::kOutcomeUnknown;
      const RestError::Kind kind =
          unknown ? RestError::Kind::kOutcomeUnknown : RestError::Kind::kNotSent;
      const bool retry = e.failure() == net::HttpFailure::kNotSent || (unknown && read_only);
      if (!retry || attempt >= options_.max_attempts) {
        throw RestError(kind, ApiError{}, fmt::format("twilio: {} {}: {}", method, path, e.what()));
      }
      why = e.what();
    }
    // Jittered exponential backoff; Retry-After when Twilio gives one, capped.
    std::chrono::milliseconds delay = wait.value_or(std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(jitter)));
    delay = std::min(delay, options_.max_backoff);
    if (Clock::now() + delay >= deadline) {
      throw RestError(RestError::Kind::kNotSent, ApiError{},
                      fmt::format("twilio: {} {}: {}; no time left to retry", method, path, why));
    }
    sleep_(delay);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

MessageResource RestClient::sendMessage(const Credentials& account, const SendRequest& request) {
  Params form{{"To", request.to}};
  if (!request.from.empty()) form.emplace_back("From", request.from);
  if (!request.messaging_service_sid.empty()) {
    form.emplace_back("MessagingServiceSid", request.messaging_service_sid);
  }
  if (!request.body.empty()) form.emplace_back("Body", request.body);
  for (const std::string& url : request.media_urls) form.emplace_back("MediaUrl", url);
  if (!request.status_callback.empty())
    form.emplace_back("StatusCallback", request.status_callback);
  const net::HttpResponse r =
      call(account, "POST", "/2010-04-01/Accounts/" + account.account_sid + "/Messages.json",
           formEncode(form));
  return parseMessage(r.body);
}

MessageResource RestClient::fetchMessage(const Credentials& account, std::string_view message_sid) {
  checkSid("message_sid", message_sid, message_sid.substr(0, 2) == "MM" ? "MM" : "SM");
  const net::HttpResponse r = call(account, "GET",
                                   "/2010-04-01/Accounts/" + account.account_sid + "/Messages/" +
                                       std::string(message_sid) + ".json",
                                   "");
  return parseMessage(r.body);
}

CallResource RestClient::fetchCall(const Credentials& account, std::string_view call_sid) {
  checkSid("call_sid", call_sid, "CA");
  const net::HttpResponse r = call(
      account, "GET",
      "/2010-04-01/Accounts/" + account.account_sid + "/Calls/" + std::string(call_sid) + ".json",
      "");
  return parseCall(r.body);
}

std::vector<MessageResource> RestClient::listMessages(const Credentials& account,
                                                      std::string_view to, std::string_view from,
                                                      int page_size) {
  if (page_size < 1 || page_size > 1000) {
    throw std::invalid_argument("twilio: page_size must be 1..1000");
  }
  const Params query{{"To", std::string(to)},
                     {"From", std::string(from)},
                     {"PageSize", std::to_string(page_size)}};
  const net::HttpResponse r = call(
      account, "GET",
      "/2010-04-01/Accounts/" + account.account_sid + "/Messages.json?" + formEncode(query), "");
  Poco::JSON::Array::Ptr list;
  try {
    const auto o = Poco::JSON::Parser().parse(r.body).extract<Object::Ptr>();
    list = o->getArray("messages");
  } catch (const std::exception& e) {
    throw RestError(RestError::Kind::kOutcomeUnknown, ApiError{},
                    fmt::format("twilio: a message list that is not JSON: {}", e.what()));
  }
  if (!list) {
    throw RestError(RestError::Kind::kOutcomeUnknown, ApiError{},
                    "twilio: a message list without `messages`");
  }
  std::vector<MessageResource> out;
  out.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) out.push_back(messageOf(list->getObject(i)));
  return out;
}

}  // namespace tollgate::twilio
