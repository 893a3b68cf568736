#include "sql_store.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "sql_bind.hpp"
#include "sql_schema.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

// Attempts of one operation before giving up on busy/serialization errors. Each retry follows
// a jittered backoff, and the call's deadline bounds the whole loop anyway.
constexpr int kMaxAttempts = 8;
// How long a call without a deadline may wait for a pooled connection.
constexpr int64_t kNoDeadlineWaitMs = 30000;

using TenantTuple = Poco::Tuple<std::string, std::string, Poco::Int32, Poco::Int64>;
using KeyTuple =
    Poco::Tuple<std::string, std::string, std::string, std::string, Poco::Int64, Poco::Int64>;

constexpr std::string_view kTenantCols = "id, name, status, created_at_ms";
// revoked_at_ms is NULL while the key is valid; the ABI says 0.
constexpr std::string_view kKeyCols =
    "id, tenant_id, secret_sha256, label, created_at_ms, COALESCE(revoked_at_ms, 0)";

void checkTenantStatus(std::string_view op, tg_tenant_status status) {
  if (status != TG_TENANT_ACTIVE && status != TG_TENANT_SUSPENDED && status != TG_TENANT_CLOSED) {
    invalid(op, "status", "unknown tenant status " + std::to_string(status));
  }
}

void emit(const std::vector<TenantTuple>& rows, tg_tenant_sink sink) {
  for (const auto& r : rows) {
    const tg_tenant_row out{sizeof(tg_tenant_row), sdk::str(r.get<0>()), sdk::str(r.get<1>()),
                            r.get<2>(), r.get<3>()};
    sink.fn(sink.ctx, &out);
  }
}

void emit(const std::vector<KeyTuple>& rows, tg_api_key_sink sink) {
  for (const auto& r : rows) {
    const tg_api_key_row out{sizeof(tg_api_key_row),
                             sdk::str(r.get<0>()),
                             sdk::str(r.get<1>()),
                             sdk::str(r.get<2>()),
                             sdk::str(r.get<3>()),
                             r.get<4>(),
                             r.get<5>()};
    sink.fn(sink.ctx, &out);
  }
}

bool isConnected(Session& s) {
  try {
    return s.isConnected();
  } catch (...) {
    return false;
  }
}

}  // namespace

SqlStore::SqlStore(sdk::Host host, Dialect dialect, ConnectionPool::Opener opener, size_t pool_size)
    : StoragePlugin(host),
      dialect_(std::move(dialect)),
      pool_(
          [this, open = std::move(opener)] {
            Session s = open();
            this->host().metricAdd("db_connections_opened");
            return s;
          },
          pool_size) {
  try {
    auto lease = pool_.acquire(std::chrono::milliseconds(kNoDeadlineWaitMs));
  } catch (const Poco::Exception& e) {
    throw sdk::Error(TG_ERR_UNAVAILABLE, "cannot open the " + dialect_.name +
                                             " database: " + dialect_.classify(e).detail);
  }
}

int64_t SqlStore::remainingMs(const sdk::CallContext& ctx) const {
  if (ctx.deadline_unix_ms <= 0) return kNoDeadlineWaitMs;
  return ctx.deadline_unix_ms - host().nowUnixMs();
}

int64_t SqlStore::batchWaitLimitMs(const std::vector<std::shared_ptr<OwnedUnit>>& batch) const {
  const int64_t now = host().nowUnixMs();
  int64_t limit = kNoDeadlineWaitMs;
  for (const auto& u : batch) {
    if (u->deadline_unix_ms > 0) limit = std::min(limit, u->deadline_unix_ms - now);
  }
  limit = std::max<int64_t>(limit, 1);
  if (dialect_.max_wait_ms > 0) limit = std::min(limit, dialect_.max_wait_ms);
  return limit;
}

