#include "sqlite_connection.hpp"

#include <algorithm>

#include <Poco/Data/LOB.h>

#include "sql_bind.hpp"

namespace tollgate::storage_sqlite {
namespace {

using storage_sql::DbError;
using storage_sql::DbErrorKind;
using storage_sql::DbFailure;

// The same meanings as classify() in storage_sqlite.cpp gives Poco's exceptions.
DbErrorKind kindOf(int extended) {
  switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return DbErrorKind::kConflict;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return DbErrorKind::kMissingReference;
    default:
      break;
  }
  switch (extended & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return DbErrorKind::kInvalid;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return DbErrorKind::kRetryable;
    case SQLITE_INTERRUPT:
      return DbErrorKind::kTimeout;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return DbErrorKind::kUnavailable;
    default:
      return DbErrorKind::kOther;
  }
}

}  // namespace

Checkpointer::Checkpointer(std::string path, int64_t busy_timeout_ms, Warn warn)
    : path_(std::move(path)),
      busy_timeout_ms_(busy_timeout_ms),
      warn_(std::move(warn)),
      thread_([this] { run(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Checkpointer::walGrew(sqlite3* writer, int pages) {
  if (pages >= kRestartPages || (pages >= kPages && caught_up_.exchange(false))) {
    int wal_pages = 0, copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      warn_(std::string("WAL checkpoint failed: ") + sqlite3_errmsg(writer));
    }
    return;
  }
  // Called after every commit: costs a lock and a wake-up only when a checkpoint is due.
  if (pages < kPages || asked_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    due_ = true;
  }
  wake_.notify_one();
}

void Checkpointer::run() {
  sqlite3* db = nullptr;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return due_ || stopping_; });
    if (stopping_) break;
    due_ = false;
    lock.unlock();
    if (db == nullptr &&
        sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      warn_("WAL checkpoint: cannot open " + path_ + ": " + sqlite3_errmsg(db));
      sqlite3_close_v2(db);
      db = nullptr;
    }
    if (db != nullptr) {
      sqlite3_busy_timeout(db, static_cast<int>(busy_timeout_ms_));
      int wal_pages = 0, copied = 0;
      const int rc =
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        warn_(std::string("WAL checkpoint failed: ") + sqlite3_errmsg(db));
      }
      caught_up_ = rc == SQLITE_OK;
    }
    asked_ = false;
    lock.lock();
  }
  sqlite3_close_v2(db);
}

SqliteConnection::SqliteConnection(const std::string& path, int64_t busy_timeout_ms,
                                   const std::string& synchronous,
                                   std::shared_ptr<Checkpointer> checkpointer)
    : checkpointer_(std::move(checkpointer)) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw DbFailure(DbError{DbErrorKind::kUnavailable, "cannot open " + path + ": " + why});
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout_ms));
  execute("PRAGMA journal_mode = WAL");
  // Same durability as every other connection (docs/adr/0005): FULL syncs each COMMIT.
  execute("PRAGMA synchronous = " + synchronous);
  execute("PRAGMA foreign_keys = ON");
  // Each unit runs in a SAVEPOINT, whose undo records go to a sub-journal: in memory, not a
  // temporary file opened, written and deleted for every batch.
  execute("PRAGMA temp_store = MEMORY");
  if (checkpointer_) {
    // Replaces SQLite's automatic checkpoint of this connection (sqlite3_wal_autocheckpoint is
    // this same hook).
    sqlite3_wal_hook(
        db_,
        [](void* checkpointer, sqlite3* db, const char*, int pages) {
          static_cast<Checkpointer*>(checkpointer)->walGrew(db, pages);
          return SQLITE_OK;
        },
        checkpointer_.get());
  }
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, st] : statements_) sqlite3_finalize(st);
  sqlite3_close_v2(db_);
}

void SqliteConnection::raise(int rc, std::string_view what) const {
  const int extended = sqlite3_extended_errcode(db_);
  throw DbFailure(DbError{kindOf(extended != 0 ? extended : rc),
                          std::string(what) + ": " + sqlite3_errmsg(db_)});
}

void SqliteConnection::limitWaits(int64_t ms) {
  const int rc = sqlite3_busy_timeout(db_, static_cast<int>(std::clamp<int64_t>(ms, 1, INT32_MAX)));
  if (rc != SQLITE_OK) raise(rc, "busy_timeout");
}

sqlite3_stmt* SqliteConnection::prepared(std::string_view sql) {
  const std::string key(sql);
  if (auto it = statements_.find(key); it != statements_.end()) return it->second;
  sqlite3_stmt* st = nullptr;
  const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                    SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) raise(rc, "prepare");
  statements_.emplace(key, st);
  return st;
}

storage_sql::Rows SqliteConnection::query(std::string_view sql,
                                          const std::vector<storage_sql::Param>& params) {
  sqlite3_stmt* st = prepared(sql);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  int i = 0;
  for (const storage_sql::Param& p : params) {
    ++i;
    int rc = SQLITE_OK;
    if (const auto* t = std::get_if<std::string>(&p)) {
      rc = sqlite3_bind_text(st, i, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
    } else if (const auto* n = std::get_if<int64_t>(&p)) {
      rc = sqlite3_bind_int64(st, i, *n);
    } else if (const auto* n32 = std::get_if<int32_t>(&p)) {
      rc = sqlite3_bind_int(st, i, *n32);
    } else {
      const auto& blob = std::get<Poco::Data::BLOB>(p);
      rc = sqlite3_bind_blob(st, i, blob.rawContent(), static_cast<int>(blob.size()),
                             SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) raise(rc, "bind");
  }
  storage_sql::Rows rows;
  for (;;) {
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      sqlite3_reset(st);
      raise(rc, "step");
    }
    const int cols = sqlite3_column_count(st);
    std::vector<std::string> row;
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
      row.emplace_back(text == nullptr
                           ? std::string()
                           : std::string(text, static_cast<size_t>(sqlite3_column_bytes(st, c))));
    }
    rows.push_back(std::move(row));
  }
  sqlite3_reset(st);
  return rows;
}

}  // namespace tollgate::storage_sqlite
