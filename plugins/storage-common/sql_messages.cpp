// Message records (ABI 1.1): one row per SMS/MMS, its status moving forward only.
#include <cstring>
#include <vector>

#include "sql_records.hpp"

namespace tollgate::storage_sql {
namespace {

using MessageTuple = Poco::Tuple<std::string, std::string, std::string, std::string, std::string,
                                 std::string, std::string, Poco::Int32, Poco::Int32, Poco::Int32,
                                 Poco::Int64, std::string, Poco::Int64, Poco::Int64>;

// error_code, price_micros and currency are NULL until known; the ABI says 0 and "".
constexpr RecordTable kMessages{
    "messages", "message",
    "sid, tenant_id, direction, from_number, to_number, body, status, status_rank, "
    "COALESCE(error_code, 0), num_segments, COALESCE(price_micros, 0), COALESCE(currency, ''), "
    "created_at_ms, updated_at_ms"};

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

RecordInsert checkedMessageInsert(std::string_view op, const sdk::CallContext& ctx,
                                  const tg_message_row& row) {
  RecordHead h = checkedRecordHead(op, ctx, row);
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
  return recordInsert(kMessages, std::move(h),
                      "body, status, status_rank, error_code, num_segments, price_micros, "
                      "currency, created_at_ms, updated_at_ms",
                      "?, ?, ?, NULLIF(?, CAST(0 AS INTEGER)), ?, "
                      "CASE WHEN ? = '' THEN NULL ELSE CAST(? AS BIGINT) END, NULLIF(?, ''), ?, ?",
                      {body, status, row.status_rank, row.error_code, row.num_segments, currency,
                       row.price_micros, currency, row.created_at_ms, row.updated_at_ms});
}

RecordUpdate checkedMessageStatus(std::string_view op, const sdk::CallContext& ctx,
                                  std::string_view sid, std::string_view status,
                                  int32_t status_rank, int32_t error_code, int64_t now_ms) {
  const StatusUpdate u = checkedStatusUpdate(op, ctx, sid, status, status_rank);
  if (error_code < 0) invalid(op, "error_code", "must be >= 0 (0: none)");
  // An error code of 0 ("none reported") keeps the one stored before.
  return statusUpdate(
      kMessages, u, now_ms,
      {{"error_code = COALESCE(NULLIF(?, CAST(0 AS INTEGER)), error_code)", error_code}});
}

void SqlStore::messageInsert(const sdk::CallContext& ctx, const tg_message_row& row) {
  static constexpr std::string_view op = "message_insert";
  insertRecord(ctx, op, checkedMessageInsert(op, ctx, row));
}

bool SqlStore::messageUpdateStatus(const sdk::CallContext& ctx, std::string_view sid,
                                   std::string_view status, int32_t status_rank, int32_t error_code,
                                   int64_t now_ms) {
  static constexpr std::string_view op = "message_update_status";
  return updateRecord(ctx, op,
                      checkedMessageStatus(op, ctx, sid, status, status_rank, error_code, now_ms));
}

void SqlStore::messageGet(const sdk::CallContext& ctx, std::string_view sid, tg_message_sink sink) {
  emit(getRecord<MessageTuple>(ctx, "message_get", kMessages, sid), sink);
}

void SqlStore::messageList(const sdk::CallContext& ctx, const tg_log_query& q,
                           tg_message_sink sink) {
  emit(listRecords<MessageTuple>(ctx, "message_list", kMessages, q), sink);
}

}  // namespace tollgate::storage_sql
