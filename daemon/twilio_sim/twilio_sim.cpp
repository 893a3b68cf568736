#include "twilio_sim/twilio_sim.hpp"

#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <istream>

#include "tenancy/secrets.hpp"
#include "twilio/form.hpp"
#include "twilio_sim/json_out.hpp"
#include "twilio_sim/validate.hpp"

namespace tollgate::twilio_sim {
namespace {

using Clock = std::chrono::system_clock;

constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr std::string_view kApiPrefix = "/2010-04-01/";

Reply twilioError(int http_status, int code, std::string_view message) {
  return Reply{.status = http_status, .body = errorJson(code, message, http_status)};
}

Reply notFound(std::string_view path) {
  return twilioError(404, 20404, fmt::format("The requested resource {} was not found", path));
}

Reply simError(int http_status, std::string_view message) {
  return Reply{.status = http_status, .body = JsonObject().string("error", message).str()};
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= path.size()) {
    const size_t slash = std::min(path.find('/', begin), path.size());
    if (slash > begin) parts.emplace_back(path.substr(begin, slash - begin));
    begin = slash + 1;
  }
  return parts;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Rank in a message's life: a late `sent` step (--out-of-order) never undoes a final status.
int rank(Status s) {
  if (s == Status::kQueued) return 0;
  return s == Status::kSent ? 1 : 2;
}

// What tells two sends of the same message apart from two messages: see Stored::post_key.
std::string postKey(std::string_view account, const Message& m, std::string_view sim_request) {
  std::string key;
  for (const std::string_view part :
       {account, std::string_view(m.to), std::string_view(m.body), sim_request}) {
    key.append(std::to_string(part.size())).append(":").append(part);
  }
  return key;
}

// The glue between Poco's server and Simulator::serve.
class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Simulator& sim) : sim_(sim) {}
  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    Reply reply;
    try {
      reply = sim_.serve(read(in));
    } catch (const std::length_error& e) {
      reply = simError(413, e.what());
      out.setKeepAlive(false);  // the rest of the body is still unread
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", in.getMethod(), in.getURI(), e.what());
      reply = simError(500, e.what());
    }
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    out.setContentType(reply.content_type);
    for (const auto& [name, value] : reply.headers) out.set(name, value);
    out.sendBuffer(reply.body.data(), reply.body.size());
  }

 private:
  static Request read(Poco::Net::HTTPServerRequest& in) {
    const std::string& uri = in.getURI();
    const size_t question = uri.find('?');
    Request r{.method = in.getMethod(),
              .path = uri.substr(0, question),
              .query = question == std::string::npos ? "" : uri.substr(question + 1),
              .authorization = in.get("Authorization", ""),
              .content_type = in.get("Content-Type", ""),
              .sim_request = in.get("X-Sim-Request", ""),
              .body = {},
              .from_loopback = in.clientAddress().host().isLoopback()};
    char chunk[16384];
    while (in.stream().read(chunk, sizeof chunk) || in.stream().gcount() > 0) {
      r.body.append(chunk, static_cast<size_t>(in.stream().gcount()));
      if (r.body.size() > kMaxBodyBytes) throw std::length_error("request body over 1 MiB");
    }
    return r;
  }
  Simulator& sim_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Simulator& sim) : sim_(sim) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(sim_);
  }

 private:
  Simulator& sim_;
};

}  // namespace

Simulator::Simulator(Options options)
    : options_(std::move(options)),
      rng_(options_.seed.value_or(std::random_device{}())),
      queue_(static_cast<size_t>(options_.callback_threads)),
      webhooks_(queue_, WebhookSender::Retry{
                            .attempts = 4,
                            .backoff = std::chrono::milliseconds(options_.callback_backoff_ms)}) {}

Simulator::~Simulator() { stop(); }

void Simulator::start() {
  Poco::Net::ServerSocket socket(
      Poco::Net::SocketAddress(options_.listen_host, options_.listen_port), 64);
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(16);
  params->setMaxQueued(256);
  params->setTimeout(Poco::Timespan(10, 0));
  server_threads_ = std::make_unique<Poco::ThreadPool>(2, 16);
  // The server owns the factory and the params (Poco reference-counts them).
  server_ =
      std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), *server_threads_, socket, params);
  server_->start();
}

