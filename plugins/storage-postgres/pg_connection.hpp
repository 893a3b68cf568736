// storage-postgres's connections for units of work (every webhook's writes): libpq directly,
// each statement prepared once per connection (PQprepare) and then run in one round trip
// (PQexecPrepared). Poco::Data prepares, executes and deallocates every statement: three round
// trips each.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sql_dialect.hpp"
#include "sql_exec.hpp"

namespace tollgate::storage_postgres {

// What a SQLSTATE means for the caller (shared with the Poco connector's classification).
storage_sql::DbErrorKind kindOfState(std::string_view state);

class PgConnection : public storage_sql::SqlExec {
 public:
  // Connects with `conninfo`, and sets the session's statement_timeout (0: none) once, rather
  // than in every transaction. Throws storage_sql::DbFailure.
  PgConnection(const std::string& conninfo, int64_t statement_timeout_ms);
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  storage_sql::Rows query(std::string_view sql,
                          const std::vector<storage_sql::Param>& params) override;
  void execute(std::string_view sql) override;
  // In pipeline mode: every statement sent, then one Sync, then every result read; one round
  // trip. The caller bounds how many (a blocking connection whose server cannot send its
  // results while the client is still sending would wait forever; a few hundred small results
  // fit in the sockets' buffers many times over).
  std::vector<storage_sql::Rows> queryAll(const std::vector<storage_sql::Stmt>& stmts) override;

 private:
  // The name of `sql`'s prepared statement, prepared now if it is new to this connection.
  const std::string& prepared(std::string_view sql);
  storage_sql::DbFailure failure(const PGresult* res, std::string_view what) const;
  [[noreturn]] void raise(const PGresult* res, std::string_view what) const {
    throw failure(res, what);
  }

  PGconn* conn_ = nullptr;
  storage_sql::Dialect numbering_;                      // `?` to `$n`
  std::unordered_map<std::string, std::string> names_;  // SQL -> prepared statement's name
};

}  // namespace tollgate::storage_postgres
