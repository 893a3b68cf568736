// What the message and call records have in common: the direction word, status updates that
// only move forward, and the newest-first log with its (created_at_ms, sid) cursor.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/Statement.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sql_dialect.hpp"

namespace tollgate::storage_sql {

// The ABI numbers directions; the schema stores them as Twilio words (see sql_schema.cpp).
// Throws TG_ERR_INVALID_ARGUMENT naming `direction` for an unknown value.
std::string_view directionWord(std::string_view op, tg_direction direction);
tg_direction directionFromWord(std::string_view word);

// One value bound to a `?`.
using Param = std::variant<std::string, int64_t>;
void bindAll(Poco::Data::Statement& st, const std::vector<Param>& params);

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
};
StatusUpdate checkedStatusUpdate(std::string_view op, const sdk::CallContext& ctx,
                                 std::string_view sid, std::string_view status,
                                 int32_t status_rank);

}  // namespace tollgate::storage_sql
