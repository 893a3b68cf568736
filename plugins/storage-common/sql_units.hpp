// Units of work (ABI 1.3, abi/storage.h): a webhook's writes applied together. The unit is
// checked and copied from the ABI structs first (storage-sqlite's group commit applies it on
// another caller's thread), then applied on a SqlExec.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sql_bind.hpp"
#include "sql_exec.hpp"
#include "sql_records.hpp"

namespace tollgate::storage_sql {

// The statements the units share with the single operations of the same name.
inline constexpr std::string_view kClaimSql =
    "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, response_status, "
    "response_body, created_at_ms) VALUES (?, ?, ?, ?, 0, '', ?) "
    "ON CONFLICT DO NOTHING RETURNING key";
inline constexpr std::string_view kClaimAnsweredSql =
    "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, response_status, "
    "response_body, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING RETURNING key";
// kClaimAnsweredSql for an answer that depends on the registry, decided by the statement
// itself (so a pipelined batch needs no round trip for the read): the answer without the
// reply if the sender is opted out as the statement sees it. Returns that decision too (the
// same snapshot, so the same answer). Bound: the claim, the registry key, the withheld and the
// full answer, created_at_ms, and the registry key again.
inline constexpr std::string_view kClaimDecidedSql =
    "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, response_status, "
    "response_body, created_at_ms) VALUES (?, ?, ?, ?, ?, CASE WHEN EXISTS (SELECT 1 FROM "
    "opt_outs WHERE tenant_id = ? AND phone = ? AND opted_out <> 0) THEN ? ELSE ? END, ?) "
    "ON CONFLICT DO NOTHING RETURNING key, EXISTS (SELECT 1 FROM opt_outs WHERE tenant_id = ? "
    "AND phone = ? AND opted_out <> 0)";
inline constexpr std::string_view kIdempotencySelectSql =
    "SELECT tenant_id, scope, key, request_hash, response_status, response_body, created_at_ms "
    "FROM idempotency_keys WHERE tenant_id = ? AND scope = ? AND key = ?";
inline constexpr std::string_view kCompleteSql =
    "UPDATE idempotency_keys SET response_status = ?, response_body = ? "
    "WHERE tenant_id = ? AND scope = ? AND key = ? RETURNING key";
inline constexpr std::string_view kOptOutStateSql =
    "INSERT INTO opt_outs (tenant_id, phone, opted_out, updated_at_ms) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tenant_id, phone) DO UPDATE SET opted_out = excluded.opted_out, "
    "updated_at_ms = excluded.updated_at_ms";
inline constexpr std::string_view kOptedOutSql =
    "SELECT opted_out FROM opt_outs WHERE tenant_id = ? AND phone = ?";
inline constexpr std::string_view kOptOutEventSql =
    "INSERT INTO opt_out_events (tenant_id, phone, action, keyword, message_sid, "
    "created_at_ms) VALUES (?, ?, ?, ?, ?, ?)";

// Appends one ledger entry and returns its seq: tenant, currency, kind, amount,
// balance_after, idempotency_key, reference, description, country, created_at_ms.
inline constexpr std::string_view kInsertEntrySql =
    "INSERT INTO ledger_entries (tenant_id, currency, kind, amount_micros, "
    "balance_after_micros, idempotency_key, reference, description, country, created_at_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq";

// One operation, checked, owning its values.
struct ClaimOp {
  std::string scope, key, request_hash;
  int64_t created_at_ms = 0;
  // The unit's COMPLETE of this same key, folded into the claim's INSERT (a webhook's usual
  // unit): one statement instead of an INSERT and an UPDATE. Its index in the unit's ops.
  std::optional<size_t> completion;
};
struct CompleteOp {
  std::string scope, key;
  int32_t response_status = 0;
  std::string response_body;
  std::string reply_to;  // empty: none
  std::string no_reply_body;
  bool folded = false;  // written by the unit's claim
};
struct OptOutOp {
  std::string phone;
  bool opted_out = true;
  std::string keyword, message_sid;
  int64_t now_ms = 0;
};
// A ledger apply (abi/storage.h, ledger_apply), checked: appends its entries to the tenant's
// wallet in `currency` unless its key was applied before or funds are short.
struct LedgerEntry {
  tg_entry_kind kind = 0;
  int64_t amount = 0;
  std::string reference, description;
  std::string country;  // ISO 3166-1 alpha-2, or "" (ABI 1.6)
};
struct LedgerOp {
  std::string currency, key;
  std::vector<LedgerEntry> entries;
  int64_t sum = 0;  // of the amounts, checked not to overflow
  int64_t now_ms = 0;
  bool allow_overdraft = false;  // ABI 1.6: usage already owed, applied below the credit limit
};
// Checks and copies a ledger_apply request (TG_ERR_INVALID_ARGUMENT naming the field).
LedgerOp checkedLedgerOp(std::string_view op, const tg_ledger_apply_request& req);

// A hold action (abi/storage.h, hold_apply), checked. kExpire is the sweeper's own action
// (hold_expire): an ACTIVE hold past its expiry becomes EXPIRED, anything else is left alone.
struct HoldOp {
  static constexpr tg_hold_action kExpire = 100;
  tg_hold_action action = 0;
  std::string currency, hold_id;
  int64_t amount = 0;
  tg_entry_kind kind = 0;
  std::string reference, description;
  int64_t expires_at_ms = 0;
  int64_t now_ms = 0;
  std::string country;  // CAPTURE: the entry's (ABI 1.6)
  // TG_UNIT_HOLD (ABI 1.12): a hold that does not exist is an answer (status 0), not an error.
  bool missing_ok = false;
};
// Checks and copies a hold_apply request (TG_ERR_INVALID_ARGUMENT naming the field).
HoldOp checkedHoldOp(std::string_view op, const tg_hold_request& req);
// What a hold action did, as a unit operation's result: TG_UNIT_CHANGED if it applied,
// TG_UNIT_MISSING if the hold does not exist (status 0), else TG_UNIT_UNCHANGED.
inline int32_t holdUnitResult(const tg_hold_result& r) {
  if (r.outcome == TG_APPLY_APPLIED) return TG_UNIT_CHANGED;
  return r.status == 0 ? TG_UNIT_MISSING : TG_UNIT_UNCHANGED;
}

// The order in which transactions lock wallets (commitEach sorts its batch by it, hold_expire
// its holds): one order for all, so two transactions never wait for each other's wallets.
inline std::string walletKey(const std::string& tenant, const std::string& currency) {
  return tenant + "/" + currency;
}

// A wallet under its lock: balance, credit limit and held total.
struct LockedWallet {
  int64_t balance = 0, credit_limit = 0, held = 0;
};
// Whether a balance of `balance_after`, with w's holds and credit limit, stays available.
bool fundsCover(int64_t balance_after, const LockedWallet& w);

// What an applied key answers with.
struct PriorApply {
  int64_t first_seq = 0, balance_after = 0;
};

// A hold as stored.
struct StoredHold {
  tg_hold_status status = 0;
  int64_t amount = 0, captured = 0, entry_seq = 0, expires_at_ms = 0;
  std::string currency;
};

// What the ledger's decisions (applyLedger, applyHold) read and write, in one transaction that
// holds each wallet's lock from lockWallet on. SqlLedgerTx runs each as a statement of its
// own; storage-postgres's ledger batches (sql_ledger_batch.cpp) answer from rows read up front
// and send the writes of the whole batch together. The decisions write only after every check
// that can refuse them, so a refused unit leaves nothing behind in either.
class LedgerTx {
 public:
  virtual ~LedgerTx() = default;
  // The wallet, locked until the transaction ends (sdk::Error TG_ERR_NOT_FOUND if none).
  virtual LockedWallet lockWallet(std::string_view op, const std::string& tenant,
                                  const std::string& currency) = 0;
  virtual std::optional<PriorApply> priorApply(const std::string& tenant,
                                               const std::string& key) = 0;
  virtual std::optional<StoredHold> findHold(const std::string& tenant,
                                             const std::string& hold_id) = 0;
  // Appends an entry with that balance_after and key; returns its seq.
  virtual int64_t appendEntry(const std::string& tenant, const std::string& currency,
                              const LedgerEntry& e, int64_t balance_after, const std::string& key,
                              int64_t now_ms) = 0;
  // Stores the wallet's balance and held total.
  virtual void setWallet(const std::string& tenant, const std::string& currency,
                         const LockedWallet& w) = 0;
  // Records an applied key. A key recorded concurrently (applied to another of the tenant's
  // wallets, whose lock this one does not cover) is a retryable DbFailure, now or at commit:
  // applied again, it answers ALREADY_APPLIED.
  virtual void recordApply(const std::string& tenant, const std::string& key,
                           const std::string& currency, const PriorApply& result,
                           int32_t entry_count, int64_t now_ms) = 0;
  // Stores a new ACTIVE hold; an id reserved concurrently is a retryable DbFailure likewise.
  virtual void insertHold(const std::string& tenant, const HoldOp& op) = 0;
  virtual void updateHold(const std::string& tenant, const std::string& hold_id,
                          tg_hold_status status, int64_t captured, int64_t entry_seq,
                          int64_t now_ms) = 0;
};

// LedgerTx statement by statement on x.
class SqlLedgerTx : public LedgerTx {
 public:
  SqlLedgerTx(SqlExec& x, const Dialect& d) : x_(x), d_(d) {}
  LockedWallet lockWallet(std::string_view op, const std::string& tenant,
                          const std::string& currency) override;
  std::optional<PriorApply> priorApply(const std::string& tenant, const std::string& key) override;
  std::optional<StoredHold> findHold(const std::string& tenant,
                                     const std::string& hold_id) override;
  int64_t appendEntry(const std::string& tenant, const std::string& currency, const LedgerEntry& e,
                      int64_t balance_after, const std::string& key, int64_t now_ms) override;
  void setWallet(const std::string& tenant, const std::string& currency,
                 const LockedWallet& w) override;
  void recordApply(const std::string& tenant, const std::string& key, const std::string& currency,
                   const PriorApply& result, int32_t entry_count, int64_t now_ms) override;
  void insertHold(const std::string& tenant, const HoldOp& op) override;
  void updateHold(const std::string& tenant, const std::string& hold_id, tg_hold_status status,
                  int64_t captured, int64_t entry_seq, int64_t now_ms) override;