void Simulator::stop() {
  if (server_) {
    server_->stopAll(true);
    server_threads_->joinAll();  // no handler is still inside serve()
    server_.reset();
  }
  queue_.stop();
}

Stats Simulator::stats() {
  std::lock_guard lock(mu_);
  return Stats{.posts = posts_,
               .rate_limited = rate_limited_,
               .answers_lost = answers_lost_,
               .messages = static_cast<int64_t>(messages_.size()),
               .calls = static_cast<int64_t>(calls_.size()),
               .callbacks_sent = webhooks_.sent(),
               .callbacks_failed = webhooks_.failed()};
}

Reply Simulator::serve(const Request& request) {
  if (startsWith(request.path, "/sim/")) {
    if (!request.from_loopback) return simError(403, "the /sim/ endpoints answer loopback only");
    if (request.path == "/sim/messages" && request.method == "GET") return simMessages();
    if (request.path == "/sim/inbound" && request.method == "POST") return simInbound(request);
    if (request.path == "/sim/inbound-call" && request.method == "POST") {
      return simInboundCall(request);
    }
    if (request.path == "/sim/calls" && request.method == "GET") return simCalls();
    if (request.path == "/sim/stats" && request.method == "GET") {
      const Stats s = stats();
      return Reply{.body = JsonObject()
                               .integer("posts", s.posts)
                               .integer("rate_limited", s.rate_limited)
                               .integer("answers_lost", s.answers_lost)
                               .integer("messages", s.messages)
                               .integer("calls", s.calls)
                               .integer("callbacks_sent", s.callbacks_sent)
                               .integer("callbacks_failed", s.callbacks_failed)
                               .str()};
    }
    return simError(404, fmt::format("no {} {}: the simulator has GET /sim/messages, "
                                     "GET /sim/calls, GET /sim/stats, POST /sim/inbound and "
                                     "POST /sim/inbound-call",
                                     request.method, request.path));
  }
  if (startsWith(request.path, kApiPrefix)) return route2010(request);
  return notFound(request.path);
}

Reply Simulator::route2010(const Request& request) {
  // HTTP basic auth: an account SID and its token.
  std::string account;
  if (request.authorization.size() > 6 &&
      Poco::icompare(request.authorization.substr(0, 6), "Basic ") == 0) {
    try {
      const Poco::Net::HTTPBasicCredentials credentials(request.authorization.substr(6));
      const auto known = options_.accounts.find(credentials.getUsername());
      if (known != options_.accounts.end() &&
          tenancy::constantTimeEqual(known->second, credentials.getPassword())) {
        account = known->first;
      }
    } catch (const Poco::Exception&) {
      // Not base64, or no colon: not authenticated.
    }
  }
  if (account.empty()) {
    Reply r = twilioError(401, 20003, "Authenticate");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Twilio API\"");
    return r;
  }

  // /2010-04-01/Accounts/{AccountSid}/Messages.json or .../Messages/{Sid}.json
  const std::vector<std::string> parts = splitPath(request.path);
  if (parts.size() < 4 || parts[1] != "Accounts") return notFound(request.path);
  // Another account's resources do not exist for this one (Twilio answers 20404 too).
  if (parts[2] != account) return notFound(request.path);
  if (parts.size() == 4 && parts[3] == "Messages.json") {
    if (request.method == "POST") return createMessage(account, request);
    if (request.method == "GET") return listMessages(account, request);
    return twilioError(405, 20004, "Method not allowed");
  }
  if (parts.size() == 5 && parts[3] == "Calls" && parts[4].ends_with(".json")) {
    if (request.method == "GET") return fetchCall(account, parts[4].substr(0, parts[4].size() - 5));
    return twilioError(405, 20004, "Method not allowed");
  }
  if (parts.size() == 5 && parts[3] == "Messages" && parts[4].ends_with(".json")) {
    if (request.method == "GET") {
      return fetchMessage(account, parts[4].substr(0, parts[4].size() - 5));
    }
    return twilioError(405, 20004, "Method not allowed");
  }
  return notFound(request.path);
}

