#include "sql_records.hpp"

#include "sql_bind.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {

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

void bindAll(Poco::Data::Statement& st, const std::vector<Param>& params) {
  for (const Param& p : params) {
    if (const auto* t = std::get_if<std::string>(&p)) {
      st, text(*t);
    } else {
      st, i64(std::get<int64_t>(p));
    }
  }
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
  return u;
}

}  // namespace tollgate::storage_sql