 private:
  SqlExec& x_;
  const Dialect& d_;
};

// Applies `op` to `tenant`'s wallet (sql_ledger.cpp): locks the wallet, answers a key applied
// before with that apply's result, refuses a debit past the available balance, else appends
// the entries with their balance_after and records the key. Throws sdk::Error (no such
// wallet, an overflow) or a retryable DbFailure (see LedgerTx::recordApply).
tg_ledger_apply_result applyLedger(LedgerTx& tx, const std::string& tenant, const LedgerOp& op);
// Applies a hold action (sql_holds.cpp) under the same wallet lock. Throws sdk::Error (no such
// wallet or hold, a capture above the hold) or a retryable DbFailure.
tg_hold_result applyHold(LedgerTx& tx, const std::string& tenant, const HoldOp& op);
// Takes a usage off the queue (ABI 1.7, usage_settle; sql_usage.cpp), in the unit that
// charges it: nothing if it is not queued (settled already, by this daemon or another).
struct UsageDoneOp {
  std::string key;
};
inline constexpr std::string_view kUsageDoneSql =
    "DELETE FROM usage_queue WHERE tenant_id = ? AND key = ?";

using UnitOp = std::variant<ClaimOp, CompleteOp, RecordInsert, RecordUpdate, OptOutOp, LedgerOp,
                            HoldOp, UsageDoneOp>;

struct OwnedUnit {
  std::string tenant;
  std::vector<UnitOp> ops;
  int64_t deadline_unix_ms = 0;  // the caller's (0: none): bounds the batch's lock waits

