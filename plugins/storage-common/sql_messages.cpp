// Message records (ABI 1.1): one row per SMS/MMS, its status moving forward only.
#include <cstring>
#include <vector>

#include "sql_bind.hpp"
#include "sql_records.hpp"
#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

using MessageTuple = Poco::Tuple<std::string, std::string, std::string, std::string, std::string,
                                 std::string, std::string, Poco::Int32, Poco::Int32, Poco::Int32,
                                 Poco::Int64, std::string, Poco::Int64, Poco::Int64>;

// error_code, price_micros and currency are NULL until known; the ABI says 0 and "".
constexpr std::string_view kMessageCols =
    "sid, tenant_id, direction, from_number, to_number, body, status, status_rank, "
    "COALESCE(error_code, 0), num_segments, COALESCE(price_micros, 0), COALESCE(currency, ''), "
    "created_at_ms, updated_at_ms";

void emit(const std::vector<MessageTuple>& rows, tg_message_sink sink) {
  for (const auto& r : rows) {
    tg_message_row out{sizeof(tg_message_row),
                       sdk::str(r.get<0>()),
                       sdk::str(r.get<1>()),
                       directionFromWord(r.get<2>()),
                       sdk::str(r.get<3>()),
                       sdk::str(r.get<4>()),
                       sdk::str(r.get<5>()),
                       sdk::str(r.get<6>()),
                       r.get<7>(),
                       r.get<8>(),
                       r.get<9>(),
                       r.get<10>(),
                       {},
                       r.get<12>(),
                       r.get<13>()};
    sdk::setCode(out.currency, r.get<11>());
    sink.fn(sink.ctx, &out);
  }
}

}  // namespace

void SqlStore::messageInsert(const sdk::CallContext& ctx, const tg_message_row& row) {
  static constexpr std::string_view op = "message_insert";
  checkStructSize(op, "row", row.struct_size, sizeof(tg_message_row));
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string sid = checkedText(op, "sid", sdk::view(row.sid), kMaxIdBytes, true);
  const std::string_view direction = directionWord(op, row.direction);
  const std::string from =
      checkedText(op, "from_number", sdk::view(row.from_number), kMaxIdBytes, true);
  const std::string to = checkedText(op, "to_number", sdk::view(row.to_number), kMaxIdBytes, true);
  const std::string body = checkedText(op, "body", sdk::view(row.body), kMaxMessageBytes, false);
  const std::string status = checkedText(op, "status", sdk::view(row.status), kMaxIdBytes, true);
  if (row.status_rank < 0) invalid(op, "status_rank", "must be >= 0");
  if (row.error_code < 0) invalid(op, "error_code", "must be >= 0 (0: none)");
  if (row.num_segments < 0) invalid(op, "num_segments", "must be >= 0");
  const std::string_view code(row.currency, strnlen(row.currency, 4));
  // Unpriced (empty currency, price 0) is stored as NULLs; a price needs its currency.
  const std::string currency = code.empty() ? std::string() : checkedCurrency(op, code);
  if (currency.empty() && row.price_micros != 0) {
    invalid(op, "currency", "required when price_micros is set");
  }
  bool inserted = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    if (!tenantExists(s, dialect_, tenant)) {
      throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": no tenant '", tenant, "'"}));
    }
    std::vector<std::string> sids;
    s << dialect_.sql(
        "INSERT INTO messages (sid, tenant_id, direction, from_number, to_number, body, status, "
        "status_rank, error_code, num_segments, price_micros, currency, created_at_ms, "
        "updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, CAST(0 AS INTEGER)), ?, "
        "CASE WHEN ? = '' THEN NULL ELSE CAST(? AS BIGINT) END, NULLIF(?, ''), ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING sid"),
        text(sid), text(tenant), text(direction), text(from), text(to), text(body), text(status),
        i32(row.status_rank), i32(row.error_code), i32(row.num_segments), text(currency),
        i64(row.price_micros), text(currency), i64(row.created_at_ms), i64(row.updated_at_ms),
        kw::into(sids), kw::now;
    inserted = !sids.empty();
  });
  if (!inserted) {
    throw sdk::Error(TG_ERR_CONFLICT, cat({op, ": a message with sid '", sid, "' already exists"}));
  }
}

bool SqlStore::messageUpdateStatus(const sdk::CallContext& ctx, std::string_view sid,
                                   std::string_view status, int32_t status_rank, int32_t error_code,
                                   int64_t now_ms) {
  static constexpr std::string_view op = "message_update_status";
  const StatusUpdate u = checkedStatusUpdate(op, ctx, sid, status, status_rank);
  if (error_code < 0) invalid(op, "error_code", "must be >= 0 (0: none)");
  bool applied = false;
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    // One statement decides and writes: concurrent updates of one message queue on its row
    // (PostgreSQL re-checks the rank against the row they waited for; SQLite runs one writer
    // at a time), so the highest rank wins whatever the order they arrive in. An error code of
    // 0 ("none reported") keeps the one stored before.
    std::vector<std::string> sids;
    s << dialect_.sql(
        "UPDATE messages SET status = ?, status_rank = ?, "
        "error_code = COALESCE(NULLIF(?, CAST(0 AS INTEGER)), error_code), updated_at_ms = ? "
        "WHERE sid = ? AND tenant_id = ? AND status_rank < ? RETURNING sid"),
        text(u.status), i32(status_rank), i32(error_code), i64(now_ms), text(u.sid), text(u.tenant),
        i32(status_rank), kw::into(sids), kw::now;
    applied = !sids.empty();
    found = applied;
    if (applied) return;
    std::vector<Poco::Int32> one;
    s << dialect_.sql("SELECT 1 FROM messages WHERE sid = ? AND tenant_id = ?"), text(u.sid),
        text(u.tenant), kw::into(one), kw::now;
    found = !one.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", u.tenant, "' has no message '", u.sid, "'"}));
  }
  return applied;
}

void SqlStore::messageGet(const sdk::CallContext& ctx, std::string_view sid, tg_message_sink sink) {
  static constexpr std::string_view op = "message_get";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string id = checkedText(op, "sid", sid, kMaxIdBytes, true);
  std::vector<MessageTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(
        cat({"SELECT ", kMessageCols, " FROM messages WHERE sid = ? AND tenant_id = ?"})),
        text(id), text(tenant), kw::into(rows), kw::now;
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no message '", id, "'"}));
  }
  emit(rows, sink);
}

void SqlStore::messageList(const sdk::CallContext& ctx, const tg_log_query& q,
                           tg_message_sink sink) {
  static constexpr std::string_view op = "message_list";
  const std::string tenant = scopedTenant(op, ctx);
  const LogFilter f = checkedLogFilter(op, q, dialect_);
  const std::string sql =
      dialect_.sql(cat({"SELECT ", kMessageCols, " FROM messages WHERE tenant_id = ?", f.sql}));
  std::vector<MessageTuple> rows;
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
