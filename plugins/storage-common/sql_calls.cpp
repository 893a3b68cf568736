// Call records (ABI 1.1): one row per voice call, its status moving forward only.
#include <vector>

#include "sql_records.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

using CallTuple =
    Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                Poco::Int32, Poco::Int32, std::string, Poco::Int64, Poco::Int64>;

constexpr RecordTable kCalls{
    "calls", "call",
    "sid, tenant_id, direction, from_number, to_number, status, status_rank, duration_s, "
    "recording_url, created_at_ms, updated_at_ms"};

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
                               int32_t duration_s, int64_t now_ms) {
  const StatusUpdate u = checkedStatusUpdate(op, ctx, sid, status, status_rank);
  // A negative duration keeps the stored one.
  std::vector<SetColumn> also;
  if (duration_s >= 0) also.push_back({"duration_s = ?", duration_s});
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

void SqlStore::callList(const sdk::CallContext& ctx, const tg_log_query& q, tg_call_sink sink) {
  emit(listRecords<CallTuple>(ctx, "call_list", kCalls, q), sink);
}

}  // namespace tollgate::storage_sql