  // The outcome, once applied (or failed).
  tg_status status = TG_OK;
  std::string error;                  // when status != TG_OK
  bool duplicate = false;             // the claim found its key
  std::vector<std::string> existing;  // the stored idempotency row, as text, when duplicate
  std::vector<int32_t> results;       // per op
  std::vector<tg_ledger_apply_result> ledger;  // per op; what each LedgerOp did
  std::vector<tg_hold_result> holds;           // per op; what each HoldOp did
  // Group commit, under GroupCommit::mu: the outcome is final (done), or its caller is to
  // lead the next batch (lead); `wake` wakes that caller alone.
  bool done = false;
  bool lead = false;
  std::condition_variable wake;

  void reset() {
    status = TG_OK;
    error.clear();
    duplicate = false;
    existing.clear();
    results.assign(ops.size(), TG_UNIT_UNCHANGED);
    ledger.assign(ops.size(), tg_ledger_apply_result{.struct_size = sizeof(tg_ledger_apply_result),
                                                     .outcome = 0,
                                                     .balance_micros = 0,
                                                     .first_seq = 0});
    holds.assign(ops.size(), tg_hold_result{.struct_size = sizeof(tg_hold_result),
                                            .outcome = 0,
                                            .status = 0,
                                            .balance_micros = 0,
                                            .held_micros = 0,
                                            .captured_micros = 0,
                                            .entry_seq = 0});
  }
};

// Checks and copies an ABI unit (TG_ERR_INVALID_ARGUMENT/UNSUPPORTED naming what is wrong).
std::shared_ptr<OwnedUnit> checkedUnit(const sdk::CallContext& ctx, const tg_unit& unit);

// Thrown by applyOps when the unit's claim finds its key; the caller rolls the unit back.
struct Duplicate {
  std::vector<std::string> row;
};

// Applies u's operations in order on x, inside the caller's transaction or savepoint, filling
// u.results. Throws Duplicate, sdk::Error, DbFailure or Poco::Exception; the caller then
// rolls the unit back.
void applyOps(SqlExec& x, const Dialect& d, OwnedUnit& u);

// A TG_UNIT_USAGE_ADD, checked: an INSERT into usage_queue that leaves a queued key alone.
RecordInsert checkedUsageAdd(std::string_view op, const std::string& tenant,
                             const tg_usage_row& row);

// A TG_UNIT_OUTBOX_ADD, checked (sql_outbox.cpp): an INSERT into outbox that leaves an id that
// exists alone.
RecordInsert checkedOutboxAdd(std::string_view op, const std::string& tenant,
                              const tg_outbox_row& row);
// An outbox transition, checked (sql_outbox.cpp): one guarded UPDATE of `tenant`'s message.
// check_owner: from SENDING only while t.lease_owner holds it (outbox_transition); otherwise
// whoever holds it (TG_UNIT_OUTBOX_STATUS).
RecordUpdate checkedOutboxTransition(std::string_view op, const std::string& tenant,
                                     const tg_outbox_transition& t, bool check_owner);

// Whether every operation of `u` is a ledger apply, a hold action or a usage taken off the
// queue (sql_ledger_batch.cpp).
bool ledgerOnly(const OwnedUnit& u);
// Applies and commits a batch of ledgerOnly units in two rounds of statements, with
// PostgreSQL's arrays (sql_ledger_batch.cpp). Throws DbFailure, `committing` then saying
// whether COMMIT had been sent; the caller applies the batch again unit by unit.
void runLedgerBatch(SqlExec& x, const Dialect& d, std::vector<std::shared_ptr<OwnedUnit>>& batch,
                    int64_t wait_ms, bool& committing);

// How a backend commits units in groups.
struct GroupCommitOptions {
  std::string begin = "BEGIN IMMEDIATE";  // starts a batch's transaction
  // Apply a batch of webhook-shaped units (pipelinable()) in a few rounds of statements sent
  // together (SqlExec::queryAll) instead of a SAVEPOINT and statement after statement each.
  bool pipelined = false;
  // Apply a batch of ledger units (ledgerOnly()) with runLedgerBatch (PostgreSQL only).
  bool ledger_batches = false;
  size_t max_batch = 512;
  // Batches in flight at once, each led by a caller on a writer connection of its own: while
  // one batch waits for its COMMIT to be durable, the next one is applied. 1 where the
  // database has one writer anyway (SQLite).
  size_t writers = 1;
};

// The state of group commit: units queue in `pending`; a caller that finds fewer than
// options.writers batches in flight leads one: it takes the front of the queue, applies the
// batch in one transaction on a writer connection no other leader has, commits, wakes the
// callers of that batch and the caller of the first unit still queued (to lead next), and
// leads again until its own unit is done. Each caller waits on its unit's own condition
// variable, so a commit wakes only the threads it concerns.
struct GroupCommit {
  std::function<std::unique_ptr<SqlExec>()> open;  // a writer connection
  GroupCommitOptions options;

  std::mutex mu;
  std::deque<std::shared_ptr<OwnedUnit>> pending;
  std::vector<std::unique_ptr<SqlExec>> conns;  // options.writers; opened when first used
  std::vector<size_t> idle;                     // conns no leader holds
  size_t leaders = 0;
};

// Whether `u` has a webhook's shape, which a pipelined batch knows how to apply: its claim
// first, with its completion folded in, and otherwise only records and registry changes.
bool pipelinable(const OwnedUnit& u);

}  // namespace tollgate::storage_sql
