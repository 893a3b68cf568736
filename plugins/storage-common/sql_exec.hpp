// One statement at a time on some connection: what the units of work (sql_units.cpp) are
// written against, so that the same operations run on a pooled Poco::Data session (PostgreSQL,
// and SQLite calls outside units) and on storage-sqlite's group-commit writer, which keeps its
// own SQLite connection with prepared statements cached.
#pragma once

#include <Poco/Data/Session.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sql_bind.hpp"
#include "sql_dialect.hpp"

namespace tollgate::storage_sql {

// Every value of a row as text (integers in decimal; NULL as "").
using Rows = std::vector<std::vector<std::string>>;

// A database error raised outside Poco (by storage-sqlite's own connection), already
// classified.
class DbFailure : public std::runtime_error {
 public:
  explicit DbFailure(DbError e) : std::runtime_error(e.detail), error(std::move(e)) {}
  DbError error;
};

// A statement and the values of its `?`s, for SqlExec::queryAll.
struct Stmt {
  std::string_view sql;
  std::vector<Param> params;
};

class SqlExec {
 public:
  virtual ~SqlExec() = default;
  // Runs `sql` (`?` placeholders, in SQLite's spelling) with `params` bound in order, and
  // returns the rows it produced. Throws Poco::Exception or DbFailure.
  virtual Rows query(std::string_view sql, const std::vector<Param>& params) = 0;
  // A statement without parameters or rows (BEGIN, SAVEPOINT, ...).
  virtual void execute(std::string_view sql) { query(sql, {}); }
  // Bounds how long the next transaction waits for the database's write lock (storage-sqlite:
  // the busy timeout). Engines that bound waits with a statement (Dialect::wait_limit_sql)
  // leave it alone.
  virtual void limitWaits(int64_t /*ms*/) {}
  // Runs `stmts` in order and returns the rows of each. Stops at the first that fails and
  // throws as query() does; the ones after it did not run. Where the connection can
  // (storage-postgres: libpq's pipeline mode), all of them in one round trip.
  virtual std::vector<Rows> queryAll(const std::vector<Stmt>& stmts) {
    std::vector<Rows> out;
    out.reserve(stmts.size());
    for (const Stmt& s : stmts) out.push_back(query(s.sql, s.params));
    return out;
  }
};

// Over a Poco::Data session, in the dialect's spelling.
class PocoExec : public SqlExec {
 public:
  PocoExec(Poco::Data::Session& session, const Dialect& dialect)
      : session_(session), dialect_(dialect) {}
  Rows query(std::string_view sql, const std::vector<Param>& params) override;

 private:
  Poco::Data::Session& session_;
  const Dialect& dialect_;
};

}  // namespace tollgate::storage_sql
