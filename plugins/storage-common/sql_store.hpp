// One implementation of the storage ABI over Poco::Data, shared by the SQLite and PostgreSQL
// plugins. The plugins only say how to open a connection and which Dialect to speak.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/Session.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql_bind.hpp"
#include "sql_dialect.hpp"
#include "sql_pool.hpp"

namespace tollgate::storage_sql {

// Message and call records (sql_records.hpp).
struct RecordTable;
struct RecordInsert;
struct RecordUpdate;
// Units of work (sql_units.hpp).
class SqlExec;
struct OwnedUnit;
struct GroupCommit;
struct GroupCommitOptions;

// One writer at a time within the process, waited for with a deadline: a TimedLockable for
// std::unique_lock. std::timed_mutex would do, but its timed lock (pthread_mutex_clocklock
// with GCC 12) is invisible to ThreadSanitizer, which then reports every unlock as an unlock
// of an unlocked mutex.
class WriteTurn {
 public:
  void lock() {
    std::unique_lock l(mu_);
    free_.wait(l, [&] { return !taken_; });
    taken_ = true;
  }
  bool try_lock() {
    std::lock_guard l(mu_);
    if (taken_) return false;
    taken_ = true;
    return true;
  }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& wait) {
    std::unique_lock l(mu_);
    if (!free_.wait_for(l, wait, [&] { return !taken_; })) return false;
    taken_ = true;
    return true;
  }
  void unlock() {
    {
      std::lock_guard l(mu_);
      taken_ = false;
    }
    free_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable free_;
  bool taken_ = false;
};

class SqlStore : public sdk::StoragePlugin {
 public:
  // Opens one connection right away, so that a wrong path, DSN or password fails init() with
  // a clear message instead of the first request.
  SqlStore(sdk::Host host, Dialect dialect, ConnectionPool::Opener opener, size_t pool_size);

  int64_t migrate(const sdk::CallContext& ctx) override;
  void tenantCreate(const sdk::CallContext& ctx, const tg_tenant_row& row) override;
  void tenantGet(const sdk::CallContext& ctx, std::string_view id, tg_tenant_sink sink) override;
  void tenantList(const sdk::CallContext& ctx, std::string_view after_id, uint32_t limit,
                  tg_tenant_sink sink) override;
  void tenantSetStatus(const sdk::CallContext& ctx, std::string_view id,
                       tg_tenant_status status) override;
  void apiKeyCreate(const sdk::CallContext& ctx, const tg_api_key_row& row) override;
  void apiKeyGet(const sdk::CallContext& ctx, std::string_view key_id,
                 tg_api_key_sink sink) override;
  void apiKeyList(const sdk::CallContext& ctx, tg_api_key_sink sink) override;
  void apiKeyRevoke(const sdk::CallContext& ctx, std::string_view key_id,
                    int64_t revoked_at_ms) override;
  void walletCreate(const sdk::CallContext& ctx, const tg_wallet_row& row) override;
  void walletGet(const sdk::CallContext& ctx, std::string_view currency,
                 tg_wallet_sink sink) override;
  tg_ledger_apply_result ledgerApply(const sdk::CallContext& ctx,
                                     const tg_ledger_apply_request& req) override;
  void ledgerList(const sdk::CallContext& ctx, std::string_view currency, int64_t after_seq,
                  uint32_t limit, tg_ledger_entry_sink sink) override;
  bool idempotencyClaim(const sdk::CallContext& ctx, const tg_idempotency_row& row,
                        tg_idempotency_sink existing) override;
  void idempotencyComplete(const sdk::CallContext& ctx, std::string_view scope,
                           std::string_view key, int32_t response_status,
                           std::string_view response_body) override;
  bool idempotencyReclaim(const sdk::CallContext& ctx, std::string_view scope, std::string_view key,
                          int64_t expected_created_at_ms, int64_t new_created_at_ms) override;