void SqlStore::markDeadlines(const std::vector<std::shared_ptr<OwnedUnit>>& batch) const {
  const int64_t now = host().nowUnixMs();
  for (const auto& u : batch) {
    if (u->status == TG_OK || u->status == TG_ERR_DEADLINE) continue;
    if (u->deadline_unix_ms > 0 && now >= u->deadline_unix_ms) {
      u->status = TG_ERR_DEADLINE;
      u->error = "unit_apply: deadline passed: " + u->error;
    }
  }
}

std::optional<int64_t> SqlStore::waitLimitMs(const sdk::CallContext& ctx, Tx tx) const {
  if (dialect_.wait_limit_prefix.empty()) return std::nullopt;
  // A transaction-local limit for a migration: the rest of its deadline. (A connection setting
  // would outlive the migration, so that kind keeps the configured cap.)
  if (tx == Tx::kMigrate && !dialect_.wait_limit_before_begin && ctx.deadline_unix_ms > 0) {
    return std::max<int64_t>(remainingMs(ctx), 1);
  }
  if (ctx.deadline_unix_ms <= 0) {
    // A connection setting must be put back to the configured value; a transaction-local one
    // is simply left alone.
    if (!dialect_.wait_limit_before_begin || dialect_.max_wait_ms <= 0) return std::nullopt;
    return dialect_.max_wait_ms;
  }
  const int64_t remaining = std::max<int64_t>(remainingMs(ctx), 1);
  return dialect_.max_wait_ms > 0 ? std::min(remaining, dialect_.max_wait_ms) : remaining;
}

void SqlStore::fail(std::string_view op, const DbError& e, int attempts) const {
  throw error(op, e, attempts);
}

sdk::Error SqlStore::error(std::string_view op, const DbError& e, int attempts) const {
  tg_status status = TG_ERR_INTERNAL;
  std::string what;
  switch (e.kind) {
    case DbErrorKind::kConflict:
      status = TG_ERR_CONFLICT;
      what = "already exists";
      break;
    case DbErrorKind::kMissingReference:
      status = TG_ERR_NOT_FOUND;
      what = "refers to a row that does not exist";
      break;
    case DbErrorKind::kInvalid:
      status = TG_ERR_INVALID_ARGUMENT;
      what = "value rejected by the database";
      break;
    case DbErrorKind::kRetryable:
      status = TG_ERR_UNAVAILABLE;
      what = "database busy, gave up after " + std::to_string(attempts) + " attempts";
      break;
    case DbErrorKind::kUnavailable:
      status = TG_ERR_UNAVAILABLE;
      what = "database unavailable";
      break;
    case DbErrorKind::kTimeout:
      status = TG_ERR_DEADLINE;
      what = "statement timed out";
      break;
    case DbErrorKind::kOther:
      status = TG_ERR_INTERNAL;
      what = "database error";
      break;
  }
  std::string msg = std::string(op) + ": " + what + ": " + e.detail;
  if (status == TG_ERR_INTERNAL || status == TG_ERR_UNAVAILABLE) host().warn(msg);
  return sdk::Error(status, msg);
}

