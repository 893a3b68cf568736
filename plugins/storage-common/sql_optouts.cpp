// The opt-out registry (ABI 1.1): each sender's current STOP/START state per tenant, and an
// append-only audit trail of every change asked for.
#include <vector>

#include "sql_bind.hpp"
#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

// opt_out_events.action: what the event asked for.
constexpr int32_t kActionOptIn = 0;   // START, UNSTOP, ...: the sender may be texted again
constexpr int32_t kActionOptOut = 1;  // STOP, UNSUBSCRIBE, ...: the sender must not be texted

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
    // The state and its audit event commit together. Every request is recorded, a repeated
    // STOP included: the trail is what was asked and when, the state only the last answer.
    s << dialect_.sql(
        "INSERT INTO opt_outs (tenant_id, phone, opted_out, updated_at_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (tenant_id, phone) DO UPDATE SET opted_out = excluded.opted_out, "
        "updated_at_ms = excluded.updated_at_ms"),
        text(tenant), text(number), i32(state), i64(now_ms), kw::now;
    s << dialect_.sql(
        "INSERT INTO opt_out_events (tenant_id, phone, action, keyword, message_sid, "
        "created_at_ms) VALUES (?, ?, ?, ?, ?, ?)"),
        text(tenant), text(number), i32(opted_out ? kActionOptOut : kActionOptIn), text(kw_text),
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
    s << dialect_.sql("SELECT opted_out FROM opt_outs WHERE tenant_id = ? AND phone = ?"),
        text(tenant), text(number), kw::into(state), kw::now;
  });
  return !state.empty() && state[0] != 0;
}

}  // namespace tollgate::storage_sql
