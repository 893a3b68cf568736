// POST /stripe/webhook. Stripe retries an event until it gets a 2xx, for up to three days, and
// may deliver one twice or out of order. So every effect is idempotent on its own, whatever the
// delivery: a top-up is a ledger entry keyed by its PaymentIntent, so it is credited once even
// if two deliveries race; a subscription's status sets the tenant's. Each event's id is also
// recorded once handled, and a repeat of a handled event is answered without acting again.
//
// Acted on: payment_intent.succeeded (credits the wallet of metadata[tenant_id] with
// amount_received), charge.refunded (debits what the refund gave back to the card),
// payment_intent.payment_failed (logged), customer.subscription.created,
// .updated and .deleted (active or trialing: the tenant is activated and the provisioning hook
// runs; canceled, unpaid or deleted: suspended). Every other type is acknowledged and ignored.
#include "billing/stripe_webhooks.hpp"

#include <Poco/JSON/Parser.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>
#include <tollgate/sdk/money.hpp>

#include <charconv>
#include <fstream>
#include <optional>

#include "http/api.hpp"
#include "ops/untrusted.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::billing {
namespace {

using Poco::JSON::Object;

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

std::string text(const Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key) || !o->get(key).isString()) return {};
  return o->getValue<std::string>(key);
}

Object::Ptr object(const Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return nullptr;
  try {
    return o->getObject(key);
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

http::Response answer(const std::string& type, const std::string& action,
                      const std::string& detail = "") {
  Poco::JSON::Object o;
  o.set("received", true);
  o.set("type", type);
  o.set("action", action);
  if (!detail.empty()) o.set("detail", detail);
  return http::Response::json(200, o);
}

// payment_intent.succeeded: the top-up, credited once by its PaymentIntent's id.
http::Response topUp(Services& svc, const std::string& type, const Object::Ptr& pi) {
  const std::string id = text(pi, "id");
  const std::string tenant_id = text(object(pi, "metadata"), "tenant_id");
  if (id.empty() || tenant_id.empty()) {
    return answer(type, "ignored", "no metadata[tenant_id]: not a Tollgate top-up");
  }
  if (!svc.tenants->get(tenant_id)) {
    spdlog::error("stripe: PaymentIntent {} succeeded for unknown tenant '{}'; not credited", id,
                  tenant_id);
    return answer(type, "ignored", "unknown tenant");
  }
  std::string currency = text(pi, "currency");
  for (char& c : currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const int64_t minor = pi->has("amount_received") && pi->get("amount_received").isInteger()
                            ? pi->getValue<int64_t>("amount_received")
                            : 0;
  if (currency != svc.ledger->currency() || minor <= 0) {
    spdlog::error(
        "stripe: PaymentIntent {} for tenant {} received {} {}; the wallet is in {}: not "
        "credited, credit it by hand",
        id, tenant_id, minor, currency, svc.ledger->currency());
    return answer(type, "ignored", "amount or currency the wallet cannot take");
  }
  // In the currency's minor unit (cents; yen for JPY), as Stripe counts.
  const int64_t micros = tollgate::sdk::fromMinorUnits(minor, currency).value_or(0);
  if (micros <= 0) return answer(type, "ignored", "amount out of range");
  const storage::LedgerEntryIn entry{.kind = TG_ENTRY_TOPUP,
                                     .amount_micros = micros,
                                     .reference = id,
                                     .description = "Stripe top-up"};
  const storage::ApplyResult res =
      svc.store->applyLedger(tenant_id, svc.ledger->currency(),
                             paymentLedgerKey("billing-stripe", id), {entry}, tenancy::nowMs());
  if (res.outcome == TG_APPLY_ALREADY_APPLIED) return answer(type, "already credited", id);
  spdlog::info("stripe: credited {} micros to tenant {} for PaymentIntent {}", micros, tenant_id,
               id);
  return answer(type, "credited", id);
}

// charge.refunded: money went back to the card, so the wallet gives it up: a debit of what this
// event refunded (amount_refunded less previous_attributes.amount_refunded), keyed by the
// charge and its new refunded total, so a redelivery, or another event of the same state,
// debits nothing more.
http::Response refunded(Services& svc, const std::string& type, const Object::Ptr& charge,
                        const Object::Ptr& previous) {
  const std::string id = text(charge, "id");
  const std::string tenant_id = text(object(charge, "metadata"), "tenant_id");
  if (id.empty() || tenant_id.empty()) return answer(type, "ignored", "no metadata[tenant_id]");
  if (!svc.tenants->get(tenant_id)) return answer(type, "ignored", "unknown tenant");
  const auto integer = [](const Object::Ptr& o, const std::string& key) -> std::optional<int64_t> {
    if (!o || !o->has(key) || !o->get(key).isInteger()) return std::nullopt;
    return o->getValue<int64_t>(key);
  };
  const auto total = integer(charge, "amount_refunded");
  const auto before = integer(previous, "amount_refunded");
  if (!total || !before) {
    spdlog::error(
        "stripe: {} for charge {} of tenant {} has no amount_refunded before and "
        "after: not debited, debit it by hand",
        type, id, tenant_id);
    return answer(type, "ignored", "what this refund added is not in the event");
  }
  std::string currency = text(charge, "currency");
  for (char& c : currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto micros = tollgate::sdk::fromMinorUnits(*total - *before, currency);
  if (currency != svc.ledger->currency() || !micros || *micros <= 0) {
    return answer(type, "ignored", "nothing the wallet can give up");
  }
  const storage::LedgerEntryIn entry{.kind = TG_ENTRY_ADJUSTMENT,
                                     .amount_micros = -*micros,
                                     .reference = id,
                                     .description = "Stripe refund of a top-up"};
  const storage::ApplyResult res = svc.store->applyLedger(
      tenant_id, svc.ledger->currency(), "stripe-refund:" + id + ":" + std::to_string(*total),
      {entry}, tenancy::nowMs());
  if (res.outcome == TG_APPLY_ALREADY_APPLIED) return answer(type, "already debited", id);
  if (res.outcome == TG_APPLY_INSUFFICIENT_FUNDS) {
    spdlog::error(
        "stripe: refund of {} micros on charge {} not debited: tenant {}'s balance of {} "
        "cannot take it",
        *micros, id, tenant_id, res.balance_micros);
    return answer(type, "not debited", "insufficient funds");
  }
  spdlog::info("stripe: debited {} micros from tenant {} for a refund on charge {}", *micros,
               tenant_id, id);
  return answer(type, "debited", id);
}

http::Response subscription(Services& svc, const std::string& type, const Object::Ptr& sub) {
  const std::string tenant_id = text(object(sub, "metadata"), "tenant_id");
  const std::string status = text(sub, "status");
  if (tenant_id.empty()) return answer(type, "ignored", "no metadata[tenant_id]");
  const auto tenant = svc.tenants->get(tenant_id);
  if (!tenant) return answer(type, "ignored", "unknown tenant");
  const bool live =
      type != "customer.subscription.deleted" && (status == "active" || status == "trialing");
  const bool ended = type == "customer.subscription.deleted" || status == "canceled" ||
                     status == "unpaid" || status == "incomplete_expired";
  if (live) {
    svc.tenants->setStatus(tenant_id, TG_TENANT_ACTIVE);
    spdlog::info("stripe: subscription {} of tenant {} is {}: tenant active; provisioning",
                 text(sub, "id"), tenant_id, status);
    for (const auto& hook : svc.provisioning) hook(tenant_id);
    return answer(type, "activated", tenant_id);
  }
  if (ended) {
    svc.tenants->setStatus(tenant_id, TG_TENANT_SUSPENDED);
    spdlog::warn("stripe: subscription {} of tenant {} is {}: tenant suspended", text(sub, "id"),
                 tenant_id, type == "customer.subscription.deleted" ? "deleted" : status);
    return answer(type, "suspended", tenant_id);
  }
  return answer(type, "ignored", "status " + status);
}

}  // namespace

std::string checkStripeSignature(std::string_view header, std::string_view payload,
                                 const std::vector<std::string>& secrets, int64_t now_s,
                                 int64_t tolerance_s) {
  if (header.empty()) return "no Stripe-Signature header";
  std::string_view timestamp;
  std::vector<std::string_view> v1;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view scheme = item.substr(0, eq), value = item.substr(eq + 1);
    if (scheme == "t") timestamp = value;
    if (scheme == "v1") v1.push_back(value);
  }
  int64_t t = 0;
  const auto parsed = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), t);
  if (timestamp.empty() || parsed.ec != std::errc() ||
      parsed.ptr != timestamp.data() + timestamp.size()) {
    return "Stripe-Signature has no timestamp (t=)";
  }
  if (v1.empty()) return "Stripe-Signature has no v1 signature";
  if (t < now_s - tolerance_s || t > now_s + tolerance_s) {
    return fmt::format(
        "Stripe-Signature timestamp {} is {} s from now, outside the tolerance of {} s", t,
        now_s - t, tolerance_s);
  }
  std::string signed_payload(timestamp);
  signed_payload += '.';
  signed_payload += payload;
  for (const std::string& secret : secrets) {
    const std::string expected = hmacSha256Hex(secret, signed_payload);
    for (const std::string_view sig : v1) {
      if (sig.size() == expected.size() &&
          CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) == 0) {
        return "";
      }
    }
  }
  return "no v1 signature matches the payload with the endpoint's secret";
}