void SqlStore::run(const sdk::CallContext& ctx, std::string_view op, Tx tx,
                   const std::function<void(Session&)>& body) {
  const bool native_tx = dialect_.begin_write.empty();
  DbError last;
  for (int attempt = 1;; ++attempt) {
    const int64_t remaining = remainingMs(ctx);
    if (remaining <= 0) {
      throw sdk::Error(TG_ERR_DEADLINE, std::string(op) + ": deadline passed" +
                                            (attempt > 1 ? " while retrying: " + last.detail : ""));
    }
    // Taken before a connection, so a queued writer holds no pooled connection while it waits.
    std::unique_lock<WriteTurn> write_turn(write_mu_, std::defer_lock);
    if (tx != Tx::kNone && dialect_.serialize_writes &&
        !write_turn.try_lock_for(std::chrono::milliseconds(remaining))) {
      throw sdk::Error(TG_ERR_DEADLINE,
                       std::string(op) + ": other writes held the database until the deadline");
    }
    std::optional<ConnectionPool::Lease> lease;
    try {
      lease.emplace(pool_.acquire(std::chrono::milliseconds(remaining)));
    } catch (const PoolTimeout&) {
      throw sdk::Error(TG_ERR_DEADLINE, std::string(op) + ": all " +
                                            std::to_string(pool_.maxSize()) +
                                            " database connections stayed busy until the deadline");
    } catch (const Poco::Exception& e) {
      fail(op, DbError{DbErrorKind::kUnavailable, dialect_.classify(e).detail}, attempt);
    }
    Session& s = lease->session();
    bool in_tx = false;
    bool committing = false;
    auto rollback = [&] {
      if (!in_tx) return;
      in_tx = false;
      try {
        if (native_tx) {
          s.rollback();
        } else {
          s << "ROLLBACK", kw::now;
        }
      } catch (...) {
        // A connection that cannot roll back is in an unknown state: never lend it again.
        lease->discard();
      }
    };
    try {
      if (tx != Tx::kNone) {
        const std::optional<int64_t> limit = waitLimitMs(ctx, tx);
        const std::string bound =
            limit ? dialect_.wait_limit_prefix + std::to_string(*limit) : std::string();
        if (limit && dialect_.wait_limit_before_begin) s << bound, kw::now;
        if (native_tx) {
          s.begin();
        } else {
          s << dialect_.begin_write, kw::now;
        }
        in_tx = true;
        if (limit && !dialect_.wait_limit_before_begin) s << bound, kw::now;
      }
      body(s);
      if (in_tx) {
        committing = true;
        if (native_tx) {
          s.commit();
        } else {
          s << "COMMIT", kw::now;
        }
        in_tx = false;
      }
      return;
    } catch (const Retry& r) {
      rollback();
      last = DbError{DbErrorKind::kRetryable, r.why};
    } catch (const DbFailure& f) {  // classified already (a unit's operation)
      rollback();
      if (f.error.kind != DbErrorKind::kRetryable) fail(op, f.error, attempt);
      last = f.error;
    } catch (const Poco::Exception& e) {
      DbError err = dialect_.classify(e);
      if (!isConnected(s)) {
        err.kind = DbErrorKind::kUnavailable;
        lease->discard();
      }
      rollback();
      // A broken connection after COMMIT was sent leaves the outcome unknown: not retried, so
      // the caller sees UNAVAILABLE and retries with its own idempotency key.
      const bool retry = err.kind == DbErrorKind::kRetryable ||
                         (err.kind == DbErrorKind::kUnavailable && !committing);
      if (!retry) fail(op, err, attempt);
      last = std::move(err);
    } catch (...) {
      rollback();
      throw;
    }
    if (attempt >= kMaxAttempts) fail(op, last, attempt);
    host().metricAdd("tx_retries");
    lease.reset();  // back to the pool before sleeping

    // Jittered exponential backoff (2, 4, 8... ms, at most 100), so that colliding writers do
    // not collide again in lockstep; never past the deadline.
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int64_t cap = std::min<int64_t>(int64_t{2} << attempt, 100);
    const int64_t sleep_ms =
        std::min<int64_t>(std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng),
                          std::max<int64_t>(remainingMs(ctx) - 1, 0));
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
}

// ---- migrations ----

