// storage-sqlite: the storage backend for a single host. One database file in WAL mode, so
// readers never wait for the writer; writers are serialised by SQLite itself (BEGIN IMMEDIATE),
// which makes the ledger's per-wallet serialisation hold trivially. Units of work (what each
// webhook writes) are committed in groups by one writer connection (sql_units.cpp).
#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/Session.h>

#include <mutex>
#include <string>

#include "sql_bind.hpp"
#include "sql_settings.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sqlite_connection.hpp"

namespace tollgate::storage_sqlite {
namespace {

using storage_sql::DbError;
using storage_sql::DbErrorKind;
namespace kw = Poco::Data::Keywords;
namespace sq = Poco::Data::SQLite;

DbError classify(const Poco::Exception& e) {
  const std::string detail = storage_sql::oneLine(e.displayText());
  if (dynamic_cast<const sq::ConstraintViolationException*>(&e) != nullptr) {
    // SQLite reports every constraint with the same code; its message says which kind.
    if (detail.find("UNIQUE constraint") != std::string::npos ||
        detail.find("PRIMARY KEY constraint") != std::string::npos) {
      return {DbErrorKind::kConflict, detail};
    }
    if (detail.find("FOREIGN KEY constraint") != std::string::npos) {
      return {DbErrorKind::kMissingReference, detail};
    }
    return {DbErrorKind::kInvalid, detail};
  }
  if (dynamic_cast<const sq::DataTypeMismatchException*>(&e) != nullptr) {
    return {DbErrorKind::kInvalid, detail};
  }
  // SQLITE_BUSY / SQLITE_LOCKED after busy_timeout: another connection holds the lock.
  if (dynamic_cast<const sq::DBLockedException*>(&e) != nullptr ||
      dynamic_cast<const sq::TableLockedException*>(&e) != nullptr) {
    return {DbErrorKind::kRetryable, detail};
  }
  if (dynamic_cast<const sq::InterruptException*>(&e) != nullptr) {
    return {DbErrorKind::kTimeout, detail};
  }
  if (dynamic_cast<const sq::CantOpenDBFileException*>(&e) != nullptr ||
      dynamic_cast<const sq::IOErrorException*>(&e) != nullptr ||
      dynamic_cast<const sq::DBAccessDeniedException*>(&e) != nullptr ||
      dynamic_cast<const sq::ReadOnlyException*>(&e) != nullptr ||
      dynamic_cast<const sq::DatabaseFullException*>(&e) != nullptr ||
      dynamic_cast<const sq::CorruptImageException*>(&e) != nullptr ||
      dynamic_cast<const sq::LockProtocolException*>(&e) != nullptr ||
      dynamic_cast<const Poco::Data::ConnectionFailedException*>(&e) != nullptr ||
      dynamic_cast<const Poco::Data::NotConnectedException*>(&e) != nullptr) {
    return {DbErrorKind::kUnavailable, detail};
  }
  return {DbErrorKind::kOther, detail};
}

storage_sql::Dialect sqliteDialect(int64_t busy_timeout_ms) {
  storage_sql::Dialect d;
  d.name = "sqlite";
  d.numbered_placeholders = false;
  // AUTOINCREMENT: a rowid is never reused, even after the newest row is deleted.
  d.seq_pk = "INTEGER PRIMARY KEY AUTOINCREMENT";
  d.blob = "BLOB";
  d.id_text = "TEXT";  // SQLite compares TEXT byte-wise (BINARY collation) already
  d.bytewise = "";     // likewise
  d.begin_write = "BEGIN IMMEDIATE";
  d.migration_lock = "";  // BEGIN IMMEDIATE already excludes every other writer
  d.lock_rows = "";       // likewise
  d.outbox_due_index = " INDEXED BY outbox_due";  // see sql_dialect.hpp
  d.wait_limit_prefix = "PRAGMA busy_timeout = ";
  d.wait_limit_before_begin = true;  // BEGIN IMMEDIATE itself waits for the write lock
  d.serialize_writes = true;  // writers of this process queue in-process, not in busy_timeout
  d.max_wait_ms = busy_timeout_ms;
  d.classify = &classify;
  return d;
}

struct Settings {
  std::string path;
  int64_t busy_timeout_ms;
  size_t pool_size;
  std::string synchronous;
};

Settings settings(const sdk::Host& host) {
  Settings s;
  const std::string path = host.configOr("path", "tollgate.db");
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) {
    // Each pooled connection would get its own in-memory database, and URIs bypass the
    // state-directory rule: both would surprise.
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.path: want a file path (relative to the state directory)");
  }
  s.path = storage_sql::resolvePath(host, path);
  s.busy_timeout_ms = storage_sql::intSetting(host, "busy_timeout_ms", 1, 600000);
  s.pool_size = static_cast<size_t>(storage_sql::intSetting(host, "pool_size", 1, 256));
  s.synchronous = host.configOr("synchronous", "full");
  if (s.synchronous != "full" && s.synchronous != "normal") {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.synchronous: want full or normal");
  }
  return s;
}

// Every connection gets the same settings: the pragmas below are per connection, except the
// journal mode, which is stored in the file (setting it again is a no-op).
Poco::Data::Session open(const Settings& s) {
  static std::once_flag registered;
  std::call_once(registered, [] { sq::Connector::registerConnector(); });
  Poco::Data::Session session(sq::Connector::KEY, s.path);
  // First, so that switching to WAL below also waits for a busy file instead of failing.
  session << "PRAGMA busy_timeout = " + std::to_string(s.busy_timeout_ms), kw::now;
  std::string mode;
  session << "PRAGMA journal_mode = WAL", kw::into(mode), kw::now;
  if (mode != "wal") {
    throw sq::SQLiteException("cannot switch " + s.path + " to WAL (journal_mode is " + mode + ")");
  }
  // FULL (default): every commit is on disk before it returns, which a ledger and webhook
  // dedupe records need. NORMAL in WAL mode trades that for speed: a power loss may lose the
  // last commits (never corrupting the file). See docs/adr/0005.
  session << "PRAGMA synchronous = " + s.synchronous, kw::now;
  session << "PRAGMA foreign_keys = ON", kw::now;
  return session;
}

class SqliteStorage : public storage_sql::SqlStore {
 public:
  explicit SqliteStorage(sdk::Host host) : SqliteStorage(host, settings(host)) {}

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        sdk::configKey(sdk::lit("path"), TG_CONFIG_PATH, false, sdk::lit("tollgate.db"),
                       sdk::lit("database file; relative paths are relative to the state "
                                "directory")),
        sdk::configKey(sdk::lit("busy_timeout_ms"), TG_CONFIG_INT, false, sdk::lit("5000"),
                       sdk::lit("how long a connection waits for another one's lock before "
                                "giving up (ms)")),
        sdk::configKey(sdk::lit("pool_size"), TG_CONFIG_INT, false, sdk::lit("8"),
                       sdk::lit("number of database connections (1-256)")),
        sdk::configKey(sdk::lit("synchronous"), TG_CONFIG_STRING, false, sdk::lit("full"),
                       sdk::lit("full: each commit reaches the disk before it returns; normal: "
                                "faster, a power loss may lose the last commits")),
    };
    return {keys, sizeof(keys) / sizeof(keys[0])};
  }

 private:
  SqliteStorage(sdk::Host host, const Settings& s)
      : SqlStore(
            host, sqliteDialect(s.busy_timeout_ms), [s] { return open(s); }, s.pool_size) {
    this->host().info("using SQLite database " + s.path);
    // Units of work (every webhook's writes) share transactions and syncs: SQLite has one
    // writer, so separate commits could never share a sync.
    auto checkpointer = std::make_shared<Checkpointer>(
        s.path, s.busy_timeout_ms, [h = this->host()](const std::string& m) { h.warn(m); });
    enableGroupCommit(
        [s, checkpointer]() -> std::unique_ptr<storage_sql::SqlExec> {
          return std::make_unique<SqliteConnection>(s.path, s.busy_timeout_ms, s.synchronous,
                                                    checkpointer);
        },
        {});
  }
};

}  // namespace
}  // namespace tollgate::storage_sqlite

TOLLGATE_PLUGIN(tollgate::storage_sqlite::SqliteStorage, "storage-sqlite", "1.3.0")
