// Wallet API: a tenant's prepaid wallet, its ledger, holds and usage. Admin: see any tenant's,
// credit and debit it with a reason, reserve, capture and release holds, verify the ledger.
// Tenant: see its own.
#include <Poco/JSON/Array.h>
#include <Poco/NumberParser.h>
#include <fmt/format.h>
#include <tollgate/sdk/money.hpp>

#include <array>
#include <chrono>
#include <map>
#include <regex>

#include "billing/billing.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "ledger/ledger.hpp"
#include "plugins/plugin_host.hpp"

namespace tollgate::http {
namespace {

constexpr size_t kMaxReason = 200;
constexpr size_t kMaxKey = 100;
// One move at most a billion currency units: larger is a typo or an attack on the balance's
// int64, refused naming the field.
constexpr int64_t kMaxMoveMicros = 1'000'000'000'000'000;

// The API's names of entry kinds (abi/storage.h), indexed by kind.
constexpr std::array<std::string_view, TG_ENTRY_KIND_MAX + 1> kKindNames = {
    "unknown",   "topup",       "charge",          "refund",        "adjustment",
    "sms_usage", "voice_usage", "number_purchase", "number_rental",
};

std::string_view kindName(tg_entry_kind k) {
  return k >= TG_ENTRY_TOPUP && k <= TG_ENTRY_KIND_MAX ? kKindNames[k] : kKindNames[0];
}

// The kind a `type` parameter names; 0 for none given; a 400 naming `field` otherwise.
tg_entry_kind kindParam(const std::string& value, const std::string& field) {
  if (value.empty()) return 0;
  for (tg_entry_kind k = TG_ENTRY_TOPUP; k <= TG_ENTRY_KIND_MAX; ++k) {
    if (kKindNames[k] == value) return k;
  }
  throw ApiError(400, "invalid_argument",
                 fmt::format("'{}' must be one of topup, charge, refund, adjustment, sms_usage, "
                             "voice_usage, number_purchase, number_rental",
                             field),
                 field);
}

constexpr std::array<std::string_view, 5> kHoldStatusNames = {"unknown", "active", "captured",
                                                              "released", "expired"};

std::string_view holdStatusName(tg_hold_status s) {
  return s >= TG_HOLD_ACTIVE && s <= TG_HOLD_EXPIRED ? kHoldStatusNames[s] : kHoldStatusNames[0];
}

Poco::JSON::Object walletJson(const storage::Wallet& w) {
  Poco::JSON::Object o;
  o.set("tenant_id", w.tenant_id);
  o.set("currency", w.currency);
  o.set("balance_micros", w.balance_micros);
  o.set("held_micros", w.held_micros);
  o.set("available_micros", w.availableMicros());
  o.set("credit_limit_micros", w.credit_limit_micros);
  o.set("created_at_ms", w.created_at_ms);
  return o;
}

Poco::JSON::Object holdJson(const storage::Hold& h) {
  Poco::JSON::Object o;
  o.set("hold_id", h.hold_id);
  o.set("currency", h.currency);
  o.set("status", std::string(holdStatusName(h.status)));
  o.set("amount_micros", h.amount_micros);
  o.set("captured_micros", h.captured_micros);
  if (h.entry_seq != 0) o.set("entry_seq", h.entry_seq);
  o.set("reference", h.reference);
  o.set("expires_at_ms", h.expires_at_ms);
  o.set("created_at_ms", h.created_at_ms);
  o.set("updated_at_ms", h.updated_at_ms);
  return o;
}

uint32_t limitParam(Request& r) {
  unsigned limit = 0;
  if (!Poco::NumberParser::tryParseUnsigned(r.query("limit", "100"), limit) || limit == 0 ||
      limit > 1000) {
    throw ApiError(400, "invalid_argument", "'limit' must be an integer from 1 to 1000", "limit");
  }
  return limit;
}

Poco::JSON::Object entryJson(const storage::LedgerEntry& e) {
  Poco::JSON::Object o;
  o.set("seq", e.seq);
  o.set("type", std::string(kindName(e.kind)));
  o.set("amount_micros", e.amount_micros);
  o.set("balance_after_micros", e.balance_after_micros);
  o.set("idempotency_key", e.idempotency_key);
  o.set("reference", e.reference);
  o.set("description", e.description);
  o.set("created_at_ms", e.created_at_ms);
  return o;
}

storage::Wallet walletOf(Services& svc, const std::string& tenant_id) {
  auto w = svc.ledger->wallet(tenant_id);
  if (!w) {
    throw ApiError(404, "not_found",
                   fmt::format("tenant '{}' has no {} wallet", tenant_id, svc.ledger->currency()),
                   "tenant_id");
  }
  return *w;
}

// The entries, in seq order, filtered by type and time ([from, to)), paged by after_seq.
Response entriesPage(Services& svc, Request& r, const std::string& tenant_id) {
  const storage::Wallet w = walletOf(svc, tenant_id);
  Poco::Int64 after = 0;
  if (!Poco::NumberParser::tryParse64(r.query("after_seq", "0"), after) || after < 0) {
    throw ApiError(400, "invalid_argument", "'after_seq' must be an integer >= 0", "after_seq");
  }
  const uint32_t limit = limitParam(r);
  const storage::LedgerQuery q{.currency = w.currency,
                               .after_seq = after,
                               .limit = limit,
                               .kind = kindParam(r.query("type"), "type"),
                               .from_ms = timeParam(r, "from"),
                               .to_ms = timeParam(r, "to"),
                               .bucket_ms = 0};
  const bool filtered = q.kind != 0 || q.from_ms != 0 || q.to_ms != 0;
  const auto rows = filtered ? svc.store->queryLedger(w.tenant_id, q)
                             : svc.store->ledger(w.tenant_id, w.currency, after, limit);
  Poco::JSON::Array list;
  for (const auto& e : rows) list.add(entryJson(e));
  Poco::JSON::Object out;
  out.set("currency", w.currency);
  out.set("entries", list);
  if (rows.size() == limit) out.set("next_after_seq", rows.back().seq);
  return Response::json(200, out);
}

// A payment a provider did not take, as the API's error: its own 400 names the field it named,
// a decline is 402, a provider that did not answer 503, anything else 502.
void requireSucceeded(const billing::Payment& p, const plugins::Plugin& provider) {
  if (p.status == TG_OK && p.state == TG_PAYMENT_SUCCEEDED) return;
  if (p.status == TG_ERR_INVALID_ARGUMENT) {
    const auto colon = p.error.find(':');
    throw ApiError(400, "invalid_argument", p.error,
                   colon == std::string::npos ? std::string() : p.error.substr(0, colon));
  }
  if (p.status == TG_ERR_UNAVAILABLE || p.status == TG_ERR_DEADLINE) {
    throw ApiError(503, "unavailable", p.error);
  }
  if (p.status == TG_OK && p.state == TG_PAYMENT_FAILED) {
    throw ApiError(402, "payment_failed",
                   fmt::format("{} declined the payment: {}", provider.id(), p.failure));
  }
  if (p.status == TG_OK) {
    throw ApiError(502, "payment_pending",
                   fmt::format("{} has not confirmed the payment yet", provider.id()));
  }
  throw ApiError(502, "payment_failed", fmt::format("{}: {}", provider.id(), p.error));
}

// An admin credit (a top-up) or debit (an adjustment), with the reason it is made for. The
// key makes a retry safe: a repeat answers as the first apply did, and a key reused for
// another amount or reason is refused.
Response adminMove(Services& svc, Request& r, bool credit) {
  const std::string tenant_id = r.param("id");
  if (!svc.tenants->get(tenant_id)) {
    throw ApiError(404, "not_found", fmt::format("no tenant '{}'", tenant_id), "tenant_id");
  }
  const storage::Wallet w = walletOf(svc, tenant_id);
  auto body = r.jsonBody();
  if (!body->has("amount_micros") || !body->get("amount_micros").isInteger()) {
    throw ApiError(400, "invalid_argument", "'amount_micros' must be an integer", "amount_micros");
  }
  const int64_t amount = body->getValue<Poco::Int64>("amount_micros");
  if (amount <= 0 || amount > kMaxMoveMicros) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'amount_micros' must be from 1 to {}", kMaxMoveMicros),
                   "amount_micros");
  }
  const std::string reason = requireString(*body, "reason", kMaxReason);
  if (reason.empty()) {
    throw ApiError(400, "invalid_argument", "'reason' must not be empty", "reason");
  }
  const std::string key = requireString(*body, "idempotency_key", kMaxKey);
  if (key.empty()) {
    throw ApiError(400, "invalid_argument", "'idempotency_key' must not be empty",
                   "idempotency_key");
  }
  const int64_t signed_amount = credit ? amount : -amount;
  // One key space per kind of move, so that a credit and a debit never answer for each other.
  const std::string ledger_key = (credit ? "admin-credit:" : "admin-debit:") + key;
  // A credit is money the tenant paid some other way: with billing-manual enabled it is first
  // recorded as its payment, under the same key, and the entry names that payment. Its repeat
  // answers the same reference, so a retry after a crash in between credits once.
  std::string reference = "admin";
  plugins::Plugin* manual = credit ? svc.billing->provider("billing-manual") : nullptr;
  if (manual != nullptr) {
    const billing::Payment p =
        svc.billing->charge(*manual, billing::ChargeRequest{.tenant_id = tenant_id,
                                                            .request_id = r.requestId(),
                                                            .customer_ref = tenant_id,
                                                            .amount_micros = amount,
                                                            .currency = w.currency,
                                                            .idempotency_key = ledger_key,
                                                            .description = reason});
    requireSucceeded(p, *manual);
    reference = p.provider_ref;
  }
  const storage::LedgerEntryIn entry{.kind = credit ? TG_ENTRY_TOPUP : TG_ENTRY_ADJUSTMENT,
                                     .amount_micros = signed_amount,
                                     .reference = reference,
                                     .description = reason};
  const storage::ApplyResult res =
      svc.store->applyLedger(tenant_id, w.currency, ledger_key, {entry}, tenancy::nowMs());
  if (res.outcome == TG_APPLY_INSUFFICIENT_FUNDS) {
    throw ApiError(402, "insufficient_funds",
                   fmt::format("a debit of {} would take the balance of {} below -{} (the credit "
                               "limit)",
                               amount, res.balance_micros, w.credit_limit_micros),
                   "amount_micros");
  }
  if (res.outcome == TG_APPLY_ALREADY_APPLIED) {
    const auto first = svc.store->ledger(tenant_id, w.currency, res.first_seq - 1, 1);
    if (first.empty() || first.front().seq != res.first_seq ||
        first.front().amount_micros != signed_amount || first.front().description != reason) {
      throw ApiError(409, "conflict",
                     fmt::format("idempotency_key '{}' was used for another amount or reason", key),
                     "idempotency_key");
    }
  }
  Poco::JSON::Object out;
  out.set("tenant_id", tenant_id);
  out.set("currency", w.currency);
  out.set("amount_micros", signed_amount);
  out.set("balance_after_micros", res.balance_micros);
  out.set("entry_seq", res.first_seq);
  out.set("idempotency_key", key);
  return Response::json(201, out);
}

