// Billing profiles (ABI 1.6): who pays into a wallet, its auto-recharge settings, and the lease
// that lets one recharge of a wallet run at a time across any number of daemons. Each lease
// change is one conditional UPDATE: of concurrent callers, the first to commit changes the row
// and the others' WHERE no longer matches (PostgreSQL re-checks it after waiting on the row
// lock; SQLite has one writer).
#include <cstring>
#include <vector>

#include "sql_bind.hpp"
#include "sql_exec.hpp"
#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

constexpr std::string_view kProfileColumns =
    "tenant_id, currency, provider, customer_ref, recharge_threshold_micros, "
    "recharge_amount_micros, recharge_in_flight, recharge_started_at_ms, recharge_failures, "
    "recharge_retry_at_ms, recharge_last_error, created_at_ms, updated_at_ms";

std::string currencyOf(std::string_view op, const char currency[4]) {
  return checkedCurrency(op, std::string_view(currency, strnlen(currency, 4)));
}

bool profileExists(SqlExec& x, const std::string& tenant, const std::string& currency) {
  return !x.query("SELECT 1 FROM billing_profiles WHERE tenant_id = ? AND currency = ?",
                  {tenant, currency})
              .empty();
}

[[noreturn]] void noProfile(std::string_view op, const std::string& tenant,
                            const std::string& currency) {
  throw sdk::Error(TG_ERR_NOT_FOUND,
                   cat({op, ": tenant '", tenant, "' has no ", currency, " billing profile"}));
}

}  // namespace

void SqlStore::billingProfilePut(const sdk::CallContext& ctx, const tg_billing_profile_row& row) {
  static constexpr std::string_view op = "billing_profile_put";
  checkStructSize(op, "row", row.struct_size, sizeof(tg_billing_profile_row));
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string currency = currencyOf(op, row.currency);
  const std::string provider =
      checkedText(op, "provider", sdk::view(row.provider), kMaxIdBytes, false);
  const std::string customer =
      checkedText(op, "customer_ref", sdk::view(row.customer_ref), kMaxIdBytes, false);
  if (row.recharge_threshold_micros < 0) invalid(op, "recharge_threshold_micros", "must be >= 0");
  if (row.recharge_amount_micros < 0) invalid(op, "recharge_amount_micros", "must be >= 0");
  bool wallet = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    PocoExec x(s, dialect_);
    wallet =
        !x.query("SELECT 1 FROM wallets WHERE tenant_id = ? AND currency = ?", {tenant, currency})
             .empty();
    if (!wallet) return;
    // The settings only: the recharge state is recharge_begin's and recharge_end's.
    x.query(
        "INSERT INTO billing_profiles (tenant_id, currency, provider, customer_ref, "
        "recharge_threshold_micros, recharge_amount_micros, created_at_ms, updated_at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, currency) DO UPDATE SET "
        "provider = excluded.provider, customer_ref = excluded.customer_ref, "
        "recharge_threshold_micros = excluded.recharge_threshold_micros, "
        "recharge_amount_micros = excluded.recharge_amount_micros, "
        "updated_at_ms = excluded.updated_at_ms",
        {tenant, currency, provider, customer, int64_t{row.recharge_threshold_micros},
         int64_t{row.recharge_amount_micros}, int64_t{row.created_at_ms},
         int64_t{row.updated_at_ms}});
  });
  if (!wallet) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", currency, " wallet"}));
  }
}

