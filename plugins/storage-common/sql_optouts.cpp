// The opt-out registry (ABI 1.1): each sender's current STOP/START state per tenant, and an
// append-only audit trail of every change asked for.
#include <vector>

#include "sql_bind.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

}  // namespace

void SqlStore::optoutSet(const sdk::CallContext& ctx, std::string_view phone, bool opted_out,
                         std::string_view keyword, std::string_view message_sid, int64_t now_ms) {
  static constexpr std::string_view op = "optout_set";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string number = checkedE164(op, "phone", phone);
  const std::string kw_text = checkedText(op, "keyword", keyword, kMaxIdBytes, false);
  const std::string sid = checkedText(op, "message_sid", message_sid, kMaxIdBytes, false);
  const int32_t state = opted_out ? 1 : 0;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    requireTenant(s, dialect_, op, tenant);
    if (!dialect_.registry_lock_exclusive.empty()) {
      s << dialect_.sql(dialect_.registry_lock_exclusive), text(cat({tenant, "/", number})),
          kw::now;
    }
    // The state and its audit event commit together. Every request is recorded, a repeated
    // STOP included: the trail is what was asked and when, the state only the last answer.
    s << dialect_.sql(kOptOutStateSql), text(tenant), text(number), i32(state), i64(now_ms),
        kw::now;
    s << dialect_.sql(kOptOutEventSql), text(tenant), text(number), i32(state), text(kw_text),
        text(sid), i64(now_ms), kw::now;
  });
}

bool SqlStore::optoutGet(const sdk::CallContext& ctx, std::string_view phone) {
  static constexpr std::string_view op = "optout_get";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string number = checkedE164(op, "phone", phone);
  std::vector<Poco::Int32> state;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    state.clear();
    s << dialect_.sql(kOptedOutSql), text(tenant), text(number), kw::into(state), kw::now;
  });
  return !state.empty() && state[0] != 0;
}

}  // namespace tollgate::storage_sql