Response holdsPage(Services& svc, Request& r, const std::string& tenant_id) {
  const storage::Wallet w = walletOf(svc, tenant_id);
  storage::HoldQuery q{.currency = w.currency,
                       .status = 0,
                       .hold_id = "",
                       .after_id = r.query("after"),
                       .limit = limitParam(r)};
  if (const std::string status = r.query("status"); !status.empty()) {
    for (tg_hold_status s = TG_HOLD_ACTIVE; s <= TG_HOLD_EXPIRED; ++s) {
      if (kHoldStatusNames[s] == status) q.status = s;
    }
    if (q.status == 0) {
      throw ApiError(400, "invalid_argument",
                     "'status' must be one of active, captured, released, expired", "status");
    }
  }
  if (q.after_id.size() > 255) {
    throw ApiError(400, "invalid_argument", "'after' is not one this API returned", "after");
  }
  const auto rows = svc.store->holds(w.tenant_id, q);
  Poco::JSON::Array list;
  for (const auto& h : rows) list.add(holdJson(h));
  Poco::JSON::Object out;
  out.set("currency", w.currency);
  out.set("held_micros", w.held_micros);
  out.set("holds", list);
  if (rows.size() == q.limit) out.set("next_after", rows.back().hold_id);
  return Response::json(200, out);
}