  // ABI 1.1: numbers and Twilio accounts (sql_numbers.cpp).
  void numberPut(const sdk::CallContext& ctx, const tg_number_row& row) override;
  void numberGet(const sdk::CallContext& ctx, std::string_view e164, tg_number_sink sink) override;
  void numberList(const sdk::CallContext& ctx, tg_number_sink sink) override;
  void numberDetach(const sdk::CallContext& ctx, std::string_view e164) override;
  void twilioAccountPut(const sdk::CallContext& ctx, const tg_twilio_account_row& row) override;
  void twilioAccountGet(const sdk::CallContext& ctx, std::string_view account_sid,
                        tg_twilio_account_sink sink) override;

  // ABI 1.1: message and call records (sql_messages.cpp, sql_calls.cpp).
  void messageInsert(const sdk::CallContext& ctx, const tg_message_row& row) override;
  bool messageUpdateStatus(const sdk::CallContext& ctx, std::string_view sid,
                           std::string_view status, int32_t status_rank, int32_t error_code,
                           int64_t now_ms) override;
  void messageGet(const sdk::CallContext& ctx, std::string_view sid, tg_message_sink sink) override;
  void messageList(const sdk::CallContext& ctx, const tg_log_query& q,
                   tg_message_sink sink) override;
  void callInsert(const sdk::CallContext& ctx, const tg_call_row& row) override;
  bool callUpdateStatus(const sdk::CallContext& ctx, std::string_view sid, std::string_view status,
                        int32_t status_rank, int32_t duration_s, int64_t now_ms) override;
  void callSetRecording(const sdk::CallContext& ctx, std::string_view sid,
                        std::string_view recording_url, int64_t now_ms) override;
  void callGet(const sdk::CallContext& ctx, std::string_view sid, tg_call_sink sink) override;
  void callList(const sdk::CallContext& ctx, const tg_log_query& q, tg_call_sink sink) override;

  // ABI 1.1: the opt-out registry (sql_optouts.cpp).
  void optoutSet(const sdk::CallContext& ctx, std::string_view phone, bool opted_out,
                 std::string_view keyword, std::string_view message_sid, int64_t now_ms) override;
  bool optoutGet(const sdk::CallContext& ctx, std::string_view phone) override;

  // ABI 1.3: units of work (sql_units.cpp). One transaction per unit, or, once
  // enableGroupCommit() was called, a transaction shared with the units of other callers.
  tg_unit_outcome unitApply(const sdk::CallContext& ctx, const tg_unit& unit,
                            tg_idempotency_sink existing) override;

  // ABI 1.4: holds (sql_holds.cpp) and ledger queries (sql_ledger.cpp). hold_apply goes
  // through applyUnit, as ledger_apply does.
  tg_hold_result holdApply(const sdk::CallContext& ctx, const tg_hold_request& req) override;
  void holdList(const sdk::CallContext& ctx, const tg_hold_query& q, tg_hold_sink sink) override;
  uint32_t holdExpire(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit) override;
  void ledgerQuery(const sdk::CallContext& ctx, const tg_ledger_query& q,
                   tg_ledger_entry_sink sink) override;
  void ledgerSummary(const sdk::CallContext& ctx, const tg_ledger_query& q,
                     tg_ledger_summary_sink sink) override;

  // ABI 1.6: billing profiles and the auto-recharge lease (sql_billing.cpp).
  void billingProfilePut(const sdk::CallContext& ctx, const tg_billing_profile_row& row) override;
  void billingProfileGet(const sdk::CallContext& ctx, std::string_view currency,
                         tg_billing_profile_sink sink) override;
  int64_t rechargeBegin(const sdk::CallContext& ctx, std::string_view currency, int64_t now_ms,
                        int64_t lease_ms) override;
  bool rechargeEnd(const sdk::CallContext& ctx, const tg_recharge_end& req) override;

