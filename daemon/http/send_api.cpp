// Sending an SMS (issue 26): POST /v1/messages checks the message, reserves its price as a
// ledger hold, and stores it in the outbox in one unit with the request's idempotency record;
// it answers 202 with the message's id once that is durable, and the outbox's worker sends it
// (docs/adr/0014). GET /v1/outbox/{id} shows where a message is.
//
// {"to": "+1...", "from": "+1..." (default: the tenant's first number), "body": "...",
//  "media_urls": ["https://..."], "status_callback": "https://...", "send_at":
//  "2026-12-08T09:00:00Z"}. A message with send_at waits in the outbox (its price reserved)
//  until then. The Idempotency-Key header makes a retry answer what the
// first request did, with the same message.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "http/api.hpp"
#include "http/auth.hpp"
#include "messaging/outbox_json.hpp"
#include "messaging/pace.hpp"
#include "messaging/segments.hpp"
#include "messaging/send_holds.hpp"
#include "numbers/routes.hpp"
#include "services.hpp"
#include "storage/unit.hpp"
#include "tenancy/secrets.hpp"

namespace tollgate::http {
namespace {

constexpr size_t kMaxMedia = 10;
constexpr size_t kMaxUrl = 2048;
constexpr size_t kMaxIdempotencyKey = 255;
constexpr int64_t kHoldMs = 72LL * 3600 * 1000;  // a send still unsettled after this releases
// send_at: at most Twilio's own scheduling horizon ahead; a little behind is a clock's skew.
constexpr int64_t kMaxScheduleMs = 35LL * 24 * 3600 * 1000;
constexpr int64_t kMaxSkewMs = 5LL * 60 * 1000;

std::string e164Field(const Poco::JSON::Object& body, const std::string& field) {
  const std::string raw = requireString(body, field, 32);
  const auto e164 = numbers::normalizeE164(raw);
  if (!e164) {
    throw ApiError(
        400, "invalid_argument",
        fmt::format("{}: '{}' is not a phone number in E.164 (+14155550100)", field, raw), field);
  }
  return *e164;
}

bool isHttpUrl(const std::string& url) {
  return (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) && url.size() <= kMaxUrl &&
         url.find_first_of(" \r\n\t") == std::string::npos;
}

std::vector<std::string> mediaUrls(const Poco::JSON::Object& body) {
  std::vector<std::string> out;
  if (!body.has("media_urls") || body.isNull("media_urls")) return out;
  const auto list = body.getArray("media_urls");
  if (!list || list->size() > kMaxMedia) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("media_urls: an array of at most {} URLs", kMaxMedia), "media_urls");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const Poco::Dynamic::Var v = list->get(static_cast<unsigned>(i));
    const std::string url = v.isString() ? v.extract<std::string>() : std::string();
    if (!isHttpUrl(url)) {
      throw ApiError(
          400, "invalid_argument",
          fmt::format("media_urls[{}]: want an http(s) URL of at most {} bytes", i, kMaxUrl),
          "media_urls");
    }
    out.push_back(url);
  }
  return out;
}

// The tenant's own URL for the message's status changes, or "".
std::string statusCallback(const Poco::JSON::Object& body) {
  if (!body.has("status_callback") || body.isNull("status_callback")) return {};
  const Poco::Dynamic::Var v = body.get("status_callback");
  const std::string url = v.isString() ? v.extract<std::string>() : std::string();
  if (!isHttpUrl(url)) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("status_callback: want an http(s) URL of at most {} bytes", kMaxUrl),
                   "status_callback");
  }
  return url;
}

// When to send: `send_at` (ISO 8601 with its offset), or now.
int64_t sendAt(const Poco::JSON::Object& body, int64_t now) {
  if (!body.has("send_at") || body.isNull("send_at")) return now;
  const Poco::Dynamic::Var v = body.get("send_at");
  const auto at = v.isString() ? isoTimeMs(v.extract<std::string>()) : std::nullopt;
  if (!at) {
    throw ApiError(400, "invalid_argument",
                   "send_at: want an ISO 8601 time with its offset (2026-12-08T09:00:00Z)",
                   "send_at");
  }
  if (*at < now - kMaxSkewMs) {
    throw ApiError(400, "invalid_argument", "send_at: in the past", "send_at");
  }
  if (*at > now + kMaxScheduleMs) {
    throw ApiError(400, "invalid_argument", "send_at: at most 35 days ahead", "send_at");
  }
  return std::max(*at, now);
}

