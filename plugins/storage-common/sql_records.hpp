// What the message and call records have in common: the direction word, the checks of the
// fields both rows have, status updates that only move forward, the newest-first log with its
// (created_at_ms, sid) cursor, and the SqlStore statements that read and write both tables.
// sql_messages.cpp and sql_calls.cpp keep what differs: their columns, their own fields'
// checks, and the conversion between a row and its Poco::Tuple.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/Statement.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql_bind.hpp"
#include "sql_dialect.hpp"
#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {

// A table of records (messages, calls): what the statements they share need to know of it.
struct RecordTable {
  std::string_view name;         // the table
  std::string_view noun;         // what one row is called in error messages
  std::string_view cols;         // what a SELECT reads, in the order of the record's Poco::Tuple
  std::string_view key = "sid";  // the column that names a row within its tenant
};

// The ABI numbers directions; the schema stores them as Twilio words (see sql_schema.cpp).
// Throws TG_ERR_INVALID_ARGUMENT naming `direction` for an unknown value.
std::string_view directionWord(std::string_view op, tg_direction direction);
tg_direction directionFromWord(std::string_view word);

// The fields that begin both a tg_message_row and a tg_call_row, checked.
struct RecordHead {
  std::string tenant;
  std::string sid;
  std::string_view direction;  // the word stored
  std::string from;
  std::string to;
};
template <typename Row>
RecordHead checkedRecordHead(std::string_view op, const sdk::CallContext& ctx, const Row& row) {
  checkStructSize(op, "row", row.struct_size, sizeof(Row));
  RecordHead h;
  h.tenant = owningTenant(op, ctx, row.tenant_id);
  h.sid = checkedText(op, "sid", sdk::view(row.sid), kMaxIdBytes, true);
  h.direction = directionWord(op, row.direction);
  h.from = checkedText(op, "from_number", sdk::view(row.from_number), kMaxIdBytes, true);
  h.to = checkedText(op, "to_number", sdk::view(row.to_number), kMaxIdBytes, true);
  return h;
}

// A validated tg_log_query as SQL to append to "SELECT ... FROM <table> WHERE tenant_id = ?":
// the filter's conditions, the newest-first order and the limit, and the values of their `?`s.
struct LogFilter {
  std::string sql;
  std::vector<Param> params;
};
LogFilter checkedLogFilter(std::string_view op, const tg_log_query& q, const Dialect& d);

// Checks shared by message and call status updates.
struct StatusUpdate {
  std::string tenant;
  std::string sid;
  std::string status;
  int32_t rank = 0;
};
StatusUpdate checkedStatusUpdate(std::string_view op, const sdk::CallContext& ctx,
                                 std::string_view sid, std::string_view status,
                                 int32_t status_rank);

// A column that a status update sets besides status, status_rank and updated_at_ms:
// "<column> = <SQL with one ?>", and the value bound to that `?`.
struct SetColumn {
  std::string_view sql;
  Param value;
};

// A validated record to insert: "INSERT ... ON CONFLICT DO NOTHING RETURNING sid" (in `?`
// spelling) and the values of its `?`s. Built by checkedMessageInsert/checkedCallInsert.
struct RecordInsert {
  const RecordTable* table = nullptr;
  RecordHead head;
  std::string sql;
  std::vector<Param> params;
};
RecordInsert recordInsert(const RecordTable& t, RecordHead h, std::string_view cols,
                          std::string_view values, std::vector<Param> params);
RecordInsert checkedMessageInsert(std::string_view op, const sdk::CallContext& ctx,
                                  const tg_message_row& row);
RecordInsert checkedCallInsert(std::string_view op, const sdk::CallContext& ctx,
                               const tg_call_row& row);

// A validated change of one record: "UPDATE ... RETURNING sid" and its values. Nothing returned
// means the record is missing or (for a status) not older than the change; `exists_sql` with
// (sid, tenant) tells which.
struct RecordUpdate {
  const RecordTable* table = nullptr;
  std::string tenant;
  std::string sid;
  std::string sql;
  std::vector<Param> params;
  std::string existsSql() const;
};
// Sets the status, its rank, `also` and updated_at_ms when the stored rank is lower.
RecordUpdate statusUpdate(const RecordTable& t, const StatusUpdate& u, int64_t now_ms,
                          const std::vector<SetColumn>& also);
RecordUpdate checkedMessageStatus(std::string_view op, const sdk::CallContext& ctx,
                                  std::string_view sid, std::string_view status,
                                  int32_t status_rank, int32_t error_code, int64_t now_ms);
// price_state non-zero (ABI 1.13): stored with the status, with price_check_at_ms.
RecordUpdate checkedCallStatus(std::string_view op, const sdk::CallContext& ctx,
                               std::string_view sid, std::string_view status, int32_t status_rank,
                               int32_t duration_s, int64_t now_ms, int32_t price_state = 0,
                               int64_t price_check_at_ms = 0);
RecordUpdate checkedCallRecording(std::string_view op, const sdk::CallContext& ctx,
                                  std::string_view sid, std::string_view recording_url,
                                  int64_t now_ms);

// ---- SqlStore's statements on a table of records (the others are in sql_records.cpp) ----

// The tenant's record `sid`, as one tuple; TG_ERR_NOT_FOUND when it has none.
template <typename Tuple>
std::vector<Tuple> SqlStore::getRecord(const sdk::CallContext& ctx, std::string_view op,
                                       const RecordTable& t, std::string_view sid) {
  const std::string tenant = scopedTenant(op, ctx);
  const std::string id = checkedText(op, "sid", sid, kMaxIdBytes, true);
  std::vector<Tuple> rows;
  run(ctx, op, Tx::kNone, [&](Poco::Data::Session& s) {
    rows.clear();
    s << dialect_.sql(
        cat({"SELECT ", t.cols, " FROM ", t.name, " WHERE sid = ? AND tenant_id = ?"})),
        text(id), text(tenant), kw::into(rows), kw::now;
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", t.noun, " '", id, "'"}));
  }
  return rows;
}

// One page of the tenant's records, newest first, as `q` filters them.
template <typename Tuple>
std::vector<Tuple> SqlStore::listRecords(const sdk::CallContext& ctx, std::string_view op,
                                         const RecordTable& t, const tg_log_query& q) {
  const std::string tenant = scopedTenant(op, ctx);
  const LogFilter f = checkedLogFilter(op, q, dialect_);
  const std::string sql =
      dialect_.sql(cat({"SELECT ", t.cols, " FROM ", t.name, " WHERE tenant_id = ?", f.sql}));
  std::vector<Tuple> rows;
  run(ctx, op, Tx::kNone, [&](Poco::Data::Session& s) {
    rows.clear();
    Poco::Data::Statement st(s);
    st << sql;
    st, text(tenant);
    bindAll(st, f.params);
    st, kw::into(rows), kw::now;
  });
  return rows;
}

}  // namespace tollgate::storage_sql