Reply Simulator::createMessage(const std::string& account, const Request& request) {
  {
    std::lock_guard lock(mu_);
    ++posts_;
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < options_.rate_limit_rate) {
      ++rate_limited_;
      Reply r = twilioError(429, 20429, "Too Many Requests");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
  }

  twilio::Params form;
  if (request.content_type.empty() ||
      startsWith(request.content_type, "application/x-www-form-urlencoded")) {
    try {
      form = twilio::parseForm(request.body);
    } catch (const twilio::FormError& e) {
      return twilioError(400, 20001, fmt::format("Invalid form body: {}", e.what()));
    }
  }
  const Validated v = validateCreate(form);
  if (v.error) return twilioError(400, v.error->code, v.error->message);

  const auto now = Clock::now();
  Message m{.sid = "",
            .account_sid = account,
            .to = v.to,
            .from = v.from,
            .messaging_service_sid = v.messaging_service_sid,
            .body = v.body,
            .media_urls = v.media_urls,
            .status_callback = v.status_callback,
            .num_segments = countSegments(v.body),
            .status = Status::kQueued,
            .error_code = std::nullopt,
            .date_created = now,
            .date_updated = now,
            .date_sent = std::nullopt};
  std::vector<Step> steps;
  bool lost = false;
  {
    std::lock_guard lock(mu_);
    m.sid = "SM" + randomHex32();
    steps = drawSteps();
    // Drawn only when asked for: a seed replays the same runs as before the knob existed.
    lost = options_.lost_answer_rate > 0 &&
           std::uniform_real_distribution<double>(0, 1)(rng_) < options_.lost_answer_rate;
    if (lost) ++answers_lost_;
    const std::string key = postKey(account, m, request.sim_request);
    ++posts_by_key_[key];
    order_.push_back(m.sid);
    messages_.emplace(m.sid,
                      Stored{.message = m, .post_key = key, .sim_request = request.sim_request});
  }
  spdlog::debug("message {} to {} queued", m.sid, m.to);
  scheduleStep(m.sid, std::move(steps), 0);
  if (lost) {
    // Stored and on its way, but the client never learns it: Twilio's 20500.
    return twilioError(500, 20500, "Internal Server Error");
  }
  return Reply{.status = 201, .body = messageJson(m, priceRule())};
}

Reply Simulator::fetchMessage(const std::string& account, const std::string& sid) {
  std::lock_guard lock(mu_);
  const auto it = messages_.find(sid);
  if (it == messages_.end() || it->second.message.account_sid != account) {
    return notFound(fmt::format("/2010-04-01/Accounts/{}/Messages/{}.json", account, sid));
  }
  return Reply{.body = messageJson(it->second.message, priceRule())};
}

// Twilio's message list: To, From and DateSent (YYYY-MM-DD; also DateSent< and DateSent>)
// filters, newest first, PageSize (1..1000, default 50) and Page (from 0) with Twilio's paging
// members.
Reply Simulator::listMessages(const std::string& account, const Request& request) {
  twilio::Params query;
  try {
    query = twilio::parseForm(request.query);
  } catch (const twilio::FormError& e) {
    return twilioError(400, 20001, fmt::format("Invalid query: {}", e.what()));
  }
  const auto param = [&](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : query) {
      if (k == name) return v;
    }
    return std::nullopt;
  };
  int page_size = 50, page = 0;
  try {
    if (const auto v = param("PageSize")) page_size = std::stoi(*v);
    if (const auto v = param("Page")) page = std::stoi(*v);
  } catch (const std::exception&) {
    return twilioError(400, 20001, "PageSize and Page must be integers");
  }
  if (page_size < 1 || page_size > 1000 || page < 0) {
    return twilioError(400, 20001, "PageSize must be 1..1000 and Page >= 0");
  }
  // DateSent filters compare the day the message was sent (UTC), as Twilio's do.
  const auto day = [](std::chrono::system_clock::time_point t) {
    return fmt::format("{:%Y-%m-%d}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
  };
  const auto on = param("DateSent"), before = param("DateSent<"), after = param("DateSent>");
  std::vector<std::string> items;
  size_t matched = 0;
  std::lock_guard lock(mu_);
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    const Message& m = messages_.at(*it).message;
    if (m.account_sid != account) continue;
    if (const auto to = param("To"); to && m.to != *to) continue;
    if (const auto from = param("From"); from && m.from != *from) continue;
    if (on || before || after) {
      if (!m.date_sent) continue;
      const std::string sent = day(*m.date_sent);
      if ((on && sent != *on) || (before && !(sent <= *before)) || (after && !(sent >= *after))) {
        continue;
      }
    }
    const size_t index = matched++;
    if (index >= static_cast<size_t>(page) * page_size &&
        index < static_cast<size_t>(page + 1) * page_size) {
      items.push_back(messageJson(m, priceRule()));
    }
  }
  const std::string uri = fmt::format("/2010-04-01/Accounts/{}/Messages.json", account);
  // Twilio's paging URIs keep the filters.
  const auto pageUri = [&](int n) {
    twilio::Params kept;
    for (const char* name : {"To", "From", "DateSent", "DateSent<", "DateSent>"}) {
      if (const auto v = param(name)) kept.emplace_back(name, *v);
    }
    kept.emplace_back("PageSize", std::to_string(page_size));
    kept.emplace_back("Page", std::to_string(n));
    return uri + "?" + twilio::formEncode(kept);
  };
  const bool more = matched > static_cast<size_t>(page + 1) * page_size;
  const int64_t start = static_cast<int64_t>(page) * page_size;
  return Reply{.body = JsonObject()
                           .integer("end", items.empty() ? start : start + items.size() - 1)
                           .string("first_page_uri", pageUri(0))
                           .stringOrNull("next_page_uri",
                                         more ? std::optional(pageUri(page + 1)) : std::nullopt)
                           .integer("page", page)
                           .integer("page_size", page_size)
                           .stringOrNull("previous_page_uri",
                                         page > 0 ? std::optional(pageUri(page - 1)) : std::nullopt)
                           .integer("start", start)
                           .string("uri", pageUri(page))
                           .raw("messages", jsonArray(items))
                           .str()};
}

