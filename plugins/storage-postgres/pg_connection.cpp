#include "pg_connection.hpp"

#include <Poco/Data/LOB.h>

#include <memory>
#include <optional>

#include "sql_settings.hpp"

namespace tollgate::storage_postgres {
namespace {

using storage_sql::DbError;
using storage_sql::DbErrorKind;
using storage_sql::DbFailure;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

DbErrorKind kindOfState(std::string_view state) {
  if (state == "23505") return DbErrorKind::kConflict;
  if (state == "23503") return DbErrorKind::kMissingReference;
  if (state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0) return DbErrorKind::kInvalid;
  // serialization_failure, deadlock_detected, lock_not_available
  if (state == "40001" || state == "40P01" || state == "55P03") return DbErrorKind::kRetryable;
  if (state == "57014") return DbErrorKind::kTimeout;  // statement_timeout
  // connection exceptions, admin/crash shutdown, cannot connect now, insufficient resources
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state.rfind("53", 0) == 0) {
    return DbErrorKind::kUnavailable;
  }
  return DbErrorKind::kOther;
}

PgConnection::PgConnection(const std::string& conninfo, int64_t statement_timeout_ms) {
  numbering_.numbered_placeholders = true;
  conn_ = PQconnectdb(conninfo.c_str());
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    const std::string why =
        conn_ != nullptr ? storage_sql::oneLine(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw DbFailure(DbError{DbErrorKind::kUnavailable, "cannot connect: " + why});
  }
  // libpq prints the server's notices on stderr; a ROLLBACK after a failed COMMIT warns that
  // no transaction is in progress, which is expected there.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  execute("SET client_min_messages = warning");
  execute("SET statement_timeout = " + std::to_string(statement_timeout_ms));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

DbFailure PgConnection::failure(const PGresult* res, std::string_view what) const {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* detail = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : nullptr;
  std::string text = primary != nullptr ? primary : PQerrorMessage(conn_);
  if (detail != nullptr) text += std::string(" (") + detail + ")";
  DbErrorKind kind = state != nullptr ? kindOfState(state) : DbErrorKind::kUnavailable;
  if (PQstatus(conn_) != CONNECTION_OK) kind = DbErrorKind::kUnavailable;
  return DbFailure(DbError{kind, std::string(what) + ": " + storage_sql::oneLine(text)});
}

void PgConnection::execute(std::string_view sql) {
  Result res(PQexec(conn_, std::string(sql).c_str()));
  const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) raise(res.get(), "execute");
}

const std::string& PgConnection::prepared(std::string_view sql) {
  auto it = names_.find(std::string(sql));
  if (it == names_.end()) {
    const std::string name = "u" + std::to_string(names_.size());
    Result res(PQprepare(conn_, name.c_str(), numbering_.sql(sql).c_str(), 0, nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) raise(res.get(), "prepare");
    it = names_.emplace(std::string(sql), name).first;
  }
  return it->second;
}

namespace {

// A statement's values as libpq takes them: every value as text, which the server converts to
// the column's type; bytes as binary. Points into `params`, which must outlive it.
struct Bound {
  explicit Bound(const std::vector<storage_sql::Param>& params)
      : text(params.size()), values(params.size()), lengths(params.size()), formats(params.size()) {
    for (size_t i = 0; i < params.size(); ++i) {
      const storage_sql::Param& p = params[i];
      if (const auto* t = std::get_if<std::string>(&p)) {
        values[i] = t->data();
        lengths[i] = static_cast<int>(t->size());
      } else if (const auto* n = std::get_if<int64_t>(&p)) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
      } else if (const auto* n32 = std::get_if<int32_t>(&p)) {
        text[i] = std::to_string(*n32);
        values[i] = text[i].c_str();
      } else {
        const auto& blob = std::get<Poco::Data::BLOB>(p);
        values[i] = reinterpret_cast<const char*>(blob.rawContent());
        lengths[i] = static_cast<int>(blob.size());
        formats[i] = 1;
      }
    }
  }
  int count() const { return static_cast<int>(values.size()); }

  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
};

bool succeeded(const PGresult* res) {
  const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

storage_sql::Rows rowsOf(const PGresult* res) {
  storage_sql::Rows rows;
  const int n = PQntuples(res), cols = PQnfields(res);
  rows.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> row;
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      row.emplace_back(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

storage_sql::Rows PgConnection::query(std::string_view sql,
                                      const std::vector<storage_sql::Param>& params) {
  const std::string& name = prepared(sql);
  const Bound b(params);
  Result res(PQexecPrepared(conn_, name.c_str(), b.count(), b.values.data(), b.lengths.data(),
                            b.formats.data(), 0));
  if (!succeeded(res.get())) raise(res.get(), "statement");
  return rowsOf(res.get());
}

std::vector<storage_sql::Rows> PgConnection::queryAll(const std::vector<storage_sql::Stmt>& stmts) {
  // PQprepare waits for its answer, which pipeline mode does not allow: prepare first.
  std::vector<const std::string*> names;
  names.reserve(stmts.size());
  for (const auto& s : stmts) names.push_back(&prepared(s.sql));
  // A connection left in the middle of a pipeline is of no further use: the caller drops it
  // on kUnavailable.
  auto lost = [&](std::string_view what) {
    return DbFailure(DbError{
        DbErrorKind::kUnavailable,
        storage_sql::cat({"pipeline: ", what, ": ", storage_sql::oneLine(PQerrorMessage(conn_))})});
  };
  if (PQenterPipelineMode(conn_) != 1) throw lost("cannot enter pipeline mode");
  for (size_t i = 0; i < stmts.size(); ++i) {
    const Bound b(stmts[i].params);
    if (PQsendQueryPrepared(conn_, names[i]->c_str(), b.count(), b.values.data(), b.lengths.data(),
                            b.formats.data(), 0) != 1) {
      throw lost("sending");
    }
  }
  if (PQpipelineSync(conn_) != 1) throw lost("sending");
  // Each statement's result, then the end of its results (a null); statements after one that
  // failed are reported aborted. Then the Sync's own result.
  std::vector<storage_sql::Rows> out(stmts.size());
  std::optional<DbFailure> first_failure;
  for (size_t i = 0; i < stmts.size(); ++i) {
    Result res(PQgetResult(conn_));
    if (!res) throw lost("a result is missing");
    const ExecStatusType st = PQresultStatus(res.get());
    if (succeeded(res.get())) {
      out[i] = rowsOf(res.get());
    } else if (st != PGRES_PIPELINE_ABORTED && !first_failure) {
      first_failure = failure(res.get(), "statement");
    }
    if (Result extra(PQgetResult(conn_)); extra) throw lost("an unexpected result");
  }
  Result sync(PQgetResult(conn_));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) throw lost("no end of pipeline");
  if (PQexitPipelineMode(conn_) != 1) throw lost("cannot leave pipeline mode");
  if (first_failure) throw *first_failure;
  return out;
}

}  // namespace tollgate::storage_postgres