int64_t SqlStore::migrate(const sdk::CallContext& ctx) {
  static constexpr std::string_view op = "migrate";
  for (const Migration& m : migrations()) {
    bool applied = false;
    // One transaction per migration: the lock, the check and the change commit together, so
    // two daemons migrating at once apply each migration exactly once.
    run(ctx, op, Tx::kMigrate, [&](Session& s) {
      applied = false;
      if (!dialect_.migration_lock.empty()) {
        // Another daemon migrating holds the lock for as long as its DDL runs: wait for it as a
        // lock wait, for the rest of this call's deadline.
        if (!dialect_.lock_wait_prefix.empty()) {
          s << dialect_.lock_wait_prefix + std::to_string(std::max<int64_t>(remainingMs(ctx), 1)),
              kw::now;
        }
        s << dialect_.migration_lock, kw::now;
      }
      s << std::string(kSchemaMigrationsDdl), kw::now;
      Poco::Int64 current = 0;
      s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", kw::into(current), kw::now;
      if (current >= m.version) return;
      for (const std::string_view stmt : m.statements) {
        const std::string sql = dialect_.ddl(stmt);
        if (!sql.empty()) s << sql, kw::now;  // empty: another engine's statement
      }
      s << dialect_.sql(
          "INSERT INTO schema_migrations (version, description, applied_at_ms) "
          "VALUES (?, ?, ?)"),
          i64(m.version), text(m.description), i64(host().nowUnixMs()), kw::now;
      applied = true;
    });
    if (applied) {
      host().info("applied schema migration " + std::to_string(m.version) + " (" +
                  std::string(m.description) + ")");
    }
  }
  Poco::Int64 version = 0;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", kw::into(version), kw::now;
  });
  if (version > latestSchemaVersion()) {
    host().warn("schema version " + std::to_string(version) + " is newer than this plugin's " +
                std::to_string(latestSchemaVersion()) + "; a newer tollgated migrated it");
  }
  return version;
}

// ---- tenants ----

void SqlStore::tenantCreate(const sdk::CallContext& ctx, const tg_tenant_row& row) {
  static constexpr std::string_view op = "tenant_create";
  const std::string id = checkedText(op, "id", sdk::view(row.id), kMaxIdBytes, true);
  const std::string name = checkedText(op, "name", sdk::view(row.name), kMaxTextBytes, true);
  checkTenantStatus(op, row.status);
  bool inserted = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    std::vector<std::string> ids;
    s << dialect_.sql(
        "INSERT INTO tenants (id, name, status, created_at_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING id"),
        text(id), text(name), i32(row.status), i64(row.created_at_ms), kw::into(ids), kw::now;
    inserted = !ids.empty();
  });
  if (!inserted) {
    throw sdk::Error(TG_ERR_CONFLICT, cat({op, ": a tenant with id '", id, "' or name '", name,
                                           "' already exists"}));
  }
}

void SqlStore::tenantGet(const sdk::CallContext& ctx, std::string_view id, tg_tenant_sink sink) {
  static constexpr std::string_view op = "tenant_get";
  const std::string tenant = checkedText(op, "id", id, kMaxIdBytes, true);
  std::vector<TenantTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(cat({"SELECT ", kTenantCols, " FROM tenants WHERE id = ?"})), text(tenant),
        kw::into(rows), kw::now;
  });
  if (rows.empty()) throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": no tenant '", tenant, "'"}));
  emit(rows, sink);
}

void SqlStore::tenantList(const sdk::CallContext& ctx, std::string_view after_id, uint32_t limit,
                          tg_tenant_sink sink) {
  static constexpr std::string_view op = "tenant_list";
  const std::string after = checkedText(op, "after_id", after_id, kMaxIdBytes, false);
  if (limit == 0) return;
  std::vector<TenantTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(
        cat({"SELECT ", kTenantCols, " FROM tenants WHERE id > ? ORDER BY id LIMIT ?"})),
        text(after), i64(limit), kw::into(rows), kw::now;
  });
  emit(rows, sink);
}

void SqlStore::tenantSetStatus(const sdk::CallContext& ctx, std::string_view id,
                               tg_tenant_status status) {
  static constexpr std::string_view op = "tenant_set_status";
  const std::string tenant = checkedText(op, "id", id, kMaxIdBytes, true);
  checkTenantStatus(op, status);
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    std::vector<std::string> ids;
    s << dialect_.sql("UPDATE tenants SET status = ? WHERE id = ? RETURNING id"), i32(status),
        text(tenant), kw::into(ids), kw::now;
    found = !ids.empty();
  });
  if (!found) throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": no tenant '", tenant, "'"}));
}