std::vector<Simulator::Step> Simulator::drawSteps() {
  std::uniform_real_distribution<double> share(0, 1);
  const bool fails = share(rng_) < options_.fail_rate;
  const bool undelivered = share(rng_) < 0.5;  // drawn always: a seed gives one sequence
  if (fails && !undelivered) return {Step{.status = Status::kFailed, .error_code = 30008}};
  const Step last = fails ? Step{.status = Status::kUndelivered, .error_code = 30003}
                          : Step{.status = Status::kDelivered, .error_code = std::nullopt};
  const Step sent{.status = Status::kSent, .error_code = std::nullopt};
  if (options_.out_of_order) return {last, sent};
  return {sent, last};
}

std::string Simulator::randomHex32() { return fmt::format("{:016x}{:016x}", rng_(), rng_()); }

void Simulator::scheduleStep(const std::string& sid, std::vector<Step> steps, size_t index) {
  queue_.after(std::chrono::milliseconds(options_.callback_delay_ms),
               [this, sid, steps = std::move(steps), index] { runStep(sid, steps, index); });
}

void Simulator::runStep(const std::string& sid, const std::vector<Step>& steps, size_t index) {
  const Step& step = steps.at(index);
  Message m;
  {
    std::lock_guard lock(mu_);
    const auto it = messages_.find(sid);
    if (it == messages_.end()) return;
    Message& stored = it->second.message;
    const auto now = Clock::now();
    if (rank(step.status) > rank(stored.status)) {
      stored.status = step.status;
      stored.error_code = step.error_code;
      stored.date_updated = now;
      if (stored.status != Status::kFailed && !stored.date_sent) stored.date_sent = now;
    }
    m = stored;
  }
  spdlog::debug("message {} {}", sid, statusName(step.status));
  auto next = [this, sid, steps, index](bool) {
    if (index + 1 < steps.size()) scheduleStep(sid, steps, index + 1);
  };
  if (m.status_callback.empty()) {
    next(true);
    return;
  }

  // The parameters Twilio posts to a message's StatusCallback.
  twilio::Params params{{"SmsSid", m.sid},
                        {"SmsStatus", std::string(statusName(step.status))},
                        {"MessageStatus", std::string(statusName(step.status))},
                        {"To", m.to}};
  if (!m.messaging_service_sid.empty()) {
    params.emplace_back("MessagingServiceSid", m.messaging_service_sid);
  }
  params.insert(params.end(), {{"MessageSid", m.sid}, {"AccountSid", m.account_sid}});
  if (!m.from.empty()) params.emplace_back("From", m.from);
  params.emplace_back("ApiVersion", "2010-04-01");
  if (step.error_code) params.emplace_back("ErrorCode", std::to_string(*step.error_code));

  webhooks_.post(Webhook{.url = m.status_callback,
                         .params = std::move(params),
                         .auth_token = options_.accounts.at(m.account_sid),
                         .idempotency_token = tenancy::randomHex(16)},
                 std::move(next));
}

