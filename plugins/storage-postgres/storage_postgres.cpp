// storage-postgres: the storage backend for several daemons sharing one database. Writers that
// touch the same wallet queue on its row lock (SELECT ... FOR UPDATE); migrations queue on a
// transaction-scoped advisory lock.
#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/Session.h>
#include <libpq-fe.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pg_connection.hpp"
#include "sql_bind.hpp"
#include "sql_settings.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"

namespace tollgate::storage_postgres {
namespace {

using storage_sql::DbError;
using storage_sql::DbErrorKind;
namespace kw = Poco::Data::Keywords;
namespace pg = Poco::Data::PostgreSQL;

// Units in one batch: a pipeline's results must fit the sockets' buffers (PgConnection::queryAll).
constexpr size_t kMaxBatch = 64;

// Key of the advisory lock that serialises migrations: "tollgate" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(8389755023011706981)";

// Poco's PostgreSQL connector puts the server's SQLSTATE in the message ("... State: 23505
// Detail: ..."); it has no accessor for it.
std::string field(const std::string& msg, std::string_view name, std::string_view next) {
  const auto start = msg.find(name);
  if (start == std::string::npos) return {};
  const auto from = start + name.size();
  const auto end = msg.find(next, from);
  return msg.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

DbError classify(const Poco::Exception& e) {
  const std::string msg = e.message();
  // The primary message ("duplicate key value violates ...") plus the server's DETAIL.
  std::string detail = storage_sql::oneLine(msg);
  if (const auto at = msg.find("ERROR:  "); at != std::string::npos) {
    detail = storage_sql::oneLine(msg.substr(at + 8, msg.find('\n', at) - at - 8));
    const std::string more = storage_sql::oneLine(field(msg, " Detail: ", " Hint: "));
    if (!more.empty() && more != "N/A") detail += " (" + more + ")";
  }
  if (dynamic_cast<const pg::ConnectionException*>(&e) != nullptr ||
      dynamic_cast<const Poco::Data::ConnectionFailedException*>(&e) != nullptr ||
      dynamic_cast<const Poco::Data::NotConnectedException*>(&e) != nullptr) {
    return {DbErrorKind::kUnavailable, detail};
  }
  const std::string state = storage_sql::oneLine(field(msg, " State: ", " "));
  return {kindOfState(state), detail};
}

storage_sql::Dialect postgresDialect(int64_t statement_timeout_ms) {
  storage_sql::Dialect d;
  d.name = "postgres";
  d.numbered_placeholders = true;
  d.seq_pk = "BIGSERIAL PRIMARY KEY";
  d.blob = "BYTEA";
  // Byte-wise order whatever the database's collation, as on SQLite.
  d.id_text = "TEXT COLLATE \"C\"";
  d.bytewise = " COLLATE \"C\"";
  d.begin_write = "";  // Session::begin(): see Dialect::begin_write
  d.migration_lock = kMigrationLock;
  d.lock_rows = " FOR UPDATE";
  d.wait_limit_prefix = "SET LOCAL statement_timeout = ";
  d.wait_limit_sql = "SELECT set_config('statement_timeout', ?, true)";
  d.lock_wait_prefix = "SET LOCAL lock_timeout = ";
  d.wait_limit_before_begin = false;
  d.max_wait_ms = statement_timeout_ms;
  // Transaction-scoped advisory locks on the (tenant, phone) pair, in the two-key space (which
  // does not overlap the one-key space of kMigrationLock); 0x74674f4f is "tgOO".
  d.registry_lock_exclusive = "SELECT 1 FROM pg_advisory_xact_lock(1952927567, hashtext(?))";
  d.registry_lock_shared = "SELECT 1 FROM pg_advisory_xact_lock_shared(1952927567, hashtext(?))";
  d.classify = &classify;
  return d;
}

// A libpq conninfo value, unquoted with backslash escapes: Poco 1.11's connector splits the
// connection string at every space before libpq sees it, so quoting cannot protect a space and
// values must not contain whitespace at all (see settings()).
std::string escape(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool hasSpace(const std::string& v) { return v.find_first_of(" \t\r\n\f\v") != std::string::npos; }

struct Settings {
  std::string conninfo;  // may hold the password: never logged
  std::string where;     // host/port/dbname, for messages
  int64_t statement_timeout_ms;
  size_t pool_size;
  size_t writers;  // group commit batches in flight at once
};

// The DSN (key=value or URI form) parsed by libpq itself, with the password from
// password_file, and defaults for what a daemon should not leave unset.
Settings settings(const sdk::Host& host) {
  Settings s;
  const std::string dsn = host.configOr("dsn", "");
  if (dsn.empty()) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.dsn: required");
  char* error = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &error);
  if (opts == nullptr) {
    const std::string why = error != nullptr ? storage_sql::oneLine(error) : "out of memory";
    PQfreemem(error);
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.dsn: " + why);
  }
  std::map<std::string, std::string> values;
  for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) values[o->keyword] = o->val;
  }
  PQconninfoFree(opts);