// ---- API keys ----

void SqlStore::apiKeyCreate(const sdk::CallContext& ctx, const tg_api_key_row& row) {
  static constexpr std::string_view op = "api_key_create";
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string id = checkedText(op, "id", sdk::view(row.id), kMaxIdBytes, true);
  const std::string secret = std::string(sdk::view(row.secret_sha256));
  const bool hex = secret.size() == 64 && std::all_of(secret.begin(), secret.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) invalid(op, "secret_sha256", "want 64 lower-case hex digits");
  const std::string label = checkedText(op, "label", sdk::view(row.label), kMaxTextBytes, false);
  if (row.revoked_at_ms < 0) invalid(op, "revoked_at_ms", "must be 0 (valid) or a time");
  bool inserted = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    requireTenant(s, dialect_, op, tenant);
    std::vector<std::string> ids;
    s << dialect_.sql(
        "INSERT INTO api_keys (id, tenant_id, secret_sha256, label, created_at_ms, "
        "revoked_at_ms) VALUES (?, ?, ?, ?, ?, NULLIF(?, CAST(0 AS BIGINT))) "
        "ON CONFLICT DO NOTHING RETURNING id"),
        text(id), text(tenant), text(secret), text(label), i64(row.created_at_ms),
        i64(row.revoked_at_ms), kw::into(ids), kw::now;
    inserted = !ids.empty();
  });
  if (!inserted) {
    throw sdk::Error(TG_ERR_CONFLICT, cat({op, ": an API key with id '", id, "' already exists"}));
  }
}

void SqlStore::apiKeyGet(const sdk::CallContext& ctx, std::string_view key_id,
                         tg_api_key_sink sink) {
  static constexpr std::string_view op = "api_key_get";
  const std::string id = checkedText(op, "key_id", key_id, kMaxIdBytes, true);
  // Unscoped when the call acts for no tenant (authentication finds the tenant this way);
  // otherwise a tenant only ever sees its own keys.
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  std::vector<KeyTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    if (tenant.empty()) {
      s << dialect_.sql(cat({"SELECT ", kKeyCols, " FROM api_keys WHERE id = ?"})), text(id),
          kw::into(rows), kw::now;
    } else {
      s << dialect_.sql(
          cat({"SELECT ", kKeyCols, " FROM api_keys WHERE id = ? AND tenant_id = ?"})),
          text(id), text(tenant), kw::into(rows), kw::now;
    }
  });
  if (rows.empty()) throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": no API key '", id, "'"}));
  emit(rows, sink);
}

void SqlStore::apiKeyList(const sdk::CallContext& ctx, tg_api_key_sink sink) {
  static constexpr std::string_view op = "api_key_list";
  const std::string tenant = scopedTenant(op, ctx);
  std::vector<KeyTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(cat({"SELECT ", kKeyCols, " FROM api_keys WHERE tenant_id = ? ORDER BY id"})),
        text(tenant), kw::into(rows), kw::now;
  });
  emit(rows, sink);
}

void SqlStore::apiKeyRevoke(const sdk::CallContext& ctx, std::string_view key_id,
                            int64_t revoked_at_ms) {
  static constexpr std::string_view op = "api_key_revoke";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string id = checkedText(op, "key_id", key_id, kMaxIdBytes, true);
  if (revoked_at_ms <= 0) invalid(op, "revoked_at_ms", "must be a time after the epoch");
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    // COALESCE keeps the first revocation time when revoked again.
    std::vector<std::string> ids;
    s << dialect_.sql(
        "UPDATE api_keys SET revoked_at_ms = COALESCE(revoked_at_ms, ?) "
        "WHERE id = ? AND tenant_id = ? RETURNING id"),
        i64(revoked_at_ms), text(id), text(tenant), kw::into(ids), kw::now;
    found = !ids.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no API key '", id, "'"}));
  }
}

}  // namespace tollgate::storage_sql