  // ABI 1.7: queued usage (sql_usage.cpp).
  void usageList(const sdk::CallContext& ctx, uint32_t limit, tg_usage_sink sink) override;
  void usageSettle(const sdk::CallContext& ctx, const tg_usage_charge* charges, uint32_t count,
                   tg_status* out_statuses) override;

  // ABI 1.8: the outbox (sql_outbox.cpp).
  void outboxClaim(const sdk::CallContext& ctx, int64_t now_ms, int64_t lease_ms,
                   std::string_view owner, uint32_t limit, tg_outbox_sink sink) override;
  void outboxTransition(const sdk::CallContext& ctx, const tg_outbox_transition* transitions,
                        uint32_t count, int32_t* out_applied) override;
  uint32_t outboxReclaim(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit) override;
  void outboxGet(const sdk::CallContext& ctx, std::string_view id, tg_outbox_sink sink) override;
  void outboxList(const sdk::CallContext& ctx, tg_outbox_state state, uint32_t limit,
                  tg_outbox_sink sink) override;
  // ABI 1.10: senders' pace (sql_outbox.cpp).
  void outboxClaimPaced(const sdk::CallContext& ctx, const tg_outbox_claim& claim,
                        tg_outbox_sink sink) override;
  // ABI 1.11: messages' prices (sql_outbox.cpp).
  void outboxPriceDue(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit,
                      tg_outbox_sink sink) override;
  // ABI 1.13: calls' prices (sql_calls.cpp).
  void callPriceDue(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit,
                    tg_call_sink sink) override;
  bool callPriceSet(const sdk::CallContext& ctx, const tg_call_price& price) override;

  ~SqlStore() override;

 protected:
  // Units go through one writer connection that `open` makes, committed in groups.
  void enableGroupCommit(std::function<std::unique_ptr<SqlExec>()> open,
                         const GroupCommitOptions& options);

 private:
  // kMigrate: a write transaction for a schema migration, whose statements may take as long as
  // the call's (long) deadline allows, not only the configured max_wait_ms.
  enum class Tx { kNone, kWrite, kMigrate };

  // Thrown by a transaction body to roll back and run it again (e.g. it lost a race that the
  // next attempt will see the outcome of).
  struct Retry {
    std::string why;
  };

  // Runs `body` on a pooled connection, inside a write transaction when asked, committing when
  // it returns. Rolls back and retries (bounded, with backoff, within the call's deadline) on
  // busy/serialization/deadlock errors, on Retry, and on a broken connection before COMMIT was
  // sent. Every other database error becomes a tollgate::sdk::Error with the matching status.
  // The body may run more than once: it must only touch the database and its own locals until
  // run() returns (in particular, sinks are called afterwards).
  void run(const sdk::CallContext& ctx, std::string_view op, Tx tx,
           const std::function<void(Poco::Data::Session&)>& body);

  // The WHERE clause and parameters of a ledger query's filters (sql_ledger.cpp); throws
  // TG_ERR_INVALID_ARGUMENT naming a bad field.
  struct EntryFilter {
    std::string tenant, currency, where;
    std::vector<Param> params;
    bool by_key = false;  // one key's entries (ABI 1.13): after_seq is ignored
  };
  EntryFilter entryFilter(std::string_view op, const sdk::CallContext& ctx,
                          const tg_ledger_query& q) const;
  // TG_ERR_NOT_FOUND unless the tenant has a wallet in that currency.
  void requireWallet(const sdk::CallContext& ctx, std::string_view op, const std::string& tenant,
                     const std::string& currency);

  [[noreturn]] void fail(std::string_view op, const DbError& e, int attempts) const;
  // The error a caller gets for `e` (logged when it is the database's fault, not the caller's).
  sdk::Error error(std::string_view op, const DbError& e, int attempts) const;
  int64_t remainingMs(const sdk::CallContext& ctx) const;
  // How long the next write transaction may wait, per Dialect::wait_limit_prefix.
  std::optional<int64_t> waitLimitMs(const sdk::CallContext& ctx, Tx tx) const;