// Usage by period (UTC days or months) and by type, from the ledger: count and signed total of
// the entries of each type in each period, and the period's net total. Empty periods are left
// out. The storage sums whole days; months are folded from them here.
Response usageSummary(Services& svc, Request& r, const std::string& tenant_id) {
  using namespace std::chrono;
  const storage::Wallet w = walletOf(svc, tenant_id);
  const std::string period = r.query("period", "day");
  if (period != "day" && period != "month") {
    throw ApiError(400, "invalid_argument", "'period' must be day or month", "period");
  }
  const std::string by = r.query("by", "type");
  if (by != "type" && by != "country") {
    throw ApiError(400, "invalid_argument", "'by' must be type or country", "by");
  }
  const storage::LedgerQuery q{.currency = w.currency,
                               .after_seq = 0,
                               .limit = 0,
                               .kind = kindParam(r.query("type"), "type"),
                               .from_ms = timeParam(r, "from"),
                               .to_ms = timeParam(r, "to"),
                               .bucket_ms = duration_cast<milliseconds>(days(1)).count(),
                               .by_country = by == "country"};
  if (q.to_ms != 0 && q.to_ms <= q.from_ms) {
    throw ApiError(400, "invalid_argument", "'to' must be after 'from'", "to");
  }
  struct Totals {
    int64_t count = 0, total = 0;
  };
  // period start -> country ("" unless by country) -> kind -> totals, all ordered.
  std::map<int64_t, std::map<std::string, std::map<tg_entry_kind, Totals>>> periods;
  for (const storage::SummaryRow& row : svc.store->summarizeLedger(w.tenant_id, q)) {
    int64_t start = row.bucket_start_ms;
    if (period == "month") {
      const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(start)))};
      start = duration_cast<milliseconds>(sys_days(ymd.year() / ymd.month() / 1).time_since_epoch())
                  .count();
    }
    Totals& t = periods[start][row.country][row.kind];
    t.count += row.entry_count;
    t.total += row.total_micros;
  }
  Poco::JSON::Array list;
  // {"by_type": {...}, "net_micros"} of one period (and country).
  auto totalsJson = [](const std::map<tg_entry_kind, Totals>& kinds, Poco::JSON::Object& into) {
    Poco::JSON::Object by_type;
    int64_t net = 0;
    for (const auto& [kind, t] : kinds) {
      Poco::JSON::Object k;
      k.set("count", t.count);
      k.set("total_micros", t.total);
      by_type.set(std::string(kindName(kind)), k);
      net += t.total;
    }
    into.set("by_type", by_type);
    into.set("net_micros", net);
  };
  for (const auto& [start, countries] : periods) {
    Poco::JSON::Object p;
    const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(start)))};
    p.set("start_ms", start);
    p.set("start", period == "month"
                       ? fmt::format("{:04d}-{:02d}", int(ymd.year()), unsigned(ymd.month()))
                       : fmt::format("{:04d}-{:02d}-{:02d}", int(ymd.year()), unsigned(ymd.month()),
                                     unsigned(ymd.day())));
    if (by == "country") {
      // Entries of no country (top-ups, adjustments) under "none".
      Poco::JSON::Object by_country;
      int64_t net = 0;
      for (const auto& [country, kinds] : countries) {
        Poco::JSON::Object c;
        totalsJson(kinds, c);
        net += c.getValue<int64_t>("net_micros");
        by_country.set(country.empty() ? std::string("none") : country, c);
      }
      p.set("by_country", by_country);
      p.set("net_micros", net);
    } else {
      totalsJson(countries.begin()->second, p);
    }
    list.add(p);
  }
  Poco::JSON::Object out;
  out.set("currency", w.currency);
  out.set("period", period);
  out.set("by", by);
  out.set("periods", list);
  return Response::json(200, out);
}