Reply Simulator::simMessages() {
  std::lock_guard lock(mu_);
  std::vector<std::string> items;
  items.reserve(order_.size());
  for (const std::string& sid : order_) {
    const Stored& s = messages_.at(sid);
    const Message& m = s.message;
    items.push_back(
        JsonObject()
            .string("sid", m.sid)
            .string("account_sid", m.account_sid)
            .string("to", m.to)
            .stringOrNull("from", m.from)
            .stringOrNull("messaging_service_sid", m.messaging_service_sid)
            .string("body", m.body)
            .raw("media_urls", jsonStringArray(m.media_urls))
            .string("status", statusName(m.status))
            .integerOrNull("error_code", m.error_code)
            .stringOrNull("status_callback", m.status_callback)
            .integer("posts", posts_by_key_.at(s.post_key))
            .integer("received_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                        m.date_created.time_since_epoch())
                                        .count())
            .stringOrNull("sim_request", s.sim_request)
            .str());
  }
  return Reply{.body = JsonObject().raw("messages", jsonArray(items)).str()};
}

Reply Simulator::simInbound(const Request& request) {
  twilio::Params form;
  try {
    form = twilio::parseForm(request.body);
  } catch (const twilio::FormError& e) {
    return simError(400, fmt::format("form body: {}", e.what()));
  }
  const InboundFields f = inboundFields(form);
  if (!f.error.empty()) return simError(400, f.error);
  const auto token = options_.accounts.find(f.account_sid);
  if (token == options_.accounts.end()) {
    return simError(
        400, fmt::format("AccountSid {}: not an account given with --account", f.account_sid));
  }

  // Not from the seeded generator: its draws stay those of the message POSTs, in their order.
  const std::string sid = "SM" + tenancy::randomHex(16);
  // The parameters Twilio posts to a number's SMS webhook.
  const twilio::Params params{{"SmsMessageSid", sid},
                              {"NumMedia", "0"},
                              {"SmsSid", sid},
                              {"SmsStatus", "received"},
                              {"Body", f.body},
                              {"To", f.to},
                              {"NumSegments", std::to_string(countSegments(f.body))},
                              {"MessageSid", sid},
                              {"AccountSid", f.account_sid},
                              {"From", f.from},
                              {"ApiVersion", "2010-04-01"}};
  try {
    WebhookReply r = webhooks_.postOnce(Webhook{
        .url = f.url, .params = params, .auth_token = token->second, .idempotency_token = sid});
    return Reply{.status = r.status,
                 .body = std::move(r.body),
                 .content_type = r.content_type.empty() ? "text/plain" : r.content_type,
                 .headers = {{"X-Sim-Message-Sid", sid}}};
  } catch (const std::exception& e) {
    return simError(502, fmt::format("posting to {} failed: {}", f.url, e.what()));
  }
}

Reply Simulator::fetchCall(const std::string& account, const std::string& sid) {
  std::lock_guard lock(mu_);
  const auto it = calls_.find(sid);
  if (it == calls_.end() || it->second.account_sid != account) {
    return notFound(fmt::format("/2010-04-01/Accounts/{}/Calls/{}.json", account, sid));
  }
  return Reply{.body = callJson(it->second, callPriceRule())};
}

Reply Simulator::simCalls() {
  std::lock_guard lock(mu_);
  std::vector<std::string> items;
  items.reserve(call_order_.size());
  for (const std::string& sid : call_order_)
    items.push_back(callJson(calls_.at(sid), callPriceRule()));
  return Reply{.body = JsonObject().raw("calls", jsonArray(items)).str()};
}