  // The statements that message and call records share, on the table `t`: getRecord and
  // listRecords in sql_records.hpp (templates over the record's Poco::Tuple), the others in
  // sql_records.cpp.
  template <typename Tuple>
  std::vector<Tuple> getRecord(const sdk::CallContext& ctx, std::string_view op,
                               const RecordTable& t, std::string_view sid);
  template <typename Tuple>
  std::vector<Tuple> listRecords(const sdk::CallContext& ctx, std::string_view op,
                                 const RecordTable& t, const tg_log_query& q);
  // Inserts a record: TG_ERR_NOT_FOUND for an unknown tenant, TG_ERR_CONFLICT when the sid
  // exists.
  void insertRecord(const sdk::CallContext& ctx, std::string_view op, const RecordInsert& r);
  // Applies a change: false when the status was not newer; TG_ERR_NOT_FOUND when the tenant
  // has no such record.
  bool updateRecord(const sdk::CallContext& ctx, std::string_view op, const RecordUpdate& u);

  // Applies u (checked) durably: with group commit, in a batch with other callers' units;
  // without, in a transaction of its own. Sets its outcome (status, duplicate, results).
  void applyUnit(const sdk::CallContext& ctx, const std::shared_ptr<OwnedUnit>& u);
  // Group commit (sql_units.cpp): queues u and returns once the batch that carried it
  // committed (or failed), having led the batches itself if no other caller did.
  void submit(const std::shared_ptr<OwnedUnit>& u);
  // Queues all of `units` at once (so they share batches) and returns once each is done.
  void submitAll(const std::vector<std::shared_ptr<OwnedUnit>>& units);
  // Waits, holding g.mu through `lock`, until u is done, leading batches when its turn comes.
  void await(const std::shared_ptr<OwnedUnit>& u, std::unique_lock<std::mutex>& lock);
  // As the leader: applies and commits `batch`, setting each unit's outcome.
  void commitBatch(std::vector<std::shared_ptr<OwnedUnit>>& batch, std::unique_ptr<SqlExec>& conn);
  // Each unit in a SAVEPOINT of its own, statement after statement: any unit, and a failing
  // one rolls back alone. A unit that meets a deadlock or a concurrent apply of its ledger key
  // is rolled back and applied again after the others commit (at most `attempt` 5).
  void commitEach(std::vector<std::shared_ptr<OwnedUnit>>& batch, std::unique_ptr<SqlExec>& conn,
                  int attempt = 1);
  // The batch in a few rounds of statements sent together (`rounds`: PipelinedBatch for
  // webhook units, runLedgerBatch for ledger units), retried (bounded) on deadlocks,
  // serialization failures and a lost connection before COMMIT was sent. False when a unit
  // failed in the database, having rolled everything back: commitEach then finds which.
  using RoundsFn = std::function<std::vector<std::shared_ptr<OwnedUnit>>(SqlExec&, bool&)>;
  bool commitInRounds(std::vector<std::shared_ptr<OwnedUnit>>& batch,
                      std::unique_ptr<SqlExec>& conn, const RoundsFn& rounds);
  // /metrics: one more group commit, of n units.
  void countCommit(size_t n);
  // How long a batch may wait for locks: until the nearest deadline among its units, and
  // never more than max_wait_ms.
  int64_t batchWaitLimitMs(const std::vector<std::shared_ptr<OwnedUnit>>& batch) const;
  // A failed unit whose caller's deadline has passed fails with TG_ERR_DEADLINE: that is
  // why it gave up.
  void markDeadlines(const std::vector<std::shared_ptr<OwnedUnit>>& batch) const;

  Dialect dialect_;
  ConnectionPool pool_;
  std::unique_ptr<GroupCommit> group_;
  WriteTurn write_mu_;  // see Dialect::serialize_writes
};

}  // namespace tollgate::storage_sql