// ---- billing profile and auto-recharge ----

void requireProfiles(Services& svc) {
  if (!svc.store->hasBillingProfiles()) {
    throw ApiError(501, "unsupported",
                   "the storage plugin keeps no billing profiles (it needs plugin ABI 1.6)");
  }
}

storage::BillingProfile profileOf(Services& svc, const storage::Wallet& w) {
  requireProfiles(svc);
  if (auto p = svc.store->billingProfile(w.tenant_id, w.currency)) return *p;
  const int64_t now = tenancy::nowMs();
  return storage::BillingProfile{
      .tenant_id = w.tenant_id, .currency = w.currency, .created_at_ms = now, .updated_at_ms = now};
}

Poco::JSON::Object rechargeJson(const storage::BillingProfile& p) {
  Poco::JSON::Object o;
  o.set("currency", p.currency);
  o.set("enabled", p.recharge_amount_micros > 0);
  o.set("threshold_micros", p.recharge_threshold_micros);
  o.set("amount_micros", p.recharge_amount_micros);
  o.set("provider", p.provider);
  o.set("in_flight", p.recharge_in_flight);
  o.set("failures", p.recharge_failures);
  o.set("last_error", p.recharge_last_error);
  if (p.recharge_retry_at_ms != 0) o.set("retry_at_ms", p.recharge_retry_at_ms);
  if (p.recharge_started_at_ms != 0) o.set("last_started_at_ms", p.recharge_started_at_ms);
  return o;
}

int64_t micros(const Poco::JSON::Object& body, const std::string& field, int64_t min) {
  if (!body.has(field) || !body.get(field).isInteger()) {
    throw ApiError(400, "invalid_argument", fmt::format("'{}' must be an integer", field), field);
  }
  const int64_t v = body.getValue<Poco::Int64>(field);
  if (v < min || v > kMaxMoveMicros) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'{}' must be from {} to {}", field, min, kMaxMoveMicros), field);
  }
  return v;
}

// {"enabled": true, "threshold_micros": ..., "amount_micros": ...} or {"enabled": false}. The
// amount must be one the provider can charge: a whole number of the currency's minor unit.
Response putRecharge(Services& svc, Request& r, const std::string& tenant_id) {
  const storage::Wallet w = walletOf(svc, tenant_id);
  storage::BillingProfile p = profileOf(svc, w);
  auto body = r.jsonBody();
  if (!body->has("enabled") || !body->get("enabled").isBoolean()) {
    throw ApiError(400, "invalid_argument", "'enabled' must be true or false", "enabled");
  }
  if (body->getValue<bool>("enabled")) {
    p.recharge_threshold_micros = micros(*body, "threshold_micros", 0);
    p.recharge_amount_micros = micros(*body, "amount_micros", 1);
    if (!sdk::toMinorUnits(p.recharge_amount_micros, w.currency)) {
      throw ApiError(
          400, "invalid_argument",
          fmt::format("'amount_micros' must be a whole number of {}'s minor unit", w.currency),
          "amount_micros");
    }
    if (p.provider.empty() || p.customer_ref.empty()) {
      throw ApiError(409, "no_payment_method",
                     "no billing customer to charge: add a payment method first", "enabled");
    }
    if (svc.billing->provider(p.provider) == nullptr) {
      throw ApiError(409, "provider_not_loaded",
                     fmt::format("billing provider '{}' is not loaded", p.provider), "enabled");
    }
  } else {
    p.recharge_amount_micros = 0;
  }
  p.updated_at_ms = tenancy::nowMs();
  svc.store->putBillingProfile(p);
  // A wallet already under its new threshold is recharged now, not at its next debit.
  if (svc.recharge && p.recharge_amount_micros > 0) svc.recharge->spent(tenant_id);
  return Response::json(200, rechargeJson(*svc.store->billingProfile(tenant_id, w.currency)));
}

Poco::JSON::Object billingJson(const storage::BillingProfile& p) {
  Poco::JSON::Object o;
  o.set("tenant_id", p.tenant_id);
  o.set("currency", p.currency);
  o.set("provider", p.provider);
  o.set("customer_ref", p.customer_ref);
  return o;
}

// Admin: the billing customer a tenant's wallet is paid by, e.g. a Stripe customer made
// outside Tollgate. {"provider": "billing-stripe", "customer_ref": "cus_..."}.
Response putBilling(Services& svc, Request& r) {
  const storage::Wallet w = walletOf(svc, r.param("id"));
  storage::BillingProfile p = profileOf(svc, w);
  auto body = r.jsonBody();
  const std::string provider = requireString(*body, "provider", 100);
  if (svc.billing->provider(provider) == nullptr) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'provider' must be a loaded billing plugin; '{}' is not", provider),
                   "provider");
  }
  static const std::regex kRef("[A-Za-z0-9_.:-]{1,200}");
  const std::string customer = requireString(*body, "customer_ref", 200);
  if (!std::regex_match(customer, kRef)) {
    throw ApiError(400, "invalid_argument",
                   "'customer_ref' must be 1 to 200 letters, digits, '_', '.', ':' or '-'",
                   "customer_ref");
  }
  p.provider = provider;
  p.customer_ref = customer;
  p.updated_at_ms = tenancy::nowMs();
  svc.store->putBillingProfile(p);
  return Response::json(200, billingJson(p));
}

