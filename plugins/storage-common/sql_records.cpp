#include "sql_records.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

}  // namespace

std::string_view directionWord(std::string_view op, tg_direction direction) {
  switch (direction) {
    case TG_DIRECTION_INBOUND:
      return "inbound";
    case TG_DIRECTION_OUTBOUND:
      return "outbound";
    default:
      invalid(op, "direction", "unknown direction " + std::to_string(direction));
  }
}

tg_direction directionFromWord(std::string_view word) {
  // Twilio also spells outbound messages "outbound-api" or "outbound-reply": all outbound.
  return word.rfind("outbound", 0) == 0 ? TG_DIRECTION_OUTBOUND : TG_DIRECTION_INBOUND;
}

LogFilter checkedLogFilter(std::string_view op, const tg_log_query& q, const Dialect& d) {
  checkStructSize(op, "query", q.struct_size, sizeof(tg_log_query));
  if (q.from_ms < 0) invalid(op, "query.from_ms", "must be >= 0 (0: no lower bound)");
  if (q.to_ms < 0) invalid(op, "query.to_ms", "must be >= 0 (0: no upper bound)");
  if (q.before_ms < 0) invalid(op, "query.before_ms", "must be >= 0 (0: first page)");
  if (q.limit < 1 || q.limit > kMaxPageRows) {
    invalid(op, "query.limit", "want 1 to " + std::to_string(kMaxPageRows));
  }
  const std::string status =
      checkedText(op, "query.status", sdk::view(q.status), kMaxIdBytes, false);
  const std::string number =
      checkedText(op, "query.number", sdk::view(q.number), kMaxIdBytes, false);
  const std::string before_sid =
      checkedText(op, "query.before_sid", sdk::view(q.before_sid), kMaxIdBytes, false);

  LogFilter f;
  if (q.from_ms > 0) {
    f.sql += " AND created_at_ms >= ?";
    f.params.emplace_back(q.from_ms);
  }
  if (q.to_ms > 0) {
    f.sql += " AND created_at_ms < ?";
    f.params.emplace_back(q.to_ms);
  }
  if (!status.empty()) {
    f.sql += " AND status = ?";
    f.params.emplace_back(status);
  }
  if (!number.empty()) {
    f.sql += " AND (from_number = ? OR to_number = ?)";
    f.params.emplace_back(number);
    f.params.emplace_back(number);
  }
  // The cursor is the last row of the previous page: rows strictly after it in the order
  // below, so rows created in the same millisecond are neither skipped nor repeated. The sid
  // compares byte-wise on both engines, as the order and the log index do.
  if (q.before_ms > 0) {
    f.sql += cat({" AND (created_at_ms, sid", d.bytewise, ") < (?, ?)"});
    f.params.emplace_back(q.before_ms);
    f.params.emplace_back(before_sid);
  }
  f.sql += cat({" ORDER BY created_at_ms DESC, sid", d.bytewise, " DESC LIMIT ?"});
  f.params.emplace_back(static_cast<int64_t>(q.limit));
  return f;
}

StatusUpdate checkedStatusUpdate(std::string_view op, const sdk::CallContext& ctx,
                                 std::string_view sid, std::string_view status,
                                 int32_t status_rank) {
  StatusUpdate u;
  u.tenant = scopedTenant(op, ctx);
  u.sid = checkedText(op, "sid", sid, kMaxIdBytes, true);
  u.status = checkedText(op, "status", status, kMaxIdBytes, true);
  if (status_rank < 0) invalid(op, "status_rank", "must be >= 0");
  u.rank = status_rank;
  return u;
}

RecordInsert recordInsert(const RecordTable& t, RecordHead h, std::string_view cols,
                          std::string_view values, std::vector<Param> params) {
  RecordInsert r;
  r.table = &t;
  r.sql =
      cat({"INSERT INTO ", t.name, " (sid, tenant_id, direction, from_number, to_number, ", cols,
           ") VALUES (?, ?, ?, ?, ?, ", values, ") ON CONFLICT DO NOTHING RETURNING sid"});
  r.params = {h.sid, h.tenant, std::string(h.direction), h.from, h.to};
  r.params.insert(r.params.end(), std::make_move_iterator(params.begin()),
                  std::make_move_iterator(params.end()));
  r.head = std::move(h);
  return r;
}

std::string RecordUpdate::existsSql() const {
  return cat({"SELECT 1 FROM ", table->name, " WHERE ", table->key, " = ? AND tenant_id = ?"});
}

RecordUpdate statusUpdate(const RecordTable& t, const StatusUpdate& u, int64_t now_ms,
                          const std::vector<SetColumn>& also) {
  RecordUpdate r;
  r.table = &t;
  r.tenant = u.tenant;
  r.sid = u.sid;
  // One statement decides and writes: concurrent updates of one record queue on its row
  // (PostgreSQL re-checks the rank against the row they waited for; SQLite runs one writer
  // at a time), so the highest rank wins whatever the order they arrive in.
  r.sql = cat({"UPDATE ", t.name, " SET status = ?, status_rank = ?, "});
  r.params = {u.status, u.rank};
  for (const SetColumn& c : also) {
    r.sql += cat({c.sql, ", "});
    r.params.push_back(c.value);
  }
  r.sql += "updated_at_ms = ? WHERE sid = ? AND tenant_id = ? AND status_rank < ? RETURNING sid";
  r.params.insert(r.params.end(), {now_ms, u.sid, u.tenant, u.rank});
  return r;
}

void SqlStore::insertRecord(const sdk::CallContext& ctx, std::string_view op,
                            const RecordInsert& r) {
  bool inserted = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    requireTenant(s, dialect_, op, r.head.tenant);
    inserted = wroteRow(s, dialect_, r.sql, r.params);
  });
  if (!inserted) {
    throw sdk::Error(TG_ERR_CONFLICT, cat({op, ": a ", r.table->noun, " with sid '", r.head.sid,
                                           "' already exists"}));
  }
}

bool SqlStore::updateRecord(const sdk::CallContext& ctx, std::string_view op,
                            const RecordUpdate& u) {
  bool applied = false;
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    applied = wroteRow(s, dialect_, u.sql, u.params);
    found = applied;
    if (applied) return;
    std::vector<Poco::Int32> one;
    s << dialect_.sql(u.existsSql()), text(u.sid), text(u.tenant), kw::into(one), kw::now;
    found = !one.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": tenant '", u.tenant, "' has no ", u.table->noun,
                                            " '", u.sid, "'"}));
  }
  return applied;
}

}  // namespace tollgate::storage_sql