  const std::string password_file = host.configOr("password_file", "");
  if (!password_file.empty()) {
    values["password"] =
        storage_sql::readSecretFile("password_file", storage_sql::resolvePath(host, password_file));
  }
  values.try_emplace("connect_timeout", "10");  // libpq waits forever by default
  values.try_emplace("application_name", "tollgated");
  for (const auto& [k, v] : values) {
    if (v.empty()) continue;  // empty means libpq's default anyway
    if (hasSpace(v)) {
      throw sdk::Error(
          TG_ERR_INVALID_ARGUMENT,
          "settings." +
              std::string(k == "password" && !password_file.empty() ? "password_file" : "dsn") +
              ": the value of '" + k +
              "' contains whitespace, which the PostgreSQL connector (Poco 1.11) "
              "cannot pass on" +
              (k == "options" ? " (write -c options as -cname=value)" : ""));
    }
    s.conninfo += k + "=" + escape(v) + " ";
  }
  s.where = "host=" + (values.count("host") ? values["host"] : std::string("(default)")) +
            " dbname=" + (values.count("dbname") ? values["dbname"] : std::string("(default)"));
  s.statement_timeout_ms = storage_sql::intSetting(host, "statement_timeout_ms", 0, 3600000);
  s.pool_size = static_cast<size_t>(storage_sql::intSetting(host, "pool_size", 1, 256));
  s.writers = static_cast<size_t>(storage_sql::intSetting(host, "writers", 1, 16));
  return s;
}

Poco::Data::Session open(const Settings& s) {
  static std::once_flag registered;
  std::call_once(registered, [] { pg::Connector::registerConnector(); });
  Poco::Data::Session session(pg::Connector::KEY, s.conninfo);
  // Poco prints the server's NOTICEs on stderr (e.g. "relation already exists, skipping").
  session << "SET client_min_messages = warning", kw::now;
  session << "SET statement_timeout = " + std::to_string(s.statement_timeout_ms), kw::now;
  return session;
}

class PostgresStorage : public storage_sql::SqlStore {
 public:
  explicit PostgresStorage(sdk::Host host) : PostgresStorage(host, settings(host)) {}

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        sdk::configKey(sdk::lit("dsn"), TG_CONFIG_STRING, true, sdk::lit(""),
                       sdk::lit("libpq connection string, e.g. 'host=127.0.0.1 port=5432 "
                                "dbname=tollgate user=tollgate' (no password here)")),
        sdk::configKey(sdk::lit("password_file"), TG_CONFIG_PATH, false, sdk::lit(""),
                       sdk::lit("file holding the database password (trimmed); relative paths "
                                "are relative to the state directory")),
        sdk::configKey(sdk::lit("pool_size"), TG_CONFIG_INT, false, sdk::lit("8"),
                       sdk::lit("number of database connections (1-256)")),
        sdk::configKey(sdk::lit("writers"), TG_CONFIG_INT, false, sdk::lit("2"),
                       sdk::lit("connections that commit batches of writes, each batch while "
                                "the one before waits for its COMMIT to be durable (1-16; "
                                "besides pool_size)")),
        sdk::configKey(sdk::lit("statement_timeout_ms"), TG_CONFIG_INT, false, sdk::lit("5000"),
                       sdk::lit("server-side limit on one statement, lock waits included (ms; "
                                "0: none)")),
    };
    return {keys, sizeof(keys) / sizeof(keys[0])};
  }

 private:
  PostgresStorage(sdk::Host host, const Settings& s)
      : SqlStore(
            host, postgresDialect(s.statement_timeout_ms), [s] { return open(s); }, s.pool_size) {
    this->host().info("using PostgreSQL database " + s.where);
    // Units of work (every webhook's writes) go through libpq, statements prepared once, and
    // are committed in groups: a batch of webhooks costs a few round trips and one commit.
    enableGroupCommit(
        [s]() -> std::unique_ptr<storage_sql::SqlExec> {
          return std::make_unique<PgConnection>(s.conninfo, s.statement_timeout_ms);
        },
        {.begin = "BEGIN",
         .pipelined = true,
         .ledger_batches = true,
         .max_batch = kMaxBatch,
         .writers = s.writers});
  }
};

}  // namespace
}  // namespace tollgate::storage_postgres

TOLLGATE_PLUGIN(tollgate::storage_postgres::PostgresStorage, "storage-postgres", "1.3.0")