// ---- payment methods and top-ups (the tenant's own) ----

// The provider a tenant's cards are kept by: its profile's, else the one provider loaded that
// is not billing-manual (which takes no cards).
plugins::Plugin& cardProvider(Services& svc, const storage::BillingProfile& p) {
  if (!p.provider.empty()) {
    if (plugins::Plugin* named = svc.billing->provider(p.provider)) return *named;
    throw ApiError(409, "provider_not_loaded",
                   fmt::format("billing provider '{}' is not loaded", p.provider));
  }
  plugins::Plugin* only = nullptr;
  for (const std::string& id : svc.billing->providerIds()) {
    if (id == "billing-manual") continue;
    if (only != nullptr) {
      throw ApiError(409, "no_billing_customer",
                     "several billing providers are loaded: an admin links the tenant to one "
                     "(PUT /admin/v1/tenants/{id}/billing)");
    }
    only = svc.billing->provider(id);
  }
  if (only == nullptr) {
    throw ApiError(409, "no_billing_provider", "no billing provider that keeps cards is loaded");
  }
  return *only;
}

// A provider's refusal as the API's error; `field` is the API's name of what the provider
// calls method_ref.
[[noreturn]] void refused(tg_status status, const std::string& error, const std::string& field) {
  switch (status) {
    case TG_ERR_INVALID_ARGUMENT:
      throw ApiError(400, "invalid_argument", error, field);
    case TG_ERR_NOT_FOUND:
      throw ApiError(404, "not_found", error, field);
    case TG_ERR_UNAVAILABLE:
    case TG_ERR_DEADLINE:
    case TG_ERR_OUTCOME_UNKNOWN:
      throw ApiError(503, "unavailable", error);
    case TG_ERR_UNSUPPORTED:
      throw ApiError(501, "unsupported", error);
    default:
      throw ApiError(502, "provider_error", error);
  }
}

Poco::JSON::Object methodJson(const billing::PaymentMethod& m) {
  Poco::JSON::Object o;
  o.set("id", m.ref);
  o.set("brand", m.brand);
  o.set("last4", m.last4);
  o.set("exp_month", m.exp_month);
  o.set("exp_year", m.exp_year);
  o.set("default", m.is_default);
  return o;
}

billing::Methods methodsCall(Services& svc, Request& r, plugins::Plugin& provider,
                             const storage::BillingProfile& p, tg_payment_method_action action,
                             const std::string& method, bool make_default) {
  // Setting a default or detaching is the same whenever repeated; each request gets a key of its
  // own so that Stripe never answers it with an earlier request's answer.
  const billing::Methods m = svc.billing->paymentMethods(
      provider, billing::MethodsRequest{.tenant_id = p.tenant_id,
                                        .request_id = r.requestId(),
                                        .customer_ref = p.customer_ref,
                                        .action = action,
                                        .method_ref = method,
                                        .make_default = make_default,
                                        .idempotency_key = fmt::format("pm:{}:{}:{}", p.tenant_id,
                                                                       method, r.requestId())});
  if (m.status != TG_OK) refused(m.status, m.error, action == TG_PM_ATTACH ? "token" : "id");
  return m;
}

Response methodsAnswer(const billing::Methods& m, int status) {
  Poco::JSON::Array list;
  for (const auto& pm : m.methods) list.add(methodJson(pm));
  Poco::JSON::Object out;
  out.set("payment_methods", list);
  return Response::json(status, out);
}

Response listMethods(Services& svc, Request& r, const std::string& tenant_id) {
  const storage::BillingProfile p = profileOf(svc, walletOf(svc, tenant_id));
  if (p.customer_ref.empty()) return methodsAnswer({}, 200);
  return methodsAnswer(methodsCall(svc, r, cardProvider(svc, p), p, TG_PM_LIST, "", false), 200);
}

// {"token": "pm_...", "default": true}: a card the tenant's browser gave the provider (Stripe.js
// makes the token; no card number ever reaches Tollgate). The tenant becomes the provider's
// customer first if it is not one yet.
Response addMethod(Services& svc, Request& r, const storage::Tenant& tenant) {
  storage::BillingProfile p = profileOf(svc, walletOf(svc, tenant.id));
  auto body = r.jsonBody();
  const std::string token = requireString(*body, "token", 200);
  if (token.empty()) throw ApiError(400, "invalid_argument", "'token' must not be empty", "token");
  bool make_default = false;
  if (body->has("default")) {
    if (!body->get("default").isBoolean()) {
      throw ApiError(400, "invalid_argument", "'default' must be true or false", "default");
    }
    make_default = body->getValue<bool>("default");
  }
  plugins::Plugin& provider = cardProvider(svc, p);
  if (p.customer_ref.empty()) {
    const billing::Payment c =
        svc.billing->registerCustomer(provider, billing::ChargeRequest{.tenant_id = tenant.id,
                                                                       .request_id = r.requestId(),
                                                                       .description = tenant.name});
    if (c.status != TG_OK) refused(c.status, c.error, "");
    if (c.provider_ref.empty()) {
      throw ApiError(502, "provider_error",
                     fmt::format("{} registered no customer", provider.id()));
    }
    p.provider = provider.id();
    p.customer_ref = c.provider_ref;
    p.updated_at_ms = tenancy::nowMs();
    svc.store->putBillingProfile(p);
  }
  // A first card is the default whatever was asked: a charge needs one.
  if (!make_default) {
    make_default = methodsCall(svc, r, provider, p, TG_PM_LIST, "", false).methods.empty();
  }
  return methodsAnswer(methodsCall(svc, r, provider, p, TG_PM_ATTACH, token, make_default), 201);
}