Response send(Services& svc, Request& r, const storage::Tenant& tenant) {
  if (!svc.outbox) {
    throw ApiError(503, "unavailable", "sending is off: the storage plugin has no outbox");
  }
  const std::string key = r.header("Idempotency-Key");
  if (key.size() > kMaxIdempotencyKey) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("Idempotency-Key: at most {} bytes", kMaxIdempotencyKey),
                   "Idempotency-Key");
  }
  const auto body = r.jsonBody();
  const std::string to = e164Field(*body, "to");
  // From: one of the tenant's numbers; by default the first.
  const std::vector<storage::Number> own = svc.store->numbers(tenant.id);
  std::string from;
  if (body->has("from") && !body->isNull("from")) {
    from = e164Field(*body, "from");
    if (std::none_of(own.begin(), own.end(),
                     [&](const storage::Number& n) { return n.e164 == from; })) {
      throw ApiError(400, "invalid_argument", fmt::format("from: {} is not your number", from),
                     "from");
    }
  } else if (own.empty()) {
    throw ApiError(400, "invalid_argument", "from: you have no number to send from", "from");
  } else {
    from = own.front().e164;
  }
  const std::string text = optionalString(*body, "body", 4 * messaging::kMaxBodyCharacters);
  const std::vector<std::string> media = mediaUrls(*body);
  const std::string callback = statusCallback(*body);
  messaging::Segments segments;
  try {
    segments = messaging::countSegments(text);
  } catch (const std::invalid_argument& e) {
    throw ApiError(400, "invalid_argument", fmt::format("body: {}", e.what()), "body");
  }
  if (segments.characters > messaging::kMaxBodyCharacters) {
    throw ApiError(
        400, "invalid_argument",
        fmt::format("body: at most {} characters (Twilio's 21617)", messaging::kMaxBodyCharacters),
        "body");
  }
  if (text.empty() && media.empty()) {
    throw ApiError(400, "invalid_argument", "body: required without media_urls (Twilio's 21602)",
                   "body");
  }
  // Twilio refuses a recipient who replied STOP (21610); so does the gateway, before paying.
  if (svc.store->optedOut(tenant.id, to)) {
    throw ApiError(400, "opted_out",
                   fmt::format("to: {} has opted out of your messages (Twilio's 21610)", to), "to");
  }

  // The id: from the idempotency key (a retry is the same message), else new.
  const std::string id =
      "om_" + (key.empty() ? tenancy::randomHex(16)
                           : tenancy::sha256Hex(tenant.id + ":" + key).substr(0, 32));
  const int64_t now = tenancy::nowMs();
  const int64_t send_at = sendAt(*body, now);
  const int32_t parts = static_cast<int32_t>(std::max<size_t>(segments.count, 1));
  // The price, reserved: segments x the price of an SMS to `to` (nothing without pricing).
  std::string hold_id;
  int64_t price = 0;
  if (svc.pricing->plugin() != nullptr) {
    const billing::Quote q = svc.pricing->quote(
        tenant.id, r.requestId(), TG_PRODUCT_SMS_SEGMENT_OUT, to, "", svc.ledger->currency());
    if (q.status == TG_OK) {
      price = q.amount_micros * parts;
    } else if (q.status != TG_ERR_NOT_FOUND) {
      throw ApiError(503, "unavailable", fmt::format("no price for {}: {}", to, q.error));
    }
  }
  if (price > 0) {
    hold_id = messaging::sendHoldId(id);
    const storage::HoldResult held = svc.store->applyHold(
        tenant.id, storage::HoldRequest{.action = TG_HOLD_RESERVE,
                                        .currency = svc.ledger->currency(),
                                        .hold_id = hold_id,
                                        .amount_micros = price,
                                        .kind = TG_ENTRY_SMS_USAGE,
                                        .reference = id,
                                        .description = fmt::format("SMS to {}", to),
                                        .expires_at_ms = send_at + kHoldMs,
                                        .now_ms = now});
    if (held.outcome == TG_APPLY_INSUFFICIENT_FUNDS) {
      throw ApiError(
          402, "insufficient_funds",
          fmt::format("the wallet cannot cover {} micros for {} segment(s)", price, parts));
    }
  }

  const storage::OutboxMessage m{
      .id = id,
      .tenant_id = tenant.id,
      .from_number = from,
      .to_number = to,
      .body = text,
      .media_urls = fmt::format("{}", fmt::join(media, "\n")),
      .status_callback = callback,
      .segments = parts,
      .currency = price > 0 ? svc.ledger->currency() : "",
      .hold_id = hold_id,
      .state = TG_OUTBOX_QUEUED,
      .attempts = 0,
      .next_attempt_at_ms = send_at,
      .lease_owner = {},
      .lease_until_ms = 0,
      .twilio_sid = {},
      .twilio_status = {},
      .status_rank = 0,
      .error_code = 0,
      .error = {},
      .created_at_ms = now,
      .updated_at_ms = now,
      .pace_us = messaging::paceUs(svc.config->sender_rates, messaging::senderType(from), parts,
                                   !media.empty()),
      .estimate_micros = price,
      .price_state = TG_OUTBOX_PRICE_NONE,
      .price_micros = 0,
      .price_check_at_ms = 0};
  Poco::JSON::Object answer = messaging::outboxJson(m);
  answer.set("encoding",
             segments.encoding == messaging::Segments::Encoding::kGsm7 ? "GSM-7" : "UCS-2");
  answer.set("currency", svc.ledger->currency());
  std::ostringstream answer_text;
  answer.stringify(answer_text);

  storage::Unit unit(tenant.id);
  unit.claim(storage::IdempotencyRecord{.tenant_id = tenant.id,
                                        .scope = "send",
                                        .key = id,
                                        .request_hash = tenancy::sha256Hex(r.body()),
                                        .response_status = 0,
                                        .response_body = {},
                                        .created_at_ms = now});
  unit.addToOutbox(m);
  unit.complete(storage::Completion{
      .scope = "send", .key = id, .response_status = 202, .response_body = answer_text.str()});
  storage::UnitResult written;
  try {
    written = svc.store->apply(unit);
  } catch (...) {
    if (!hold_id.empty()) {  // nothing was queued: the reservation goes too (best effort)
      try {
        svc.store->applyHold(tenant.id, storage::HoldRequest{.action = TG_HOLD_RELEASE,
                                                             .currency = svc.ledger->currency(),
                                                             .hold_id = hold_id,
                                                             .now_ms = tenancy::nowMs()});
      } catch (const std::exception&) {  // released at its expiry anyway
      }
    }
    throw;
  }
  if (written.duplicate && written.existing) {
    // The first request's answer (its hold, reserved under the same id, is that message's).
    if (written.existing->request_hash != tenancy::sha256Hex(r.body())) {
      throw ApiError(409, "idempotency_conflict", "Idempotency-Key was used for another message",
                     "Idempotency-Key");
    }
    return Response{
        written.existing->response_status == 0 ? 409 : written.existing->response_status,
        "application/json",
        written.existing->response_body,
        {}};
  }
  svc.outbox->wake();
  return Response{202, "application/json", answer_text.str(), {}};
}

