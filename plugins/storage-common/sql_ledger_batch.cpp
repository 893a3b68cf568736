// A batch of ledger units (charges, top-ups, holds) applied in two rounds of statements
// (storage-postgres, in pipeline mode), whatever the batch's size:
//   1. BEGIN; lock every wallet of the batch in one statement, in the one wallet order; read the
//      keys and holds the batch names; take sequence numbers for the entries it may append.
//   2. The same decisions the statement-by-statement path makes (applyLedger, applyHold), made
//      here against those rows; then every entry, wallet, key and hold written by one statement
//      per table; COMMIT.
// Instead of a SAVEPOINT and five or six statements per unit, each a round trip: a batch of 64
// charges costs what one costs. A unit the decisions refuse writes nothing and fails alone; a
// database error (a key applied concurrently to another of the tenant's wallets, a deadlock)
// fails the whole batch before COMMIT, and the caller applies it again unit by unit.
#include <algorithm>
#include <map>
#include <set>

#include "sql_store.hpp"
#include "sql_units.hpp"

namespace tollgate::storage_sql {
namespace {

// PostgreSQL array literals, bound as text and cast by the statement (?::text[]).
std::string textArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

template <class Int>
std::string intArray(const std::vector<Int>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

// Each lookup is a LATERAL subquery with LIMIT 1 (the keys are primary keys), which the
// planner cannot flatten into a join: one index probe per element, never a hash join over the
// whole table that a generic plan cached while the table was small would keep choosing. The
// wallets are locked in the arrays' order, which the caller sorts byte-wise by (tenant,
// currency): the order commitEach locks in.
constexpr std::string_view kLockWalletsSql =
    "SELECT w.tenant_id, w.currency, w.balance_micros, w.credit_limit_micros, w.held_micros "
    "FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS k(t, c, i) CROSS JOIN LATERAL "
    "(SELECT * FROM wallets x WHERE x.tenant_id = k.t AND x.currency = k.c LIMIT 1 FOR UPDATE) "
    "w ORDER BY k.i";
constexpr std::string_view kPriorAppliesSql =
    "SELECT a.tenant_id, a.idempotency_key, a.first_seq, a.balance_after_micros "
    "FROM unnest(?::text[], ?::text[]) AS k(t, key) CROSS JOIN LATERAL "
    "(SELECT * FROM ledger_transactions x WHERE x.tenant_id = k.t AND x.idempotency_key = k.key "
    "LIMIT 1) a";
constexpr std::string_view kHoldsSql =
    "SELECT h.tenant_id, h.hold_id, h.status, h.amount_micros, h.captured_micros, h.entry_seq, "
    "h.expires_at_ms, h.currency FROM unnest(?::text[], ?::text[]) AS k(t, id) CROSS JOIN "
    "LATERAL (SELECT * FROM ledger_holds x WHERE x.tenant_id = k.t AND x.hold_id = k.id LIMIT 1) "
    "h";
constexpr std::string_view kSeqsSql =
    "SELECT nextval(pg_get_serial_sequence('ledger_entries', 'seq')) "
    "FROM generate_series(1, ?::int)";
constexpr std::string_view kInsertEntriesSql =
    "INSERT INTO ledger_entries (seq, tenant_id, currency, kind, amount_micros, "
    "balance_after_micros, idempotency_key, reference, description, country, created_at_ms) "
    "SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], "
    "?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])";
constexpr std::string_view kUpdateWalletsSql =
    "UPDATE wallets w SET balance_micros = v.b, held_micros = v.h "
    "FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS v(t, c, b, h) "
    "WHERE w.tenant_id = v.t AND w.currency = v.c";
// No ON CONFLICT: a key or hold id that another transaction recorded meanwhile (in another of
// the tenant's wallets) fails the batch before its COMMIT.
constexpr std::string_view kInsertAppliesSql =
    "INSERT INTO ledger_transactions (tenant_id, idempotency_key, currency, first_seq, "
    "entry_count, balance_after_micros, created_at_ms) "
    "SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::int[], ?::bigint[], "
    "?::bigint[])";
constexpr std::string_view kInsertHoldsSql =
    "INSERT INTO ledger_holds (tenant_id, hold_id, currency, status, amount_micros, reference, "
    "expires_at_ms, created_at_ms, updated_at_ms) "
    "SELECT t, id, c, 1, a, r, e, n, n FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], "
    "?::text[], ?::bigint[], ?::bigint[]) AS v(t, id, c, a, r, e, n)";
constexpr std::string_view kUpdateHoldsSql =
    "UPDATE ledger_holds h SET status = v.s, captured_micros = v.cap, entry_seq = v.seq, "
    "updated_at_ms = v.n FROM unnest(?::text[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], "
    "?::bigint[]) AS v(t, id, s, cap, seq, n) WHERE h.tenant_id = v.t AND h.hold_id = v.id";

constexpr std::string_view kUsageDoneManySql =
    "DELETE FROM usage_queue q USING unnest(?::text[], ?::text[]) AS v(t, k) "
    "WHERE q.tenant_id = v.t AND q.key = v.k";

using Key = std::pair<std::string, std::string>;  // (tenant, currency | key | hold id)

// LedgerTx over the rows read in round 1; the writes are kept, the last one of each row wins.
class BatchLedgerTx : public LedgerTx {
 public:
  std::map<Key, LockedWallet> wallets;
  std::map<Key, PriorApply> priors;
  std::map<Key, StoredHold> holds;
  std::vector<int64_t> seqs;  // free sequence numbers, ascending
  size_t next_seq = 0;

  struct Entry {
    int64_t seq;
    std::string tenant, currency;
    LedgerEntry e;
    int64_t balance_after;
    std::string key;
    int64_t now_ms;
  };
  struct Apply {
    std::string tenant, key, currency;
    PriorApply result;
    int32_t entry_count;
    int64_t now_ms;
  };
  struct HoldChange {
    tg_hold_status status;
    int64_t captured, entry_seq, now_ms;
  };
  std::vector<Entry> entries;
  std::map<Key, LockedWallet> dirty_wallets;
  std::vector<Apply> applies;
  std::vector<std::pair<std::string, HoldOp>> new_holds;
  std::map<Key, HoldChange> hold_changes;

  size_t writes() const {
    return entries.size() + applies.size() + new_holds.size() + hold_changes.size() +
           dirty_wallets.size();
  }

  LockedWallet lockWallet(std::string_view op, const std::string& tenant,
                          const std::string& currency) override {
    const auto it = wallets.find({tenant, currency});
    if (it == wallets.end()) {
      throw sdk::Error(TG_ERR_NOT_FOUND,
                       cat({op, ": tenant '", tenant, "' has no ", currency, " wallet"}));
    }
    return it->second;
  }
  std::optional<PriorApply> priorApply(const std::string& tenant, const std::string& key) override {
    const auto it = priors.find({tenant, key});
    if (it == priors.end()) return std::nullopt;
    return it->second;
  }
  std::optional<StoredHold> findHold(const std::string& tenant,
                                     const std::string& hold_id) override {
    const auto it = holds.find({tenant, hold_id});
    if (it == holds.end()) return std::nullopt;
    return it->second;
  }
  int64_t appendEntry(const std::string& tenant, const std::string& currency, const LedgerEntry& e,
                      int64_t balance_after, const std::string& key, int64_t now_ms) override {
    if (next_seq >= seqs.size()) throw std::logic_error("ledger batch: sequence numbers ran out");
    const int64_t seq = seqs[next_seq++];
    entries.push_back(Entry{.seq = seq,
                            .tenant = tenant,
                            .currency = currency,
                            .e = e,
                            .balance_after = balance_after,
                            .key = key,
                            .now_ms = now_ms});
    return seq;
  }
  void setWallet(const std::string& tenant, const std::string& currency,
                 const LockedWallet& w) override {
    wallets[{tenant, currency}] = w;
    dirty_wallets[{tenant, currency}] = w;
  }
  void recordApply(const std::string& tenant, const std::string& key, const std::string& currency,
                   const PriorApply& result, int32_t entry_count, int64_t now_ms) override {
    priors[{tenant, key}] = result;
    applies.push_back(Apply{.tenant = tenant,
                            .key = key,
                            .currency = currency,
                            .result = result,
                            .entry_count = entry_count,
                            .now_ms = now_ms});
  }
  void insertHold(const std::string& tenant, const HoldOp& op) override {
    holds[{tenant, op.hold_id}] = StoredHold{.status = TG_HOLD_ACTIVE,
                                             .amount = op.amount,
                                             .captured = 0,
                                             .entry_seq = 0,
                                             .expires_at_ms = op.expires_at_ms,
                                             .currency = op.currency};
    new_holds.emplace_back(tenant, op);
  }
  void updateHold(const std::string& tenant, const std::string& hold_id, tg_hold_status status,
                  int64_t captured, int64_t entry_seq, int64_t now_ms) override {
    StoredHold& h = holds.at({tenant, hold_id});
    h.status = status;
    h.captured = captured;
    h.entry_seq = entry_seq;
    hold_changes[{tenant, hold_id}] = HoldChange{
        .status = status, .captured = captured, .entry_seq = entry_seq, .now_ms = now_ms};
  }
};

}  // namespace

bool ledgerOnly(const OwnedUnit& u) {
  return !u.ops.empty() && std::all_of(u.ops.begin(), u.ops.end(), [](const UnitOp& o) {
    return std::holds_alternative<LedgerOp>(o) || std::holds_alternative<HoldOp>(o) ||
           std::holds_alternative<UsageDoneOp>(o);
  });
}

void runLedgerBatch(SqlExec& x, const Dialect& d, std::vector<std::shared_ptr<OwnedUnit>>& batch,
                    int64_t wait_ms, bool& committing) {
  // What the batch touches, each once.
  std::set<Key> wallet_set, key_set, hold_set;
  int64_t max_entries = 0;
  for (const auto& u : batch) {
    u->reset();
    for (const UnitOp& o : u->ops) {
      if (const auto* l = std::get_if<LedgerOp>(&o)) {
        wallet_set.emplace(u->tenant, l->currency);
        key_set.emplace(u->tenant, l->key);
        max_entries += static_cast<int64_t>(l->entries.size());
      } else if (const auto* h = std::get_if<HoldOp>(&o)) {
        wallet_set.emplace(u->tenant, h->currency);
        hold_set.emplace(u->tenant, h->hold_id);
        if (h->action == TG_HOLD_CAPTURE) ++max_entries;
      }
    }
  }
  const auto columns = [](const std::set<Key>& keys) {
    std::pair<std::vector<std::string>, std::vector<std::string>> out;
    for (const auto& [a, b] : keys) {
      out.first.push_back(a);
      out.second.push_back(b);
    }
    return out;
  };
  const auto [wallet_t, wallet_c] = columns(wallet_set);
  const auto [key_t, key_k] = columns(key_set);
  const auto [hold_t, hold_id] = columns(hold_set);

  // Round 1.
  std::vector<Stmt> round{{.sql = "BEGIN", .params = {}}};
  if (!d.wait_limit_sql.empty()) {
    round.push_back({.sql = d.wait_limit_sql, .params = {std::to_string(wait_ms)}});
  }
  const size_t lock_at = round.size();
  if (!wallet_t.empty()) {
    round.push_back({.sql = kLockWalletsSql, .params = {textArray(wallet_t), textArray(wallet_c)}});
  }
  const size_t keys_at = key_t.empty() ? 0 : round.size();
  if (!key_t.empty()) {
    round.push_back({.sql = kPriorAppliesSql, .params = {textArray(key_t), textArray(key_k)}});
  }
  const size_t holds_at = hold_t.empty() ? 0 : round.size();
  if (!hold_t.empty()) {
    round.push_back({.sql = kHoldsSql, .params = {textArray(hold_t), textArray(hold_id)}});
  }
  const size_t seqs_at = max_entries == 0 ? 0 : round.size();
  if (max_entries > 0) round.push_back({.sql = kSeqsSql, .params = {max_entries}});
  const std::vector<Rows> read = x.queryAll(round);

  BatchLedgerTx tx;
  for (const auto& r : wallet_t.empty() ? Rows{} : read.at(lock_at)) {
    tx.wallets[{r[0], r[1]}] = LockedWallet{
        .balance = std::stoll(r[2]), .credit_limit = std::stoll(r[3]), .held = std::stoll(r[4])};
  }
  if (keys_at != 0) {
    for (const auto& r : read.at(keys_at)) {
      tx.priors[{r[0], r[1]}] =
          PriorApply{.first_seq = std::stoll(r[2]), .balance_after = std::stoll(r[3])};
    }
  }
  if (holds_at != 0) {
    for (const auto& r : read.at(holds_at)) {
      tx.holds[{r[0], r[1]}] = StoredHold{.status = std::stoi(r[2]),
                                          .amount = std::stoll(r[3]),
                                          .captured = std::stoll(r[4]),
                                          .entry_seq = std::stoll(r[5]),
                                          .expires_at_ms = std::stoll(r[6]),
                                          .currency = r[7]};
    }
  }
  if (seqs_at != 0) {
    for (const auto& r : read.at(seqs_at)) tx.seqs.push_back(std::stoll(r[0]));
    std::sort(tx.seqs.begin(), tx.seqs.end());
  }

  // The decisions, unit after unit in the batch's order. Usage taken off the queue is written
  // only for units that applied (a unit refused leaves its usage queued).
  std::vector<std::string> done_t, done_key;
  for (const auto& u : batch) {
    const size_t before = tx.writes();
    std::vector<std::string> done;
    try {
      for (size_t i = 0; i < u->ops.size(); ++i) {
        if (const auto* l = std::get_if<LedgerOp>(&u->ops[i])) {
          u->ledger[i] = applyLedger(tx, u->tenant, *l);
          u->results[i] =
              u->ledger[i].outcome == TG_APPLY_APPLIED ? TG_UNIT_CHANGED : TG_UNIT_UNCHANGED;
        } else if (const auto* usage = std::get_if<UsageDoneOp>(&u->ops[i])) {
          done.push_back(usage->key);
          u->results[i] = TG_UNIT_CHANGED;
        } else {
          u->holds[i] = applyHold(tx, u->tenant, std::get<HoldOp>(u->ops[i]));
          u->results[i] = holdUnitResult(u->holds[i]);
        }
      }
    } catch (const sdk::Error& e) {
      // A refusal comes before any write (LedgerTx); a unit of several operations whose later
      // one is refused has written: it needs a savepoint, which only commitEach has.
      if (tx.writes() != before) throw DbFailure(DbError{DbErrorKind::kOther, e.what()});
      u->reset();
      u->status = e.status();
      u->error = e.what();
      continue;
    }
    for (std::string& key : done) {
      done_t.push_back(u->tenant);
      done_key.push_back(std::move(key));
    }
  }

  // Round 2: the writes, one statement per table, then COMMIT.
  round.clear();
  if (!tx.entries.empty()) {
    std::vector<int64_t> seq, amount, after, at;
    std::vector<int32_t> kind;
    std::vector<std::string> t, c, key, ref, desc, country;
    for (const auto& e : tx.entries) {
      seq.push_back(e.seq);
      t.push_back(e.tenant);
      c.push_back(e.currency);
      kind.push_back(e.e.kind);
      amount.push_back(e.e.amount);
      after.push_back(e.balance_after);
      key.push_back(e.key);
      ref.push_back(e.e.reference);
      desc.push_back(e.e.description);
      country.push_back(e.e.country);
      at.push_back(e.now_ms);
    }
    round.push_back({.sql = kInsertEntriesSql,
                     .params = {intArray(seq), textArray(t), textArray(c), intArray(kind),
                                intArray(amount), intArray(after), textArray(key), textArray(ref),
                                textArray(desc), textArray(country), intArray(at)}});
  }
  if (!tx.dirty_wallets.empty()) {
    std::vector<std::string> t, c;
    std::vector<int64_t> b, h;
    for (const auto& [k, w] : tx.dirty_wallets) {
      t.push_back(k.first);
      c.push_back(k.second);
      b.push_back(w.balance);
      h.push_back(w.held);
    }
    round.push_back({.sql = kUpdateWalletsSql,
                     .params = {textArray(t), textArray(c), intArray(b), intArray(h)}});
  }
  if (!tx.applies.empty()) {
    std::vector<std::string> t, key, c;
    std::vector<int64_t> first, after, at;
    std::vector<int32_t> count;
    for (const auto& a : tx.applies) {
      t.push_back(a.tenant);
      key.push_back(a.key);
      c.push_back(a.currency);
      first.push_back(a.result.first_seq);
      count.push_back(a.entry_count);
      after.push_back(a.result.balance_after);
      at.push_back(a.now_ms);
    }
    round.push_back({.sql = kInsertAppliesSql,
                     .params = {textArray(t), textArray(key), textArray(c), intArray(first),
                                intArray(count), intArray(after), intArray(at)}});
  }
  if (!tx.new_holds.empty()) {
    std::vector<std::string> t, id, c, ref;
    std::vector<int64_t> amount, expires, at;
    for (const auto& [tenant, op] : tx.new_holds) {
      t.push_back(tenant);
      id.push_back(op.hold_id);
      c.push_back(op.currency);
      amount.push_back(op.amount);
      ref.push_back(op.reference);
      expires.push_back(op.expires_at_ms);
      at.push_back(op.now_ms);
    }
    round.push_back({.sql = kInsertHoldsSql,
                     .params = {textArray(t), textArray(id), textArray(c), intArray(amount),
                                textArray(ref), intArray(expires), intArray(at)}});
  }
  if (!tx.hold_changes.empty()) {
    // After the inserts: a hold reserved and captured in one batch is inserted, then changed.
    std::vector<std::string> t, id;
    std::vector<int32_t> status;
    std::vector<int64_t> captured, seq, at;
    for (const auto& [k, ch] : tx.hold_changes) {
      t.push_back(k.first);
      id.push_back(k.second);
      status.push_back(ch.status);
      captured.push_back(ch.captured);
      seq.push_back(ch.entry_seq);
      at.push_back(ch.now_ms);
    }
    round.push_back({.sql = kUpdateHoldsSql,
                     .params = {textArray(t), textArray(id), intArray(status), intArray(captured),
                                intArray(seq), intArray(at)}});
  }
  if (!done_t.empty()) {
    round.push_back({.sql = kUsageDoneManySql, .params = {textArray(done_t), textArray(done_key)}});
  }
  round.push_back({.sql = "COMMIT", .params = {}});
  committing = true;
  x.queryAll(round);
}

}  // namespace tollgate::storage_sql