Response changeMethod(Services& svc, Request& r, const std::string& tenant_id,
                      tg_payment_method_action action) {
  const storage::BillingProfile p = profileOf(svc, walletOf(svc, tenant_id));
  const std::string id = r.param("method_id");
  if (p.customer_ref.empty()) {
    throw ApiError(404, "not_found", fmt::format("no payment method '{}'", id), "id");
  }
  return methodsAnswer(methodsCall(svc, r, cardProvider(svc, p), p, action, id, false), 200);
}

// {"amount_micros": ..., "idempotency_key": "..."}: charges the default card now. The same key
// again charges nothing more (the provider answers with the first payment, which is credited
// once, under the key its webhook credits it by).
Response topUp(Services& svc, Request& r, const std::string& tenant_id) {
  const storage::Wallet w = walletOf(svc, tenant_id);
  const storage::BillingProfile p = profileOf(svc, w);
  auto body = r.jsonBody();
  const int64_t amount = micros(*body, "amount_micros", 1);
  if (!sdk::toMinorUnits(amount, w.currency)) {
    throw ApiError(
        400, "invalid_argument",
        fmt::format("'amount_micros' must be a whole number of {}'s minor unit", w.currency),
        "amount_micros");
  }
  const std::string key = requireString(*body, "idempotency_key", kMaxKey);
  if (key.empty()) {
    throw ApiError(400, "invalid_argument", "'idempotency_key' must not be empty",
                   "idempotency_key");
  }
  if (p.customer_ref.empty()) {
    throw ApiError(409, "no_payment_method", "no card to charge: add a payment method first");
  }
  plugins::Plugin& provider = cardProvider(svc, p);
  const billing::Payment paid = svc.billing->charge(
      provider, billing::ChargeRequest{.tenant_id = tenant_id,
                                       .request_id = r.requestId(),
                                       .customer_ref = p.customer_ref,
                                       .amount_micros = amount,
                                       .currency = w.currency,
                                       .idempotency_key = "topup:" + tenant_id + ":" + key,
                                       .description = "Tollgate top-up"});
  Poco::JSON::Object out;
  out.set("currency", w.currency);
  out.set("amount_micros", amount);
  out.set("idempotency_key", key);
  if (paid.status == TG_OK && paid.state == TG_PAYMENT_PENDING) {
    out.set("status", "pending");
    out.set("payment_ref", paid.provider_ref);
    return Response::json(202, out);
  }
  requireSucceeded(paid, provider);
  const storage::LedgerEntryIn entry{.kind = TG_ENTRY_TOPUP,
                                     .amount_micros = paid.amount_micros,
                                     .reference = paid.provider_ref,
                                     .description = "Top-up"};
  const storage::ApplyResult res = svc.store->applyLedger(
      tenant_id, w.currency, billing::paymentLedgerKey(provider.id(), paid.provider_ref), {entry},
      tenancy::nowMs());
  out.set("status", "succeeded");
  out.set("payment_ref", paid.provider_ref);
  out.set("balance_after_micros", res.balance_micros);
  out.set("entry_seq", res.first_seq);
  return Response::json(201, out);
}

// ---- admin holds ----

constexpr int64_t kMaxHoldSeconds = 30LL * 24 * 3600;

// An admin hold id: ids with ':' are the core's own ("sms:SM...").
std::string holdIdOf(const std::string& id, const std::string& field) {
  static const std::regex kId("[A-Za-z0-9_.-]{1,100}");
  if (!std::regex_match(id, kId)) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'{}' must be 1 to 100 letters, digits, '_', '.' or '-'", field),
                   field);
  }
  return id;
}

int64_t amountOf(const Poco::JSON::Object& body) {
  if (!body.has("amount_micros") || !body.get("amount_micros").isInteger()) {
    throw ApiError(400, "invalid_argument", "'amount_micros' must be an integer", "amount_micros");
  }
  const int64_t amount = body.getValue<Poco::Int64>("amount_micros");
  if (amount <= 0 || amount > kMaxMoveMicros) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'amount_micros' must be from 1 to {}", kMaxMoveMicros),
                   "amount_micros");
  }
  return amount;
}

storage::Hold storedHold(Services& svc, const storage::Wallet& w, const std::string& hold_id) {
  const auto found = svc.store->holds(
      w.tenant_id,
      storage::HoldQuery{
          .currency = w.currency, .status = 0, .hold_id = hold_id, .after_id = "", .limit = 1});
  if (found.empty()) {
    throw ApiError(404, "not_found", fmt::format("no hold '{}'", hold_id), "hold_id");
  }
  return found.front();
}

