// Idempotency records: processed webhooks and repeated API requests.
#include <vector>

#include "sql_bind.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;
using IdemTuple = Poco::Tuple<std::string, std::string, std::string, std::string, Poco::Int32,
                              std::string, Poco::Int64>;

}  // namespace

bool SqlStore::idempotencyClaim(const sdk::CallContext& ctx, const tg_idempotency_row& row,
                                tg_idempotency_sink existing) {
  static constexpr std::string_view op = "idempotency_claim";
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  if (row.tenant_id.size != 0 && sdk::view(row.tenant_id) != tenant) {
    invalid(op, "tenant_id", "the row belongs to another tenant than the call");
  }
  const std::string scope = checkedText(op, "scope", sdk::view(row.scope), kMaxIdBytes, true);
  const std::string key = checkedText(op, "key", sdk::view(row.key), kMaxIdBytes, true);
  const std::string hash =
      checkedText(op, "request_hash", sdk::view(row.request_hash), kMaxTextBytes, false);
  bool claimed = false;
  std::vector<IdemTuple> stored;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    stored.clear();
    // Exactly one concurrent claimer inserts; the others' INSERT does nothing (on PostgreSQL
    // after waiting for the winner to commit), and they read the winner's row.
    std::vector<std::string> inserted;
    s << dialect_.sql(kClaimSql), text(tenant), text(scope), text(key), text(hash),
        i64(row.created_at_ms), kw::into(inserted), kw::now;
    claimed = !inserted.empty();
    if (claimed) return;
    s << dialect_.sql(kIdempotencySelectSql), text(tenant), text(scope), text(key),
        kw::into(stored), kw::now;
    if (stored.empty()) throw Retry{"the record that blocked the claim disappeared"};
  });
  if (claimed) return true;
  for (const auto& r : stored) {
    const tg_idempotency_row out{sizeof(tg_idempotency_row), sdk::str(r.get<0>()),
                                 sdk::str(r.get<1>()),       sdk::str(r.get<2>()),
                                 sdk::str(r.get<3>()),       r.get<4>(),
                                 sdk::str(r.get<5>()),       r.get<6>()};
    existing.fn(existing.ctx, &out);
  }
  return false;
}

void SqlStore::idempotencyComplete(const sdk::CallContext& ctx, std::string_view scope,
                                   std::string_view key, int32_t response_status,
                                   std::string_view response_body) {
  static constexpr std::string_view op = "idempotency_complete";
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  const std::string sc = checkedText(op, "scope", scope, kMaxIdBytes, true);
  const std::string k = checkedText(op, "key", key, kMaxIdBytes, true);
  const std::string body = checkedText(op, "response_body", response_body, kMaxBodyBytes, false);
  if (response_status == 0) invalid(op, "response_status", "0 means in progress; want the status");
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    std::vector<std::string> keys;
    s << dialect_.sql(kCompleteSql), i32(response_status), text(body), text(tenant), text(sc),
        text(k), kw::into(keys), kw::now;
    found = !keys.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": key '", k, "' in scope '", sc, "' was never claimed"}));
  }
}

bool SqlStore::idempotencyReclaim(const sdk::CallContext& ctx, std::string_view scope,
                                  std::string_view key, int64_t expected_created_at_ms,
                                  int64_t new_created_at_ms) {
  static constexpr std::string_view op = "idempotency_reclaim";
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  const std::string sc = checkedText(op, "scope", scope, kMaxIdBytes, true);
  const std::string k = checkedText(op, "key", key, kMaxIdBytes, true);
  bool reclaimed = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    // One statement is the compare-and-swap: of concurrent reclaimers with the same expected
    // time, the first UPDATE to commit changes created_at_ms, and the others' WHERE no longer
    // matches (PostgreSQL re-checks it after waiting on the row lock; SQLite has one writer).
    std::vector<std::string> keys;
    s << dialect_.sql(
        "UPDATE idempotency_keys SET created_at_ms = ? WHERE tenant_id = ? AND scope = ? "
        "AND key = ? AND response_status = 0 AND created_at_ms = ? RETURNING key"),
        i64(new_created_at_ms), text(tenant), text(sc), text(k), i64(expected_created_at_ms),
        kw::into(keys), kw::now;
    reclaimed = !keys.empty();
  });
  return reclaimed;
}

}  // namespace tollgate::storage_sql
