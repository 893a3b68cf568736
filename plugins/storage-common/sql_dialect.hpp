// The few places where SQLite and PostgreSQL differ. Everything else (every query, every
// migration, the ledger's locking protocol) is written once in the shared store, with `?`
// placeholders and DDL tokens that a Dialect turns into the engine's spelling.
#pragma once

#include <Poco/Exception.h>

#include <string>
#include <string_view>

namespace tollgate::storage_sql {

// What a database error means for the caller, whichever engine raised it.
enum class DbErrorKind {
  kConflict,          // a unique or primary key already exists
  kMissingReference,  // a foreign key points at nothing (e.g. an unknown tenant)
  kInvalid,           // a CHECK, NOT NULL or type constraint rejected a value
  kRetryable,         // busy, lock timeout, serialization failure or deadlock: try again
  kUnavailable,       // the connection or the database is gone
  kTimeout,           // the server cancelled the statement (statement_timeout)
  kOther,             // anything else: most likely a bug
};

struct DbError {
  DbErrorKind kind = DbErrorKind::kOther;
  std::string detail;  // the engine's own message, on one line
};

struct Dialect {
  std::string name;  // "sqlite" or "postgres", for messages

  // PostgreSQL numbers its parameters ($1, $2, ...); SQLite takes `?` as written.
  bool numbered_placeholders = false;

  // DDL fragments substituted for the tokens {SEQ_PK}, {BLOB}, {ID_TEXT} and {BYTEWISE} in
  // migrations.
  std::string seq_pk;   // 64-bit auto-incrementing primary key that is never reused
  std::string blob;     // opaque bytes
  std::string id_text;  // TEXT that sorts byte-wise, so paging by id agrees on both engines
  // Appended to a TEXT column in an ORDER BY, a comparison or an index so that it sorts
  // byte-wise whatever the database's collation (" COLLATE \"C\""); empty where TEXT already
  // does (SQLite). Queries and the indexes that serve them must use it alike.
  std::string bytewise;

  // Statement that opens a write transaction. SQLite: "BEGIN IMMEDIATE", so the write lock is
  // taken up front (a deferred transaction that upgrades later fails with SQLITE_BUSY under
  // concurrency). Empty: Session::begin(), which on PostgreSQL also makes Poco defer its
  // DEALLOCATEs to the end of the transaction (they would fail inside an aborted one).
  std::string begin_write;

  // Run first in every migration transaction to serialise daemons migrating at once. Empty when
  // begin_write already excludes every other writer (SQLite).
  std::string migration_lock;

  // Appended to a SELECT that must lock the rows it reads until commit (" FOR UPDATE"). Empty
  // when the write transaction already excludes every other writer (SQLite).
  std::string lock_rows;

  // Written after "FROM outbox" in the claims' reads of due messages, to make the engine read
  // them through the partial index outbox_due. SQLite, without statistics, takes
  // outbox_by_state (state = 1) and sorts every queued row for each claim (" INDEXED BY
  // outbox_due"); PostgreSQL's planner has statistics and needs no hint ("").
  std::string outbox_due_index;

  // Bounds the waits (for locks, mostly) of a write transaction, so that it gives up at the
  // call's deadline instead of running past it: this prefix, completed with a number of
  // milliseconds, runs right before the BEGIN when wait_limit_before_begin (SQLite's
  // busy_timeout, a connection setting, hence re-set for every transaction), else right after
  // it (PostgreSQL's SET LOCAL statement_timeout, which ends with the transaction). The number
  // is the call's remaining time, never more than max_wait_ms, the configured limit (0: none).
  std::string wait_limit_prefix;
  bool wait_limit_before_begin = false;
  // The same bound for a batch of units on the group-commit connection, whose statements are
  // prepared once: a statement run right after BEGIN with the milliseconds (as text) as its
  // one parameter. Empty: SqlExec::limitWaits before BEGIN instead (SQLite).
  std::string wait_limit_sql;
  // Bounds lock waits alone, completed with milliseconds ("SET LOCAL lock_timeout = "): what a
  // migration waits for another daemon's migration lock with. Empty: no such setting.
  std::string lock_wait_prefix;
  // Queue write transactions on an in-process mutex before they reach the database. SQLite has
  // one writer at a time; without this, waiting writers sleep in its busy handler (1-100 ms
  // back-off) instead of starting the moment the lock frees, which ruins tail latency.
  bool serialize_writes = false;
  int64_t max_wait_ms = 0;

  // Serialise the opt-out registry's writes and the reply decisions of one (tenant, phone)
  // across connections: run with the key "<tenant>/<phone>" as the only parameter, in the
  // transaction, before a registry change (exclusive) or a reply decision (shared). Empty when
  // the engine has one writer at a time anyway (SQLite). With them, a reply is either
  // committed before a STOP of the same sender or decided after it, whichever daemon took it.
  std::string registry_lock_exclusive;
  std::string registry_lock_shared;

  // Maps an exception thrown by the engine's Poco connector to its meaning.
  DbError (*classify)(const Poco::Exception& e) = nullptr;

  // `query` with its `?` placeholders in the engine's spelling (quoted text left alone).
  std::string sql(std::string_view query) const;
  // `ddl_template` with its {TOKENS} replaced by this dialect's fragments; "" for a statement
  // that starts with another engine's "{POSTGRES} " or "{SQLITE} " (and that prefix removed
  // for this engine's).
  std::string ddl(std::string_view ddl_template) const;
};

}  // namespace tollgate::storage_sql
