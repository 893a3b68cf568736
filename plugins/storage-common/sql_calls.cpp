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

void SqlStore::callInsert(const sdk::CallContext& ctx, const tg_call_row& row) {
  static constexpr std::string_view op = "call_insert";
  const RecordHead h = checkedRecordHead(op, ctx, row);
  const std::string status = checkedText(op, "status", sdk::view(row.status), kMaxIdBytes, true);
  if (row.status_rank < 0) invalid(op, "status_rank", "must be >= 0");
  if (row.duration_s < 0) invalid(op, "duration_s", "must be >= 0");
  const std::string url =
      checkedText(op, "recording_url", sdk::view(row.recording_url), kMaxUrlBytes, false);
  insertRecord(
      ctx, op, kCalls, h,
      "status, status_rank, duration_s, recording_url, created_at_ms, updated_at_ms",
      "?, ?, ?, ?, ?, ?",
      {status, row.status_rank, row.duration_s, url, row.created_at_ms, row.updated_at_ms});
}

bool SqlStore::callUpdateStatus(const sdk::CallContext& ctx, std::string_view sid,
                                std::string_view status, int32_t status_rank, int32_t duration_s,
                                int64_t now_ms) {
  static constexpr std::string_view op = "call_update_status";
  const StatusUpdate u = checkedStatusUpdate(op, ctx, sid, status, status_rank);
  // A negative duration keeps the stored one.
  std::vector<SetColumn> also;
  if (duration_s >= 0) also.push_back({"duration_s = ?", duration_s});
  return updateRecordStatus(ctx, op, kCalls, u, now_ms, also);
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
  emit(getRecord<CallTuple>(ctx, "call_get", kCalls, sid), sink);
}

void SqlStore::callList(const sdk::CallContext& ctx, const tg_log_query& q, tg_call_sink sink) {
  emit(listRecords<CallTuple>(ctx, "call_list", kCalls, q), sink);
}

}  // namespace tollgate::storage_sql
