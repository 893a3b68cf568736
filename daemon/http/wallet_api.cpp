// Wallet API: a tenant's prepaid wallet and its ledger. Admin: see any tenant's, credit and
// debit it with a reason, verify the ledger. Tenant: see its own.
#include <Poco/JSON/Array.h>
#include <Poco/NumberParser.h>
#include <fmt/format.h>

#include "http/api.hpp"
#include "http/auth.hpp"
#include "ledger/ledger.hpp"

namespace tollgate::http {
namespace {

constexpr size_t kMaxReason = 200;
constexpr size_t kMaxKey = 100;
// One move at most a billion currency units: larger is a typo or an attack on the balance's
// int64, refused naming the field.
constexpr int64_t kMaxMoveMicros = 1'000'000'000'000'000;

std::string_view kindName(tg_entry_kind k) {
  switch (k) {
    case TG_ENTRY_TOPUP:
      return "topup";
    case TG_ENTRY_CHARGE:
      return "charge";
    case TG_ENTRY_REFUND:
      return "refund";
    case TG_ENTRY_ADJUSTMENT:
      return "adjustment";
    default:
      return "unknown";
  }
}

Poco::JSON::Object walletJson(const storage::Wallet& w) {
  Poco::JSON::Object o;
  o.set("tenant_id", w.tenant_id);
  o.set("currency", w.currency);
  o.set("balance_micros", w.balance_micros);
  o.set("credit_limit_micros", w.credit_limit_micros);
  o.set("created_at_ms", w.created_at_ms);
  return o;
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

Response entriesPage(Services& svc, Request& r, const std::string& tenant_id) {
  const storage::Wallet w = walletOf(svc, tenant_id);
  Poco::Int64 after = 0;
  if (!Poco::NumberParser::tryParse64(r.query("after_seq", "0"), after) || after < 0) {
    throw ApiError(400, "invalid_argument", "'after_seq' must be an integer >= 0", "after_seq");
  }
  unsigned limit = 0;
  if (!Poco::NumberParser::tryParseUnsigned(r.query("limit", "100"), limit) || limit == 0 ||
      limit > 1000) {
    throw ApiError(400, "invalid_argument", "'limit' must be an integer from 1 to 1000", "limit");
  }
  const auto rows = svc.store->ledger(w.tenant_id, w.currency, after, limit);
  Poco::JSON::Array list;
  for (const auto& e : rows) list.add(entryJson(e));
  Poco::JSON::Object out;
  out.set("currency", w.currency);
  out.set("entries", list);
  if (rows.size() == limit) out.set("next_after_seq", rows.back().seq);
  return Response::json(200, out);
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
  const storage::LedgerEntryIn entry{.kind = credit ? TG_ENTRY_TOPUP : TG_ENTRY_ADJUSTMENT,
                                     .amount_micros = signed_amount,
                                     .reference = "admin",
                                     .description = reason};
  // One key space per kind of move, so that a credit and a debit never answer for each other.
  const std::string ledger_key = (credit ? "admin-credit:" : "admin-debit:") + key;
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
    out.set("mismatches", mismatches);
    return Response::json(200, out);
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
}

}  // namespace tollgate::http
