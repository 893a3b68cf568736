// storage-sqlite's group-commit writer connection: the SQLite C API directly, with every
// statement prepared once and kept (SQLITE_PREPARE_PERSISTENT), so that a batch of units costs
// no parsing. Poco::Data prepares a statement on every execution.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sql_exec.hpp"

namespace tollgate::storage_sqlite {

class SqliteConnection : public storage_sql::SqlExec {
 public:
  // Opens `path` with the settings of every connection of the plugin (busy_timeout, WAL,
  // synchronous, foreign keys). Throws storage_sql::DbFailure.
  SqliteConnection(const std::string& path, int64_t busy_timeout_ms,
                   const std::string& synchronous);
  ~SqliteConnection() override;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  storage_sql::Rows query(std::string_view sql,
                          const std::vector<storage_sql::Param>& params) override;

 private:
  sqlite3_stmt* prepared(std::string_view sql);
  [[noreturn]] void raise(int rc, std::string_view what) const;

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace tollgate::storage_sqlite
