#include "twilio/webhook.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "numbers/address.hpp"
#include "ops/untrusted.hpp"
#include "tenancy/secrets.hpp"
#include "tenancy/tenants.hpp"
#include "twilio/form.hpp"
#include "twilio/public_url.hpp"

namespace tollgate::twilio {
namespace {

// A claim older than this whose first request never finished (the daemon died mid-way) is
// processed again rather than blocking Twilio's retries forever.
constexpr int64_t kAbandonedClaimMs = 30000;
// How long a retry waits for the first request of the same key to finish.
constexpr auto kInFlightWait = std::chrono::milliseconds(2000);

const std::string kEmpty;

}  // namespace

const std::string& Webhook::get(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return kEmpty;
}

bool Webhook::has(std::string_view name) const {
  return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
}

http::Response twimlResponse(std::string twiml) {
  return http::Response{200, "text/xml; charset=utf-8", std::move(twiml), {}};
}

std::string WebhookGate::publicUrl(http::Request& r) const {
  const std::string& peer = r.peer();
  // header() gives "" for a missing header, where Poco's getHost() would throw.
  const std::string host = r.header("Host");
  const std::string forwarded_proto = r.header("X-Forwarded-Proto");
  const std::string forwarded_host = r.header("X-Forwarded-Host");
  const UrlSource source{.target = r.target(),
                         .host = host,
                         .peer = peer,
                         .forwarded_proto = forwarded_proto,
                         .forwarded_host = forwarded_host};
  return twilio::publicUrl(source, config_.trusted_proxies, config_.public_base_url);
}

Webhook WebhookGate::read(http::Request& r) const {
  Webhook w;
  w.url = publicUrl(r);
  // Twilio posts SMS and voice webhooks form-encoded. A JSON body (signed through bodySHA256)
  // carries no To to route by on these endpoints, so it is refused rather than half-handled.
  if (r.header("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0) {
    throw http::ApiError(415, "unsupported_media_type",
                         "Twilio SMS and voice webhooks are application/x-www-form-urlencoded",
                         "Content-Type");
  }
  try {
    w.params = parseForm(r.body());
  } catch (const FormError& e) {
    throw http::ApiError(400, "invalid_argument", std::string("malformed form body: ") + e.what(),
                         "body");
  }
  return w;
}

http::Response WebhookGate::serve(http::Request& r, const WebhookSpec& spec,
                                  const WebhookHandler& handler) {
  auto gate = admit(r, spec);
  if (auto* answered = std::get_if<http::Response>(&gate)) return std::move(*answered);
  auto& a = std::get<Admitted>(gate);
  for (;;) {
    a.unit = storage::Unit(a.route->tenant.id);
    a.afterCommit.clear();
    a.reply_to.clear();
    if (!a.taken_over) {
      a.claimed_at_ms = tenancy::nowMs();
      a.unit.claim(storage::IdempotencyRecord{.tenant_id = a.route->tenant.id,
                                              .scope = a.scope,
                                              .key = a.key,
                                              .created_at_ms = a.claimed_at_ms});
    }
    http::Response response;
    storage::UnitResult written;
    storage::Unit::Index answered = 0;
    try {
      response = handler(a);
      const bool replies = !a.reply_to.empty() && a.no_reply.status == response.status;
      answered = a.unit.complete(
          storage::Completion{.scope = a.scope,
                              .key = a.key,
                              .response_status = response.status,
                              .response_body = response.body,
                              .reply_to = replies ? a.reply_to : std::string(),
                              .no_reply_body = replies ? a.no_reply.body : std::string()});
      written = store_.apply(a.unit);
    } catch (...) {
      // Nothing of this attempt was written; but a claim taken over is held by this request
      // until it answers: give it up, so that the next retry proceeds at once.
      if (a.taken_over) release(a, r.requestId());
      throw;
    }
    if (!written.duplicate) {
      if (written.result(answered) == TG_UNIT_NO_REPLY) {
        counters_.replies_suppressed.fetch_add(1, std::memory_order_relaxed);
        response = std::move(a.no_reply);
      }
      for (const auto& then : a.afterCommit) then(written);
      return response;
    }
    if (auto first = awaitFirst(r, a, std::move(*written.existing))) return std::move(*first);
  }
}

std::variant<http::Response, Admitted> WebhookGate::admit(http::Request& r,
                                                          const WebhookSpec& spec) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  Webhook hook = read(r);
  const std::string& raw_number = hook.get(spec.number_param);
  const auto address = numbers::parseAddress(raw_number);
  auto route = address ? routes_.lookup(address->e164) : nullptr;
  if (!route) {
    counters_.unknown_number.fetch_add(1, std::memory_order_relaxed);
    warnUnauthenticated(fmt::format(
        "{} {}: webhook for number {} that no tenant owns; answered with the documented empty "
        "answer",
        r.requestId(), ops::untrusted(r.target()), ops::untrusted(raw_number)));
    return spec.unknown;
  }

  const std::string signature = r.header("X-Twilio-Signature");
  auto signedWith = [&](const std::optional<std::string>& token) {
    return token.has_value() && validateFormSignature(*token, hook.url, hook.params, signature);
  };
  auto token = accounts_.authToken(route->number.account_sid);
  bool valid = signedWith(token);
  if (!valid && token && !signature.empty()) {
    // Another daemon sharing the storage may have rotated the token since it was cached.
    auto fresh = accounts_.authToken(route->number.account_sid, Freshness::kRecheck);
    if (fresh != token) valid = signedWith(token = std::move(fresh));
  }
  if (!valid) {
    counters_.bad_signature.fetch_add(1, std::memory_order_relaxed);
    warnUnauthenticated(
        fmt::format("{} {}: rejected webhook for {} (tenant {}): {}", r.requestId(),
                    ops::untrusted(r.target()), route->number.e164, route->tenant.id,
                    !token ? "no auth token known for account " + route->number.account_sid
                    : signature.empty() ? std::string("no X-Twilio-Signature")
                                        : std::string("signature does not match")));
    throw http::ApiError(403, "invalid_signature",
                         "X-Twilio-Signature is missing or does not match", "X-Twilio-Signature");
  }

  Admitted a{.hook = std::move(hook), .route = std::move(route), .scope = spec.scope};
  // Only signed fields: I-Twilio-Idempotency-Token is not covered by the signature, so a key
  // built from it would let a captured request be replayed under a fresh header value.
  a.key = spec.dedupe_key(a.hook);
  if (a.key.empty()) {
    throw http::ApiError(400, "invalid_argument", "webhook lacks the parameters that identify it");
  }
  return a;
}

std::optional<http::Response> WebhookGate::awaitFirst(http::Request& r, Admitted& a,
                                                      storage::IdempotencyRecord existing) {
  const auto deadline = std::chrono::steady_clock::now() + kInFlightWait;
  for (;;) {
    if (existing.response_status != 0) {
      counters_.replayed.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("{} {}: retry of {} {} answered from the stored response", r.requestId(),
                   ops::untrusted(r.target()), a.scope, ops::untrusted(a.key));
      // The stored answer, as it was: status and body (TwiML, or nothing for a 204).
      http::Response replay = twimlResponse(std::move(existing.response_body));
      replay.status = existing.response_status;
      return replay;
    }
    // A claim without an answer: a storage plugin without units of work is still writing it
    // (each write its own commit), or its request failed (time 0) or its daemon died.
    const int64_t now = tenancy::nowMs();
    const int64_t age = now - existing.created_at_ms;
    if (existing.created_at_ms == 0 || age > kAbandonedClaimMs) {
      const auto took = store_.reclaimIdempotency(a.route->tenant.id, a.scope, a.key,
                                                  existing.created_at_ms, now);
      if (took.value_or(true)) {  // nullopt: a storage plugin without the compare-and-swap
        spdlog::warn("{}: {} {} {}; processing it again", r.requestId(), a.scope,
                     ops::untrusted(a.key),
                     existing.created_at_ms == 0
                         ? std::string("was released by a request that failed")
                         : fmt::format("was claimed {} ms ago and never finished", age));
        a.claimed_at_ms = took.has_value() ? now : existing.created_at_ms;
        a.taken_over = true;
        return std::nullopt;
      }
    } else if (std::chrono::steady_clock::now() > deadline) {
      throw http::ApiError(503, "in_progress",
                           "the first delivery of this webhook is still being processed");
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    storage::IdempotencyRecord claim{.tenant_id = a.route->tenant.id,
                                     .scope = a.scope,
                                     .key = a.key,
                                     .created_at_ms = tenancy::nowMs()};
    auto again = store_.claimIdempotency(claim);
    if (!again) {  // gone meanwhile, and now claimed by this request
      a.claimed_at_ms = claim.created_at_ms;
      a.taken_over = true;
      return std::nullopt;
    }
    existing = std::move(*again);
  }
}

void WebhookGate::release(const Admitted& a, std::string_view request_id) noexcept {
  try {
    store_.reclaimIdempotency(a.route->tenant.id, a.scope, a.key, a.claimed_at_ms, 0);
  } catch (const std::exception& e) {
    try {
      spdlog::warn("{}: could not release the claim of {} {} after a failure: {}", request_id,
                   a.scope, ops::untrusted(a.key), e.what());
    } catch (...) {  // the claim is abandoned after kAbandonedClaimMs anyway
    }
  } catch (...) {
  }
}

void WebhookGate::warnUnauthenticated(const std::string& line) {
  uint64_t dropped = 0;
  if (!unauthenticated_log_.allow(dropped)) {
    counters_.log_lines_suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (dropped == 0) {
    spdlog::warn("{}", line);
  } else {
    spdlog::warn("{} ({} similar lines suppressed before this one)", line, dropped);
  }
}

}  // namespace tollgate::twilio