std::vector<std::string> loadStripeSecrets(const std::string& file) {
  std::ifstream in(file);
  if (!in)
    throw std::runtime_error(fmt::format("stripe.webhook_secret_file: cannot read {}", file));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  if (out.empty()) {
    throw std::runtime_error(
        fmt::format("stripe.webhook_secret_file: {} holds no secret (whsec_...)", file));
  }
  return out;
}

void addStripeWebhookRoutes(http::Router& router, Services& svc) {
  router.add("POST", "/stripe/webhook", [&svc](http::Request& r) {
    svc.requireReady();
    if (svc.stripe_webhook_secrets.empty()) {
      throw http::ApiError(404, "not_found",
                           "Stripe webhooks are not configured (stripe.webhook_secret_file)");
    }
    const int64_t now_s = tenancy::nowMs() / 1000;
    const std::string why =
        checkStripeSignature(r.header("Stripe-Signature"), r.body(), svc.stripe_webhook_secrets,
                             now_s, svc.config->stripe_webhook_tolerance.count());
    if (!why.empty()) {
      svc.stripe_bad_signatures.fetch_add(1, std::memory_order_relaxed);
      // Anyone can post here: the warning goes through a limit, so a flood cannot flood the log.
      static ops::LogLimiter limit(1.0, 10.0);
      uint64_t dropped = 0;
      if (limit.allow(dropped)) {
        spdlog::warn("stripe: webhook from {} refused: {}{}", ops::untrusted(r.peer()), why,
                     dropped > 0 ? fmt::format(" ({} more refused, not logged)", dropped) : "");
      }
      throw http::ApiError(400, "bad_signature", why, "Stripe-Signature");
    }
    Object::Ptr event;
    try {
      event = Poco::JSON::Parser().parse(r.body()).extract<Object::Ptr>();
    } catch (const Poco::Exception&) {
      throw http::ApiError(400, "invalid_argument", "the event is not a JSON object");
    }
    const std::string id = text(event, "id"), type = text(event, "type");
    const Object::Ptr obj = object(object(event, "data"), "object");
    if (id.empty() || type.empty() || !obj) {
      throw http::ApiError(400, "invalid_argument", "an event has id, type and data.object");
    }
    // A repeat of an event handled before is answered as handled, and nothing is done again.
    const auto earlier =
        svc.store->claimIdempotency(storage::IdempotencyRecord{.tenant_id = "",
                                                               .scope = "stripe-event",
                                                               .key = id,
                                                               .request_hash = "",
                                                               .response_status = 0,
                                                               .response_body = "",
                                                               .created_at_ms = tenancy::nowMs()});
    if (earlier && earlier->response_status != 0) {
      return http::Response{.status = earlier->response_status,
                            .content_type = "application/json",
                            .body = earlier->response_body,
                            .headers = {}};
    }
    // Not handled before, or a delivery in flight or one that crashed: act (every effect is
    // idempotent on its own), then record it.
    http::Response out = answer(type, "ignored");
    // An auto-recharge left pending: its lease ends with the payment (auto_recharge.hpp).
    auto settle = [&](bool succeeded, const std::string& why) {
      const Object::Ptr metadata = object(obj, "metadata");
      const std::string tenant = text(metadata, "tenant_id");
      if (svc.recharge && !tenant.empty() && svc.tenants->get(tenant)) {
        svc.recharge->settled(tenant, text(metadata, "tollgate_key"), succeeded, why);
      }
    };
    if (type == "payment_intent.succeeded") {
      out = topUp(svc, type, obj);
      settle(true, "");
    } else if (type == "payment_intent.payment_failed") {
      const Object::Ptr err = object(obj, "last_payment_error");
      spdlog::warn("stripe: PaymentIntent {} of tenant '{}' failed: {} {}", text(obj, "id"),
                   text(object(obj, "metadata"), "tenant_id"), text(err, "code"),
                   text(err, "message"));
      settle(false, text(err, "code") + ": " + text(err, "message"));
      out = answer(type, "recorded");
    } else if (type == "charge.refunded") {
      out = refunded(svc, type, obj, object(object(event, "data"), "previous_attributes"));
    } else if (type.rfind("customer.subscription.", 0) == 0) {
      out = subscription(svc, type, obj);
    }
    svc.store->completeIdempotency("", "stripe-event", id, out.status, out.body);
    return out;
  });
}

}  // namespace tollgate::billing