void SqlStore::billingProfileGet(const sdk::CallContext& ctx, std::string_view currency_code,
                                 tg_billing_profile_sink sink) {
  static constexpr std::string_view op = "billing_profile_get";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string currency = checkedCurrency(op, currency_code);
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(cat({"SELECT ", kProfileColumns,
                        " FROM billing_profiles WHERE tenant_id = ? AND currency = ?"}),
                   {tenant, currency});
  });
  if (rows.empty()) noProfile(op, tenant, currency);
  const auto& r = rows.front();
  tg_billing_profile_row out{.struct_size = sizeof(tg_billing_profile_row),
                             .currency = {},
                             .tenant_id = sdk::str(r[0]),
                             .provider = sdk::str(r[2]),
                             .customer_ref = sdk::str(r[3]),
                             .recharge_threshold_micros = std::stoll(r[4]),
                             .recharge_amount_micros = std::stoll(r[5]),
                             .recharge_in_flight = std::stoi(r[6]),
                             .recharge_failures = std::stoi(r[8]),

                             .recharge_started_at_ms = std::stoll(r[7]),
                             .recharge_retry_at_ms = std::stoll(r[9]),
                             .recharge_last_error = sdk::str(r[10]),
                             .created_at_ms = std::stoll(r[11]),
                             .updated_at_ms = std::stoll(r[12])};
  sdk::setCode(out.currency, r[1]);
  sink.fn(sink.ctx, &out);
}

int64_t SqlStore::rechargeBegin(const sdk::CallContext& ctx, std::string_view currency_code,
                                int64_t now_ms, int64_t lease_ms) {
  static constexpr std::string_view op = "recharge_begin";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string currency = checkedCurrency(op, currency_code);
  if (now_ms <= 0) invalid(op, "now_ms", "must be > 0");
  if (lease_ms <= 0) invalid(op, "lease_ms", "must be > 0");
  int64_t started = 0;
  bool found = true;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    PocoExec x(s, dialect_);
    // started_at_ms strictly increases, so that each lease names its own payment.
    const Rows begun = x.query(
        "UPDATE billing_profiles SET recharge_in_flight = 1, recharge_started_at_ms = "
        "CASE WHEN recharge_started_at_ms >= ? THEN recharge_started_at_ms + 1 ELSE ? END, "
        "updated_at_ms = ? WHERE tenant_id = ? AND currency = ? AND recharge_amount_micros > 0 "
        "AND recharge_retry_at_ms <= ? AND (recharge_in_flight = 0 OR recharge_started_at_ms <= ?) "
        "RETURNING recharge_started_at_ms",
        {now_ms, now_ms, now_ms, tenant, currency, now_ms, int64_t{now_ms - lease_ms}});
    started = begun.empty() ? 0 : std::stoll(begun.front()[0]);
    if (begun.empty()) found = profileExists(x, tenant, currency);
  });
  if (!found) noProfile(op, tenant, currency);
  return started;
}

bool SqlStore::rechargeEnd(const sdk::CallContext& ctx, const tg_recharge_end& req) {
  static constexpr std::string_view op = "recharge_end";
  checkStructSize(op, "request", req.struct_size, sizeof(tg_recharge_end));
  const std::string tenant = scopedTenant(op, ctx);
  const std::string currency = currencyOf(op, req.currency);
  const std::string error =
      checkedText(op, "error", sdk::view(req.error), kMaxTextBytes, req.failed != 0);
  if (req.started_at_ms <= 0) invalid(op, "started_at_ms", "must be > 0");
  bool ended = false, found = true;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    PocoExec x(s, dialect_);
    const std::string_view outcome =
        req.failed != 0 ? "recharge_failures = recharge_failures + 1, recharge_retry_at_ms = ?, "
                          "recharge_last_error = ?, "
                        : "recharge_failures = 0, recharge_retry_at_ms = 0, "
                          "recharge_last_error = '', ";
    std::vector<Param> params;
    if (req.failed != 0) params = {int64_t{req.retry_at_ms}, error};
    params.insert(params.end(),
                  {int64_t{req.now_ms}, tenant, currency, int64_t{req.started_at_ms}});
    const Rows done =
        x.query(cat({"UPDATE billing_profiles SET recharge_in_flight = 0, ", outcome,
                     "updated_at_ms = ? WHERE tenant_id = ? AND currency = ? AND "
                     "recharge_in_flight = 1 AND recharge_started_at_ms = ? RETURNING tenant_id"}),
                params);
    ended = !done.empty();
    if (!ended) found = profileExists(x, tenant, currency);
  });
  if (!found) noProfile(op, tenant, currency);
  return ended;
}

}  // namespace tollgate::storage_sql