Response holdAnswer(Services& svc, const storage::Wallet& w, const std::string& hold_id,
                    const storage::HoldResult& res, int status) {
  Poco::JSON::Object out = holdJson(storedHold(svc, w, hold_id));
  out.set("balance_micros", res.balance_micros);
  out.set("held_micros", res.held_micros);
  out.set("available_micros", res.balance_micros - res.held_micros);
  return Response::json(status, out);
}

[[noreturn]] void notActive(const std::string& hold_id, tg_hold_status status) {
  throw ApiError(409, "hold_not_active",
                 fmt::format("hold '{}' is {}", hold_id, holdStatusName(status)), "hold_id");
}

Response adminReserve(Services& svc, Request& r) {
  const storage::Wallet w = walletOf(svc, r.param("id"));
  auto body = r.jsonBody();
  const std::string hold_id = holdIdOf(requireString(*body, "hold_id", 100), "hold_id");
  const int64_t amount = amountOf(*body);
  if (!body->has("expires_in_s") || !body->get("expires_in_s").isInteger()) {
    throw ApiError(400, "invalid_argument", "'expires_in_s' must be an integer", "expires_in_s");
  }
  const int64_t expires_in = body->getValue<Poco::Int64>("expires_in_s");
  if (expires_in < 1 || expires_in > kMaxHoldSeconds) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'expires_in_s' must be from 1 to {}", kMaxHoldSeconds),
                   "expires_in_s");
  }
  const std::string reference = optionalString(*body, "reference", kMaxReason);
  const int64_t now = tenancy::nowMs();
  const storage::HoldResult res = svc.store->applyHold(
      w.tenant_id, storage::HoldRequest{.action = TG_HOLD_RESERVE,
                                        .currency = w.currency,
                                        .hold_id = hold_id,
                                        .amount_micros = amount,
                                        .kind = 0,
                                        .reference = reference,
                                        .description = "",
                                        .expires_at_ms = now + expires_in * 1000,
                                        .now_ms = now});
  if (res.outcome == TG_APPLY_INSUFFICIENT_FUNDS) {
    throw ApiError(402, "insufficient_funds",
                   fmt::format("a hold of {} exceeds the available {} (credit limit {})", amount,
                               res.balance_micros - res.held_micros, w.credit_limit_micros),
                   "amount_micros");
  }
  if (res.outcome == TG_APPLY_ALREADY_APPLIED) {
    const storage::Hold h = storedHold(svc, w, hold_id);
    if (h.amount_micros != amount || h.reference != reference) {
      throw ApiError(409, "conflict",
                     fmt::format("hold '{}' exists with another amount or reference", hold_id),
                     "hold_id");
    }
  }
  return holdAnswer(svc, w, hold_id, res, 201);
}

Response adminCapture(Services& svc, Request& r) {
  const storage::Wallet w = walletOf(svc, r.param("id"));
  const std::string hold_id = holdIdOf(r.param("hold_id"), "hold_id");
  auto body = r.jsonBody();
  const int64_t amount = amountOf(*body);
  const tg_entry_kind kind = kindParam(optionalString(*body, "type", 32), "type");
  const std::string description = optionalString(*body, "description", kMaxReason);
  const storage::HoldResult res = svc.store->applyHold(
      w.tenant_id, storage::HoldRequest{.action = TG_HOLD_CAPTURE,
                                        .currency = w.currency,
                                        .hold_id = hold_id,
                                        .amount_micros = amount,
                                        .kind = kind == 0 ? TG_ENTRY_CHARGE : kind,
                                        .reference = "admin",
                                        .description = description,
                                        .expires_at_ms = 0,
                                        .now_ms = tenancy::nowMs()});
  if (res.outcome == TG_APPLY_HOLD_NOT_ACTIVE) notActive(hold_id, res.status);
  if (res.outcome == TG_APPLY_ALREADY_APPLIED && res.captured_micros != amount) {
    throw ApiError(409, "conflict",
                   fmt::format("hold '{}' was captured for {}", hold_id, res.captured_micros),
                   "amount_micros");
  }
  return holdAnswer(svc, w, hold_id, res, 200);
}

Response adminRelease(Services& svc, Request& r) {
  const storage::Wallet w = walletOf(svc, r.param("id"));
  const std::string hold_id = holdIdOf(r.param("hold_id"), "hold_id");
  const storage::HoldResult res =
      svc.store->applyHold(w.tenant_id, storage::HoldRequest{.action = TG_HOLD_RELEASE,
                                                             .currency = w.currency,
                                                             .hold_id = hold_id,
                                                             .amount_micros = 0,
                                                             .kind = 0,
                                                             .reference = "",
                                                             .description = "",
                                                             .expires_at_ms = 0,
                                                             .now_ms = tenancy::nowMs()});
  if (res.outcome == TG_APPLY_HOLD_NOT_ACTIVE) notActive(hold_id, res.status);
  return holdAnswer(svc, w, hold_id, res, 200);
}

}  // namespace

