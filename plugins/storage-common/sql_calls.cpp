// Call records (ABI 1.1): one row per voice call, its status moving forward only.
#include <vector>

#include "sql_exec.hpp"
#include "sql_records.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

using CallTuple = Poco::Tuple<std::string, std::string, std::string, std::string, std::string,
                              std::string, Poco::Int32, Poco::Int32, std::string, Poco::Int64,
                              Poco::Int64, Poco::Int32, Poco::Int64, Poco::Int64, Poco::Int64>;

constexpr RecordTable kCalls{
    "calls", "call",
    "sid, tenant_id, direction, from_number, to_number, status, status_rank, duration_s, "
    "recording_url, created_at_ms, updated_at_ms, price_state, charged_micros, price_micros, "
    "price_check_at_ms"};

// A recording URL is Twilio's (https://api.twilio.com/...); generous all the same.
constexpr size_t kMaxUrlBytes = 2048;

void emit(const std::vector<CallTuple>& rows, tg_call_sink sink) {
  for (const auto& r : rows) {
    const tg_call_row out{.struct_size = sizeof(tg_call_row),
                          .sid = sdk::str(r.get<0>()),
                          .tenant_id = sdk::str(r.get<1>()),
                          .direction = directionFromWord(r.get<2>()),
                          .from_number = sdk::str(r.get<3>()),
                          .to_number = sdk::str(r.get<4>()),
                          .status = sdk::str(r.get<5>()),
                          .status_rank = r.get<6>(),
                          .duration_s = r.get<7>(),
                          .recording_url = sdk::str(r.get<8>()),
                          .created_at_ms = r.get<9>(),
                          .updated_at_ms = r.get<10>(),
                          .price_state = r.get<11>(),
                          .charged_micros = r.get<12>(),
                          .price_micros = r.get<13>(),
                          .price_check_at_ms = r.get<14>()};
    sink.fn(sink.ctx, &out);
  }
}

void checkPriceState(std::string_view op, int32_t state) {
  if (state < TG_OUTBOX_PRICE_NONE || state > TG_OUTBOX_UNPRICED) {
    invalid(op, "price_state", "unknown price state " + std::to_string(state));
  }
}

}  // namespace

RecordInsert checkedCallInsert(std::string_view op, const sdk::CallContext& ctx,
                               const tg_call_row& row) {
  RecordHead h = checkedRecordHead(op, ctx, row);
  const std::string status = checkedText(op, "status", sdk::view(row.status), kMaxIdBytes, true);
  if (row.status_rank < 0) invalid(op, "status_rank", "must be >= 0");
  if (row.duration_s < 0) invalid(op, "duration_s", "must be >= 0");
  const std::string url =
      checkedText(op, "recording_url", sdk::view(row.recording_url), kMaxUrlBytes, false);
  return recordInsert(
      kCalls, std::move(h),
      "status, status_rank, duration_s, recording_url, created_at_ms, updated_at_ms",
      "?, ?, ?, ?, ?, ?",
      {status, row.status_rank, row.duration_s, url, row.created_at_ms, row.updated_at_ms});
}

RecordUpdate checkedCallStatus(std::string_view op, const sdk::CallContext& ctx,
                               std::string_view sid, std::string_view status, int32_t status_rank,
                               int32_t duration_s, int64_t now_ms, int32_t price_state,
                               int64_t price_check_at_ms) {
  const StatusUpdate u = checkedStatusUpdate(op, ctx, sid, status, status_rank);
  checkPriceState(op, price_state);
  // A negative duration keeps the stored one.
  std::vector<SetColumn> also;
  if (duration_s >= 0) also.push_back({"duration_s = ?", duration_s});
  if (price_state != TG_OUTBOX_PRICE_NONE) {
    also.push_back({"price_state = ?", price_state});
    also.push_back({"price_check_at_ms = ?", price_check_at_ms});
  }
  return statusUpdate(kCalls, u, now_ms, also);
}