Response outboxMessage(Services& svc, Request& r, const storage::Tenant& tenant) {
  if (!svc.store->hasOutbox()) {
    throw ApiError(503, "unavailable", "sending is off: the storage plugin has no outbox");
  }
  const auto m = svc.store->outboxMessage(tenant.id, r.param("om"));
  if (!m) throw ApiError(404, "not_found", fmt::format("no message '{}'", r.param("om")), "id");
  return Response::json(200, messaging::outboxJson(*m));
}

}  // namespace

void addSendRoutes(Router& router, Services& svc) {
  router.add("POST", "/v1/messages", [&svc](Request& r) {
    svc.requireReady();
    return send(svc, r, svc.auth->requireTenant(r));
  });
  router.add("GET", "/v1/outbox/{om}", [&svc](Request& r) {
    svc.requireReady();
    return outboxMessage(svc, r, svc.auth->requireTenant(r));
  });
  // The admin, on a tenant's behalf (tollgatectl send).
  router.add("POST", "/admin/v1/tenants/{id}/messages", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    return send(svc, r, existingTenant(svc, r.param("id")));
  });
  router.add("GET", "/admin/v1/tenants/{id}/outbox/{om}", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    return outboxMessage(svc, r, existingTenant(svc, r.param("id")));
  });
}

}  // namespace tollgate::http