void addWalletRoutes(Router& router, Services& svc) {
  auto admin = [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
  };

  router.add("GET", "/admin/v1/tenants/{id}/wallet", [&svc, admin](Request& r) {
    admin(r);
    return Response::json(200, walletJson(walletOf(svc, r.param("id"))));
  });
  router.add("GET", "/admin/v1/tenants/{id}/wallet/entries", [&svc, admin](Request& r) {
    admin(r);
    return entriesPage(svc, r, r.param("id"));
  });
  router.add("POST", "/admin/v1/tenants/{id}/wallet/credits", [&svc, admin](Request& r) {
    admin(r);
    return adminMove(svc, r, true);
  });
  router.add("POST", "/admin/v1/tenants/{id}/wallet/debits", [&svc, admin](Request& r) {
    admin(r);
    return adminMove(svc, r, false);
  });
  router.add("GET", "/admin/v1/tenants/{id}/wallet/holds", [&svc, admin](Request& r) {
    admin(r);
    return holdsPage(svc, r, r.param("id"));
  });
  router.add("GET", "/admin/v1/tenants/{id}/wallet/usage", [&svc, admin](Request& r) {
    admin(r);
    return usageSummary(svc, r, r.param("id"));
  });
  router.add("POST", "/admin/v1/tenants/{id}/wallet/holds", [&svc, admin](Request& r) {
    admin(r);
    return adminReserve(svc, r);
  });
  router.add("POST", "/admin/v1/tenants/{id}/wallet/holds/{hold_id}/capture",
             [&svc, admin](Request& r) {
               admin(r);
               return adminCapture(svc, r);
             });
  router.add("POST", "/admin/v1/tenants/{id}/wallet/holds/{hold_id}/release",
             [&svc, admin](Request& r) {
               admin(r);
               return adminRelease(svc, r);
             });

  // The audit: 200 whether or not it finds mismatches; "consistent" says which.
  router.add("GET", "/admin/v1/ledger/verify", [&svc, admin](Request& r) {
    admin(r);
    std::optional<std::string> tenant;
    if (const std::string t = r.query("tenant_id"); !t.empty()) {
      if (!svc.tenants->get(t)) {
        throw ApiError(404, "not_found", fmt::format("no tenant '{}'", t), "tenant_id");
      }
      tenant = t;
    }
    const ledger::VerifyReport report = svc.ledger->verify(tenant);
    Poco::JSON::Array mismatches;
    for (const auto& m : report.mismatches) {
      Poco::JSON::Object o;
      o.set("tenant_id", m.tenant_id);
      o.set("currency", m.currency);
      if (m.seq != 0) o.set("seq", m.seq);
      o.set("problem", m.problem);
      mismatches.add(o);
    }
    Poco::JSON::Object out;
    out.set("consistent", report.mismatches.empty());
    out.set("wallets_checked", report.wallets);
    out.set("entries_checked", report.entries);
    out.set("holds_checked", report.holds);
    out.set("mismatches", mismatches);
    return Response::json(200, out);
  });

  router.add("GET", "/admin/v1/tenants/{id}/billing", [&svc, admin](Request& r) {
    admin(r);
    return Response::json(200, billingJson(profileOf(svc, walletOf(svc, r.param("id")))));
  });
  router.add("PUT", "/admin/v1/tenants/{id}/billing", [&svc, admin](Request& r) {
    admin(r);
    return putBilling(svc, r);
  });
  router.add("GET", "/admin/v1/tenants/{id}/wallet/auto-recharge", [&svc, admin](Request& r) {
    admin(r);
    return Response::json(200, rechargeJson(profileOf(svc, walletOf(svc, r.param("id")))));
  });
  router.add("PUT", "/admin/v1/tenants/{id}/wallet/auto-recharge", [&svc, admin](Request& r) {
    admin(r);
    return putRecharge(svc, r, r.param("id"));
  });
  router.add("GET", "/v1/wallet/auto-recharge", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return Response::json(200, rechargeJson(profileOf(svc, walletOf(svc, tenant.id))));
  });
  router.add("PUT", "/v1/wallet/auto-recharge", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return putRecharge(svc, r, tenant.id);
  });
  router.add("GET", "/v1/wallet/payment-methods", [&svc](Request& r) {
    svc.requireReady();
    return listMethods(svc, r, svc.auth->requireTenant(r).id);
  });
  router.add("POST", "/v1/wallet/payment-methods", [&svc](Request& r) {
    svc.requireReady();
    return addMethod(svc, r, svc.auth->requireTenant(r));
  });
  router.add("POST", "/v1/wallet/payment-methods/{method_id}/default", [&svc](Request& r) {
    svc.requireReady();
    return changeMethod(svc, r, svc.auth->requireTenant(r).id, TG_PM_SET_DEFAULT);
  });
  router.add("DELETE", "/v1/wallet/payment-methods/{method_id}", [&svc](Request& r) {
    svc.requireReady();
    return changeMethod(svc, r, svc.auth->requireTenant(r).id, TG_PM_DETACH);
  });
  router.add("POST", "/v1/wallet/topups", [&svc](Request& r) {
    svc.requireReady();
    return topUp(svc, r, svc.auth->requireTenant(r).id);
  });
  router.add("GET", "/v1/wallet", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return Response::json(200, walletJson(walletOf(svc, tenant.id)));
  });
  router.add("GET", "/v1/wallet/entries", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return entriesPage(svc, r, tenant.id);
  });
  router.add("GET", "/v1/wallet/holds", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return holdsPage(svc, r, tenant.id);
  });
  router.add("GET", "/v1/wallet/usage", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return usageSummary(svc, r, tenant.id);
  });
}

}  // namespace tollgate::http