RecordUpdate checkedCallRecording(std::string_view op, const sdk::CallContext& ctx,
                                  std::string_view sid, std::string_view recording_url,
                                  int64_t now_ms) {
  RecordUpdate r;
  r.table = &kCalls;
  r.tenant = scopedTenant(op, ctx);
  r.sid = checkedText(op, "sid", sid, kMaxIdBytes, true);
  const std::string url = checkedText(op, "recording_url", recording_url, kMaxUrlBytes, true);
  r.sql =
      "UPDATE calls SET recording_url = ?, updated_at_ms = ? WHERE sid = ? AND tenant_id = ? "
      "RETURNING sid";
  r.params = {url, now_ms, r.sid, r.tenant};
  return r;
}

void SqlStore::callInsert(const sdk::CallContext& ctx, const tg_call_row& row) {
  static constexpr std::string_view op = "call_insert";
  insertRecord(ctx, op, checkedCallInsert(op, ctx, row));
}

bool SqlStore::callUpdateStatus(const sdk::CallContext& ctx, std::string_view sid,
                                std::string_view status, int32_t status_rank, int32_t duration_s,
                                int64_t now_ms) {
  static constexpr std::string_view op = "call_update_status";
  return updateRecord(ctx, op,
                      checkedCallStatus(op, ctx, sid, status, status_rank, duration_s, now_ms));
}

void SqlStore::callSetRecording(const sdk::CallContext& ctx, std::string_view sid,
                                std::string_view recording_url, int64_t now_ms) {
  static constexpr std::string_view op = "call_set_recording";
  const RecordUpdate u = checkedCallRecording(op, ctx, sid, recording_url, now_ms);
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) { found = wroteRow(s, dialect_, u.sql, u.params); });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", u.tenant, "' has no call '", u.sid, "'"}));
  }
}

void SqlStore::callGet(const sdk::CallContext& ctx, std::string_view sid, tg_call_sink sink) {
  emit(getRecord<CallTuple>(ctx, "call_get", kCalls, sid), sink);
}

void SqlStore::callPriceDue(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit,
                            tg_call_sink sink) {
  static constexpr std::string_view op = "call_price_due";
  if (limit == 0 || limit > kMaxPageRows) {
    invalid(op, "limit", "want 1 to " + std::to_string(kMaxPageRows));
  }
  std::vector<CallTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    Poco::Data::Statement st(s);
    st << dialect_.sql(cat({"SELECT ", kCalls.cols,
                            " FROM calls WHERE price_state = 1 AND price_check_at_ms <= ? ORDER BY "
                            "price_check_at_ms, sid LIMIT ",
                            std::to_string(limit)}));
    bindAll(st, {Param(now_ms)});
    st, kw::into(rows), kw::now;
  });
  emit(rows, sink);
}

bool SqlStore::callPriceSet(const sdk::CallContext& ctx, const tg_call_price& p) {
  static constexpr std::string_view op = "call_price_set";
  checkStructSize(op, "price", p.struct_size, sizeof(tg_call_price));
  const std::string tenant = scopedTenant(op, ctx);
  const std::string sid = checkedText(op, "sid", sdk::view(p.sid), kMaxIdBytes, true);
  checkPriceState(op, p.price_state);
  if (p.price_state == TG_OUTBOX_PRICE_NONE) invalid(op, "price_state", "want an outcome");
  if (p.price_micros < 0) invalid(op, "price_micros", "a cost, >= 0");
  bool stored = false, exists = true;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    stored = wroteRow(s, dialect_,
                      "UPDATE calls SET price_state = ?, charged_micros = ?, price_micros = ?, "
                      "price_check_at_ms = ?, updated_at_ms = ? WHERE sid = ? AND tenant_id = ? "
                      "AND price_state = 1 RETURNING sid",
                      {p.price_state, p.charged_micros, p.price_micros, p.price_check_at_ms,
                       p.now_ms, sid, tenant});
    if (!stored) {
      PocoExec x(s, dialect_);
      exists =
          !x.query("SELECT 1 FROM calls WHERE sid = ? AND tenant_id = ?", {sid, tenant}).empty();
    }
  });
  if (!exists) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no call '", sid, "'"}));
  }
  return stored;
}

void SqlStore::callList(const sdk::CallContext& ctx, const tg_log_query& q, tg_call_sink sink) {
  emit(listRecords<CallTuple>(ctx, "call_list", kCalls, q), sink);
}

}  // namespace tollgate::storage_sql
