// Call records (ABI 1.1): one row per voice call, its status moving forward only.
#include <vector>

#include "sql_bind.hpp"
#include "sql_records.hpp"
#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

using CallTuple =
    Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                Poco::Int32, Poco::Int32, std::string, Poco::Int64, Poco::Int64>;

constexpr std::string_view kCallCols =
    "sid, tenant_id, direction, from_number, to_number, status, status_rank, duration_s, "
    "recording_url, created_at_ms, updated_at_ms";

// A recording URL is Twilio's (https://api.twilio.com/...); generous all the same.
constexpr size_t kMaxUrlBytes = 2048;

void emit(const std::vector<CallTuple>& rows, tg_call_sink sink) {
  for (const auto& r : rows) {
    const tg_call_row out{sizeof(tg_call_row),           sdk::str(r.get<0>()), sdk::str(r.get<1>()),
                          directionFromWord(r.get<2>()), sdk::str(r.get<3>()), sdk::str(r.get<4>()),
                          sdk::str(r.get<5>()),          r.get<6>(),           r.get<7>(),
                          sdk::str(r.get<8>()),          r.get<9>(),           r.get<10>()};
    sink.fn(sink.ctx, &out);
  }
}

}  // namespace

void SqlStore::callInsert(const sdk::CallContext& ctx, const tg_call_row& row) {
  static constexpr std::string_view op = "call_insert";
  checkStructSize(op, "row", row.struct_size, sizeof(tg_call_row));
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string sid = checkedText(op, "sid", sdk::view(row.sid), kMaxIdBytes, true);
  const std::string_view direction = directionWord(op, row.direction);
  const std::string from =
      checkedText(op, "from_number", sdk::view(row.from_number), kMaxIdBytes, true);
  const std::string to = checkedText(op, "to_number", sdk::view(row.to_number), kMaxIdBytes, true);
  const std::string status = checkedText(op, "status", sdk::view(row.status), kMaxIdBytes, true);
  if (row.status_rank < 0) invalid(op, "status_rank", "must be >= 0");
  if (row.duration_s < 0) invalid(op, "duration_s", "must be >= 0");
  const std::string url =
      checkedText(op, "recording_url", sdk::view(row.recording_url), kMaxUrlBytes, false);
  bool inserted = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    if (!tenantExists(s, dialect_, tenant)) {
      throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": no tenant '", tenant, "'"}));
    }
    std::vector<std::string> sids;
    s << dialect_.sql(
        "INSERT INTO calls (sid, tenant_id, direction, from_number, to_number, status, "
        "status_rank, duration_s, recording_url, created_at_ms, updated_at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING sid"),
        text(sid), text(tenant), text(direction), text(from), text(to), text(status),
        i32(row.status_rank), i32(row.duration_s), text(url), i64(row.created_at_ms),
        i64(row.updated_at_ms), kw::into(sids), kw::now;
    inserted = !sids.empty();
  });
  if (!inserted) {
    throw sdk::Error(TG_ERR_CONFLICT, cat({op, ": a call with sid '", sid, "' already exists"}));
  }
}

bool SqlStore::callUpdateStatus(const sdk::CallContext& ctx, std::string_view sid,
                                std::string_view status, int32_t status_rank, int32_t duration_s,
                                int64_t now_ms) {
  static constexpr std::string_view op = "call_update_status";
  const StatusUpdate u = checkedStatusUpdate(op, ctx, sid, status, status_rank);
  bool applied = false;
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    // As for messages: one conditional statement, so the highest rank wins. A negative
    // duration keeps the stored one.
    std::vector<std::string> sids;
    if (duration_s >= 0) {
      s << dialect_.sql(
          "UPDATE calls SET status = ?, status_rank = ?, duration_s = ?, updated_at_ms = ? "
          "WHERE sid = ? AND tenant_id = ? AND status_rank < ? RETURNING sid"),
          text(u.status), i32(status_rank), i32(duration_s), i64(now_ms), text(u.sid),
          text(u.tenant), i32(status_rank), kw::into(sids), kw::now;
    } else {
      s << dialect_.sql(
          "UPDATE calls SET status = ?, status_rank = ?, updated_at_ms = ? "
          "WHERE sid = ? AND tenant_id = ? AND status_rank < ? RETURNING sid"),
          text(u.status), i32(status_rank), i64(now_ms), text(u.sid), text(u.tenant),
          i32(status_rank), kw::into(sids), kw::now;
    }
    applied = !sids.empty();
    found = applied;
    if (applied) return;
    std::vector<Poco::Int32> one;
    s << dialect_.sql("SELECT 1 FROM calls WHERE sid = ? AND tenant_id = ?"), text(u.sid),
        text(u.tenant), kw::into(one), kw::now;
    found = !one.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", u.tenant, "' has no call '", u.sid, "'"}));
  }
  return applied;
}

void SqlStore::callSetRecording(const sdk::CallContext& ctx, std::string_view sid,
                                std::string_view recording_url, int64_t now_ms) {
  static constexpr std::string_view op = "call_set_recording";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string id = checkedText(op, "sid", sid, kMaxIdBytes, true);
  const std::string url = checkedText(op, "recording_url", recording_url, kMaxUrlBytes, true);
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    std::vector<std::string> sids;
    s << dialect_.sql(
        "UPDATE calls SET recording_url = ?, updated_at_ms = ? "
        "WHERE sid = ? AND tenant_id = ? RETURNING sid"),
        text(url), i64(now_ms), text(id), text(tenant), kw::into(sids), kw::now;
    found = !sids.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": tenant '", tenant, "' has no call '", id, "'"}));
  }
}

void SqlStore::callGet(const sdk::CallContext& ctx, std::string_view sid, tg_call_sink sink) {
  static constexpr std::string_view op = "call_get";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string id = checkedText(op, "sid", sid, kMaxIdBytes, true);
  std::vector<CallTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(cat({"SELECT ", kCallCols, " FROM calls WHERE sid = ? AND tenant_id = ?"})),
        text(id), text(tenant), kw::into(rows), kw::now;
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": tenant '", tenant, "' has no call '", id, "'"}));
  }
  emit(rows, sink);
}

void SqlStore::callList(const sdk::CallContext& ctx, const tg_log_query& q, tg_call_sink sink) {
  static constexpr std::string_view op = "call_list";
  const std::string tenant = scopedTenant(op, ctx);
  const LogFilter f = checkedLogFilter(op, q, dialect_);
  const std::string sql =
      dialect_.sql(cat({"SELECT ", kCallCols, " FROM calls WHERE tenant_id = ?", f.sql}));
  std::vector<CallTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    Poco::Data::Statement st(s);
    st << sql;
    st, text(tenant);
    bindAll(st, f.params);
    st, kw::into(rows), kw::now;
  });
  emit(rows, sink);
}

}  // namespace tollgate::storage_sql