// An inbound call to one of the account's numbers: the voice webhook is posted (signed) as
// Twilio posts it when the call comes in, and its answer (TwiML) is the reply. An answered call
// then ends as asked (CallStatus, Duration) after --callback-delay-ms, and its status callback
// is posted if a StatusCallback was given; a call whose webhook failed ends `failed`.
Reply Simulator::simInboundCall(const Request& request) {
  twilio::Params form;
  try {
    form = twilio::parseForm(request.body);
  } catch (const twilio::FormError& e) {
    return simError(400, fmt::format("form body: {}", e.what()));
  }
  const InboundCallFields f = inboundCallFields(form);
  if (!f.error.empty()) return simError(400, f.error);
  const auto token = options_.accounts.find(f.account_sid);
  if (token == options_.accounts.end()) {
    return simError(
        400, fmt::format("AccountSid {}: not an account given with --account", f.account_sid));
  }
  // Not from the seeded generator: its draws stay those of the message POSTs, in their order.
  const std::string sid = "CA" + tenancy::randomHex(16);
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    call_order_.push_back(sid);
    calls_.emplace(sid, Call{.sid = sid,
                             .account_sid = f.account_sid,
                             .from = f.from,
                             .to = f.to,
                             .status = "ringing",
                             .duration_s = 0,
                             .status_callback = f.status_callback,
                             .date_created = now,
                             .date_updated = now,
                             .start_time = std::nullopt,
                             .end_time = std::nullopt});
  }
  // The parameters Twilio posts to a number's voice webhook when a call comes in.
  const twilio::Params params{{"AccountSid", f.account_sid},
                              {"ApiVersion", "2010-04-01"},
                              {"CallSid", sid},
                              {"CallStatus", "ringing"},
                              {"Called", f.to},
                              {"Caller", f.from},
                              {"Direction", "inbound"},
                              {"From", f.from},
                              {"To", f.to}};
  WebhookReply r;
  try {
    r = webhooks_.postOnce(Webhook{
        .url = f.url, .params = params, .auth_token = token->second, .idempotency_token = sid});
  } catch (const std::exception& e) {
    endCall(sid, "failed", 0);
    return simError(502, fmt::format("posting to {} failed: {}", f.url, e.what()));
  }
  const bool answered = r.status >= 200 && r.status < 300;
  if (answered && f.status == "completed") {
    std::lock_guard lock(mu_);
    Call& c = calls_.at(sid);
    c.status = "in-progress";
    c.start_time = c.date_updated = Clock::now();
  }
  const std::string end = answered ? f.status : "failed";
  const int duration = answered ? f.duration_s : 0;
  queue_.after(std::chrono::milliseconds(options_.callback_delay_ms),
               [this, sid, end, duration] { endCall(sid, end, duration); });
  return Reply{.status = r.status,
               .body = std::move(r.body),
               .content_type = r.content_type.empty() ? "text/plain" : r.content_type,
               .headers = {{"X-Sim-Call-Sid", sid}}};
}

void Simulator::endCall(const std::string& sid, const std::string& status, int duration_s) {
  Call c;
  {
    std::lock_guard lock(mu_);
    const auto it = calls_.find(sid);
    if (it == calls_.end() || finalCallStatus(it->second.status)) return;
    Call& stored = it->second;
    const auto now = Clock::now();
    stored.status = status;
    stored.duration_s = duration_s;
    stored.end_time = stored.date_updated = now;
    // The call is not held open for its duration: it is recorded as having lasted it.
    if (stored.start_time) stored.start_time = now - std::chrono::seconds(duration_s);
    c = stored;
  }
  spdlog::debug("call {} {} after {} s", sid, status, duration_s);
  if (c.status_callback.empty()) return;
  // The parameters Twilio posts to a call's status callback.
  twilio::Params params{{"AccountSid", c.account_sid},
                        {"ApiVersion", "2010-04-01"},
                        {"CallSid", c.sid},
                        {"CallStatus", c.status},
                        {"Called", c.to},
                        {"Caller", c.from},
                        {"Direction", "inbound"},
                        {"From", c.from},
                        {"To", c.to}};
  if (c.status == "completed") {
    params.emplace_back("CallDuration", std::to_string(c.duration_s));
    params.emplace_back("Duration", std::to_string((c.duration_s + 59) / 60));
  }
  webhooks_.post(Webhook{.url = c.status_callback,
                         .params = std::move(params),
                         .auth_token = options_.accounts.at(c.account_sid),
                         .idempotency_token = tenancy::randomHex(16)},
                 [](bool) {});
}

}  // namespace tollgate::twilio_sim
