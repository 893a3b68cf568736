// Units of work (ABI 1.3): checked and copied from the ABI, applied in one transaction (one
// per unit, or, with group commit, a SAVEPOINT each in a transaction shared by many callers).
#include "sql_units.hpp"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <thread>
#include <tuple>
#include <utility>

#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

// More operations than any webhook writes; a bound on what one call can make the backend do.
constexpr size_t kMaxUnitOps = 64;

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string_view kindName(tg_unit_op_kind kind) {
  switch (kind) {
    case TG_UNIT_CLAIM:
      return "claim";
    case TG_UNIT_COMPLETE:
      return "complete";
    case TG_UNIT_MESSAGE_INSERT:
      return "message_insert";
    case TG_UNIT_MESSAGE_STATUS:
      return "message_status";
    case TG_UNIT_CALL_INSERT:
      return "call_insert";
    case TG_UNIT_CALL_STATUS:
      return "call_status";
    case TG_UNIT_CALL_RECORDING:
      return "call_recording";
    case TG_UNIT_OPTOUT_SET:
      return "optout_set";
    case TG_UNIT_USAGE_ADD:
      return "usage_add";
    case TG_UNIT_OUTBOX_ADD:
      return "outbox_add";
    case TG_UNIT_OUTBOX_STATUS:
      return "outbox_status";
    case TG_UNIT_HOLD:
      return "hold";
    default:
      return "unknown";
  }
}

// An operation's args, at least `min_size` bytes of them (by default all this plugin knows;
// less for a struct that grew, whose later fields are read where TG_HAS_FIELD).
template <class Args>
const Args& argsOf(std::string_view op, const tg_unit_op& o, size_t min_size = sizeof(Args)) {
  if (o.args == nullptr) invalid(op, "args", "missing");
  const auto& a = *static_cast<const Args*>(o.args);
  checkStructSize(op, "args", a.struct_size, min_size);
  return a;
}

int64_t toInt(const std::string& v) { return v.empty() ? 0 : std::stoll(v); }

}  // namespace

Rows PocoExec::query(std::string_view sql, const std::vector<Param>& params) {
  Poco::Data::Statement st(session_);
  st << dialect_.sql(sql);
  bindAll(st, params);
  st.execute();
  Rows rows;
  if (st.columnsExtracted() == 0) return rows;
  Poco::Data::RecordSet rs(st);
  const size_t n = rs.rowCount(), cols = rs.columnCount();
  rows.reserve(n);
  for (size_t r = 0; r < n; ++r) {
    std::vector<std::string> row;
    row.reserve(cols);
    for (size_t c = 0; c < cols; ++c) {
      row.push_back(rs.isNull(c, r) ? std::string() : rs.value(c, r).convert<std::string>());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::shared_ptr<OwnedUnit> checkedUnit(const sdk::CallContext& ctx, const tg_unit& unit) {
  static constexpr std::string_view kOp = "unit_apply";
  checkStructSize(kOp, "unit", unit.struct_size, sizeof(tg_unit));
  if (unit.ops == nullptr || unit.op_count == 0) {
    invalid(kOp, "unit.ops", "want at least one operation");
  }
  if (unit.op_count > kMaxUnitOps) {
    invalid(kOp, "unit.op_count", "at most " + std::to_string(kMaxUnitOps) + " operations");
  }
  const uint32_t stride = unit.ops[0].struct_size;
  checkStructSize(kOp, "unit.ops[0]", stride, sizeof(tg_unit_op));

  auto owned = std::make_shared<OwnedUnit>();
  OwnedUnit& u = *owned;
  u.tenant = checkedText(kOp, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  bool claimed = false;
  for (size_t i = 0; i < unit.op_count; ++i) {
    const auto& o =
        *reinterpret_cast<const tg_unit_op*>(reinterpret_cast<const char*>(unit.ops) + i * stride);
    const std::string name = cat({kOp, " ops[", std::to_string(i), "] (", kindName(o.kind), ")"});
    const std::string_view op = name;
    switch (o.kind) {
      case TG_UNIT_CLAIM: {
        const auto& row = argsOf<tg_idempotency_row>(op, o);
        if (claimed) invalid(op, "kind", "a unit has at most one claim");
        claimed = true;
        if (row.tenant_id.size != 0 && sdk::view(row.tenant_id) != u.tenant) {
          invalid(op, "tenant_id", "the row belongs to another tenant than the call");
        }
        u.ops.emplace_back(ClaimOp{
            .scope = checkedText(op, "scope", sdk::view(row.scope), kMaxIdBytes, true),
            .key = checkedText(op, "key", sdk::view(row.key), kMaxIdBytes, true),
            .request_hash =
                checkedText(op, "request_hash", sdk::view(row.request_hash), kMaxTextBytes, false),
            .created_at_ms = row.created_at_ms,
            .completion = std::nullopt});
        break;
      }
      case TG_UNIT_COMPLETE: {
        const auto& c = argsOf<tg_idempotency_completion>(op, o);
        if (c.response_status <= 0) {
          invalid(op, "response_status", "want the answer's status (> 0)");
        }
        u.ops.emplace_back(CompleteOp{
            .scope = checkedText(op, "scope", sdk::view(c.scope), kMaxIdBytes, true),
            .key = checkedText(op, "key", sdk::view(c.key), kMaxIdBytes, true),
            .response_status = c.response_status,
            .response_body =
                checkedText(op, "response_body", sdk::view(c.response_body), kMaxBodyBytes, false),
            .reply_to = c.reply_to.size == 0 ? std::string()
                                             : checkedE164(op, "reply_to", sdk::view(c.reply_to)),
            .no_reply_body = checkedText(op, "no_reply_body", sdk::view(c.no_reply_body),
                                         kMaxBodyBytes, false)});
        break;
      }
      case TG_UNIT_MESSAGE_INSERT:
        u.ops.emplace_back(checkedMessageInsert(op, ctx, argsOf<tg_message_row>(op, o)));
        break;
      case TG_UNIT_CALL_INSERT:
        u.ops.emplace_back(checkedCallInsert(op, ctx, argsOf<tg_call_row>(op, o)));
        break;
      case TG_UNIT_MESSAGE_STATUS: {
        const auto& c = argsOf<tg_status_change>(op, o, offsetof(tg_status_change, price_state));
        u.ops.emplace_back(checkedMessageStatus(op, ctx, sdk::view(c.sid), sdk::view(c.status),
                                                c.status_rank, c.error_code, c.now_ms));
        break;
      }
      case TG_UNIT_CALL_STATUS: {
        const auto& c = argsOf<tg_status_change>(op, o, offsetof(tg_status_change, price_state));
        const bool priced = TG_HAS_FIELD(tg_status_change, c.struct_size, price_check_at_ms);
        u.ops.emplace_back(checkedCallStatus(
            op, ctx, sdk::view(c.sid), sdk::view(c.status), c.status_rank, c.duration_s, c.now_ms,
            priced ? c.price_state : 0, priced ? c.price_check_at_ms : 0));
        break;
      }
      case TG_UNIT_CALL_RECORDING: {
        const auto& c = argsOf<tg_recording_change>(op, o);
        u.ops.emplace_back(
            checkedCallRecording(op, ctx, sdk::view(c.sid), sdk::view(c.recording_url), c.now_ms));
        break;
      }
      case TG_UNIT_OPTOUT_SET: {
        const auto& c = argsOf<tg_optout_change>(op, o);
        scopedTenant(op, ctx);
        u.ops.emplace_back(OptOutOp{
            .phone = checkedE164(op, "phone", sdk::view(c.phone)),
            .opted_out = c.opted_out != 0,
            .keyword = checkedText(op, "keyword", sdk::view(c.keyword), kMaxIdBytes, false),
            .message_sid =
                checkedText(op, "message_sid", sdk::view(c.message_sid), kMaxIdBytes, false),
            .now_ms = c.now_ms});
        break;
      }
      case TG_UNIT_USAGE_ADD:
        u.ops.emplace_back(checkedUsageAdd(op, u.tenant, argsOf<tg_usage_row>(op, o)));
        break;
      case TG_UNIT_OUTBOX_ADD:
        u.ops.emplace_back(checkedOutboxAdd(op, u.tenant, argsOf<tg_outbox_row>(op, o)));
        break;
      case TG_UNIT_OUTBOX_STATUS:
        if (u.tenant.empty()) invalid(op, "tenant_id", "an outbox status needs the unit's tenant");
        u.ops.emplace_back(
            checkedOutboxTransition(op, u.tenant, argsOf<tg_outbox_transition>(op, o), false));
        break;
      case TG_UNIT_HOLD: {
        if (o.args == nullptr) invalid(op, "args", "missing");
        const auto& req = *static_cast<const tg_hold_request*>(o.args);
        if (req.action == TG_HOLD_RESERVE) {
          invalid(op, "action", "a unit captures or releases holds; reserve with hold_apply");
        }
        HoldOp h = checkedHoldOp(op, req);
        h.missing_ok = true;
        u.ops.emplace_back(std::move(h));
        break;
      }
      default:
        throw sdk::Error(TG_ERR_UNSUPPORTED, cat({op, ": operation kind ", std::to_string(o.kind),
                                                  " is not known to this plugin"}));
    }
  }
  // Fold the completion of the claimed key into the claim (the operations between them write
  // records and the registry, never idempotency keys, so the order does not matter to them).
  if (auto* claim = u.ops.empty() ? nullptr : std::get_if<ClaimOp>(&u.ops.front())) {
    for (size_t i = 1; i < u.ops.size(); ++i) {
      auto* c = std::get_if<CompleteOp>(&u.ops[i]);
      if (c != nullptr && c->scope == claim->scope && c->key == claim->key) {
        claim->completion = i;
        c->folded = true;
        break;
      }
    }
  }
  u.reset();
  return owned;
}

namespace {

// The unit's own last change of `phone` in the registry, if it makes one.
const OptOutOp* lastChangeOf(const OwnedUnit& u, const std::string& phone) {
  for (auto it = u.ops.rbegin(); it != u.ops.rend(); ++it) {
    const auto* change = std::get_if<OptOutOp>(&*it);
    if (change != nullptr && change->phone == phone) return change;
  }
  return nullptr;
}

std::string registryKey(const std::string& tenant, const std::string& phone) {
  return cat({tenant, "/", phone});
}

// The claim with the unit's answer folded in: the answer withheld, or the reply.
Stmt claimAnswered(const OwnedUnit& u, const ClaimOp& c, bool withheld) {
  const auto& done = std::get<CompleteOp>(u.ops[*c.completion]);
  return {.sql = kClaimAnsweredSql,
          .params = {u.tenant, c.scope, c.key, c.request_hash, done.response_status,
                     withheld ? done.no_reply_body : done.response_body, c.created_at_ms}};
}

// A registry change: the state and its audit event, as optout_set writes them.
std::vector<Stmt> optOutWrites(const OwnedUnit& u, const OptOutOp& c) {
  const int32_t state = c.opted_out ? 1 : 0;
  return {{.sql = kOptOutStateSql, .params = {u.tenant, c.phone, state, c.now_ms}},
          {.sql = kOptOutEventSql,
           .params = {u.tenant, c.phone, state, c.keyword, c.message_sid, c.now_ms}}};
}

// Whether a reply to `phone` is withheld: the registry as the unit leaves it, from the unit's
// own last change of that phone if it makes one, else as stored.
bool withheldFor(SqlExec& x, const Dialect& d, const OwnedUnit& u, const std::string& phone) {
  if (phone.empty()) return false;
  if (const OptOutOp* change = lastChangeOf(u, phone)) return change->opted_out;
  if (!d.registry_lock_shared.empty()) {
    x.query(d.registry_lock_shared, {registryKey(u.tenant, phone)});
  }
  const Rows state = x.query(kOptedOutSql, {u.tenant, phone});
  return !state.empty() && state.front().front() != "0";
}

}  // namespace

void applyOps(SqlExec& x, const Dialect& d, OwnedUnit& u) {
  u.reset();
  for (size_t i = 0; i < u.ops.size(); ++i) {
    u.results[i] = std::visit(
        Overloaded{
            [&](const ClaimOp& c) -> int32_t {
              // Exactly one concurrent claimer inserts; the others' INSERT does nothing (on
              // PostgreSQL after waiting for the winner to commit), and they read its row.
              bool inserted = false;
              if (c.completion) {
                const auto& done = std::get<CompleteOp>(u.ops[*c.completion]);
                const bool withheld = withheldFor(x, d, u, done.reply_to);
                const Stmt st = claimAnswered(u, c, withheld);
                inserted = !x.query(st.sql, st.params).empty();
                if (inserted) {
                  u.results[*c.completion] = withheld ? TG_UNIT_NO_REPLY : TG_UNIT_CHANGED;
                }
              } else {
                inserted =
                    !x.query(kClaimSql, {u.tenant, c.scope, c.key, c.request_hash, c.created_at_ms})
                         .empty();
              }
              if (inserted) return TG_UNIT_CHANGED;
              Rows stored = x.query(kIdempotencySelectSql, {u.tenant, c.scope, c.key});
              if (stored.empty()) {
                throw DbFailure(DbError{DbErrorKind::kRetryable,
                                        "the record that blocked the claim disappeared"});
              }
              throw Duplicate{std::move(stored.front())};
            },
            [&](const CompleteOp& c) -> int32_t {
              if (c.folded) return u.results[i];  // written by the claim
              // The reply decision, inside the unit: the registry as this transaction sees it.
              const bool withheld = withheldFor(x, d, u, c.reply_to);
              const std::string& body = withheld ? c.no_reply_body : c.response_body;
              if (x.query(kCompleteSql, {c.response_status, body, u.tenant, c.scope, c.key})
                      .empty()) {
                throw sdk::Error(TG_ERR_NOT_FOUND, cat({"unit_apply: key '", c.key, "' in scope '",
                                                        c.scope, "' was never claimed"}));
              }
              return withheld ? TG_UNIT_NO_REPLY : TG_UNIT_CHANGED;
            },
            [&](const RecordInsert& r) -> int32_t {
              return x.query(r.sql, r.params).empty() ? TG_UNIT_UNCHANGED : TG_UNIT_CHANGED;
            },
            [&](const RecordUpdate& r) -> int32_t {
              if (!x.query(r.sql, r.params).empty()) return TG_UNIT_CHANGED;
              return x.query(r.existsSql(), {r.sid, r.tenant}).empty() ? TG_UNIT_MISSING
                                                                       : TG_UNIT_UNCHANGED;
            },
            [&](const LedgerOp& l) -> int32_t {
              SqlLedgerTx tx(x, d);
              u.ledger[i] = applyLedger(tx, u.tenant, l);
              return u.ledger[i].outcome == TG_APPLY_APPLIED ? TG_UNIT_CHANGED : TG_UNIT_UNCHANGED;
            },
            [&](const HoldOp& h) -> int32_t {
              SqlLedgerTx tx(x, d);
              u.holds[i] = applyHold(tx, u.tenant, h);
              return holdUnitResult(u.holds[i]);
            },
            [&](const UsageDoneOp& o) -> int32_t {
              x.query(kUsageDoneSql, {u.tenant, o.key});
              return TG_UNIT_CHANGED;
            },
            [&](const OptOutOp& c) -> int32_t {
              if (!d.registry_lock_exclusive.empty()) {
                x.query(d.registry_lock_exclusive, {registryKey(u.tenant, c.phone)});
              }
              for (const Stmt& st : optOutWrites(u, c)) x.query(st.sql, st.params);
              return TG_UNIT_CHANGED;
            },
        },
        u.ops[i]);
  }
}

// ---- SqlStore ----

void SqlStore::enableGroupCommit(std::function<std::unique_ptr<SqlExec>()> open,
                                 const GroupCommitOptions& options) {
  group_ = std::make_unique<GroupCommit>();
  group_->open = std::move(open);
  group_->options = options;
  group_->options.writers = std::max<size_t>(options.writers, 1);
  group_->conns.resize(group_->options.writers);
  for (size_t i = group_->options.writers; i > 0; --i) group_->idle.push_back(i - 1);
}

// Here, where GroupCommit is complete. No unit is pending by now: the host calls no plugin it
// is shutting down.
SqlStore::~SqlStore() = default;

void SqlStore::applyUnit(const sdk::CallContext& ctx, const std::shared_ptr<OwnedUnit>& u) {
  u->deadline_unix_ms = ctx.deadline_unix_ms;
  if (group_) {
    submit(u);
    return;
  }
  try {
    run(ctx, "unit_apply", Tx::kWrite, [&](Poco::Data::Session& s) {
      PocoExec x(s, dialect_);
      u->reset();
      applyOps(x, dialect_, *u);
    });
  } catch (Duplicate& d) {
    u->reset();
    u->duplicate = true;
    u->existing = std::move(d.row);
  }
}

tg_unit_outcome SqlStore::unitApply(const sdk::CallContext& ctx, const tg_unit& unit,
                                    tg_idempotency_sink existing) {
  const std::shared_ptr<OwnedUnit> u = checkedUnit(ctx, unit);
  applyUnit(ctx, u);
  if (u->status != TG_OK) throw sdk::Error(u->status, u->error);
  if (u->duplicate) {
    const auto& r = u->existing;
    if (r.size() != 7) throw sdk::Error(TG_ERR_INTERNAL, "unit_apply: malformed stored record");
    const tg_idempotency_row out{
        .struct_size = sizeof(tg_idempotency_row),
        .tenant_id = sdk::str(r[0]),
        .scope = sdk::str(r[1]),
        .key = sdk::str(r[2]),
        .request_hash = sdk::str(r[3]),
        .response_status = static_cast<int32_t>(toInt(r[4])),
        .response_body = sdk::str(r[5]),
        .created_at_ms = toInt(r[6]),
    };
    existing.fn(existing.ctx, &out);
    return TG_UNIT_DUPLICATE;
  }
  const uint32_t stride = unit.ops[0].struct_size;
  for (size_t i = 0; i < unit.op_count; ++i) {
    const auto& o =
        *reinterpret_cast<const tg_unit_op*>(reinterpret_cast<const char*>(unit.ops) + i * stride);
    if (o.out_result != nullptr) *o.out_result = u->results[i];
  }
  return TG_UNIT_APPLIED;
}

void SqlStore::submit(const std::shared_ptr<OwnedUnit>& u) { submitAll({u}); }

void SqlStore::submitAll(const std::vector<std::shared_ptr<OwnedUnit>>& units) {
  GroupCommit& g = *group_;
  std::unique_lock lock(g.mu);
  g.pending.insert(g.pending.end(), units.begin(), units.end());
  // In order: when a unit is done, those queued before it were taken into a batch first. A
  // later one of these made the leader meanwhile keeps its `lead` until it is awaited here.
  for (const auto& u : units) await(u, lock);
}

void SqlStore::await(const std::shared_ptr<OwnedUnit>& u, std::unique_lock<std::mutex>& lock) {
  GroupCommit& g = *group_;
  while (!u->done) {
    if (g.leaders >= g.options.writers || g.pending.empty()) {
      u->wake.wait(lock, [&] { return u->done || u->lead; });
      u->lead = false;
      continue;
    }
    // Lead one batch: the front of the queue (this unit, or older ones first).
    ++g.leaders;
    const size_t slot = g.idle.back();
    g.idle.pop_back();
    const size_t n = std::min(g.pending.size(), g.options.max_batch);
    std::vector<std::shared_ptr<OwnedUnit>> batch(g.pending.begin(), g.pending.begin() + n);
    g.pending.erase(g.pending.begin(), g.pending.begin() + n);
    lock.unlock();
    commitBatch(batch, g.conns[slot]);
    lock.lock();
    for (const auto& b : batch) {
      b->done = true;
      if (b != u) b->wake.notify_one();
    }
    g.idle.push_back(slot);
    --g.leaders;
    // The caller of the oldest unit still queued leads the next batch.
    if (!g.pending.empty()) {
      g.pending.front()->lead = true;
      g.pending.front()->wake.notify_one();
    }
  }
}

namespace {

void failAll(std::vector<std::shared_ptr<OwnedUnit>>& batch, const sdk::Error& e) {
  for (const auto& u : batch) {
    if (u->status != TG_OK) continue;
    u->reset();
    u->status = e.status();
    u->error = e.what();
  }
}

// One attempt at a pipelined batch (SqlStore::commitInRounds), in rounds of statements sent
// together:
//   1. BEGIN; the registry locks the batch needs, in the order of their keys (so that batches
//      on other daemons cannot deadlock on them); the claims, answers folded in, also in the
//      order of their keys; a reply decision that reads the registry is made by its claim
//      statement (kClaimDecidedSql), after the locks.
//   2. The duplicates' stored records, and the other operations of the units that claimed;
//      COMMIT, unless a status update may have found nothing.
//   3. Only then: whether the records of those updates exist; COMMIT.
// Within a unit, operations keep their order. Across the batch the registry is read before
// any unit of it changes the registry: as if the units that read it ran before those that
// change it, which is a fair order for requests that were all in flight at once (ADR 0007).
class PipelinedBatch {
 public:
  PipelinedBatch(SqlExec& x, const Dialect& d, std::vector<std::shared_ptr<OwnedUnit>>& batch,
                 int64_t wait_ms)
      : x_(x), d_(d), batch_(batch), wait_ms_(wait_ms) {}

  // Applies and commits the batch, and returns the units to apply again (a duplicate whose
  // stored record was gone by the time it was read). Throws DbFailure; `committing` then says
  // whether COMMIT had been sent.
  std::vector<std::shared_ptr<OwnedUnit>> run(bool& committing) {
    for (const auto& u : batch_) u->reset();
    std::vector<Stmt> round{{.sql = "BEGIN", .params = {}}};
    if (!d_.wait_limit_sql.empty()) {
      round.push_back({.sql = d_.wait_limit_sql, .params = {std::to_string(wait_ms_)}});
    }
    lock(round);
    claim(round);
    const std::vector<Rows> claimed = x_.queryAll(round);
    round.clear();
    std::vector<std::shared_ptr<OwnedUnit>> redo;
    const bool updates = rest(claimed, round);
    if (!updates) {
      round.push_back({.sql = "COMMIT", .params = {}});
      committing = true;
    }
    const std::vector<Rows> done = x_.queryAll(round);
    round.clear();
    const bool check = settle(done, round, redo);
    if (updates) {
      round.push_back({.sql = "COMMIT", .params = {}});
      committing = true;
      const std::vector<Rows> found = x_.queryAll(round);
      if (check) exists(found);
    }
    return redo;
  }

 private:
  // Where one statement's rows go.
  enum class What { kDuplicate, kInsert, kUpdate, kOther };
  struct Slot {
    size_t unit;
    size_t op;
    What what;
  };

  const CompleteOp& completion(const OwnedUnit& u) const {
    return std::get<CompleteOp>(u.ops[*std::get<ClaimOp>(u.ops.front()).completion]);
  }
  // Whether the unit's reply decision reads the registry.
  bool reads(const OwnedUnit& u) const {
    const std::string& phone = completion(u).reply_to;
    return !phone.empty() && lastChangeOf(u, phone) == nullptr;
  }

  void lock(std::vector<Stmt>& round) {
    if (d_.registry_lock_exclusive.empty()) return;
    std::map<std::string, bool> locks;  // registry key -> exclusive
    for (const auto& u : batch_) {
      for (const auto& o : u->ops) {
        if (const auto* c = std::get_if<OptOutOp>(&o)) {
          locks[registryKey(u->tenant, c->phone)] = true;
        }
      }
    }
    for (const auto& u : batch_) {
      if (reads(*u)) locks.try_emplace(registryKey(u->tenant, completion(*u).reply_to), false);
    }
    for (const auto& [key, exclusive] : locks) {
      round.push_back({.sql = exclusive ? d_.registry_lock_exclusive : d_.registry_lock_shared,
                       .params = {key}});
    }
  }

  void claim(std::vector<Stmt>& round) {
    std::vector<size_t> order(batch_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto keyOf = [&](size_t i) {
      const auto& c = std::get<ClaimOp>(batch_[i]->ops.front());
      return std::tie(batch_[i]->tenant, c.scope, c.key);
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return keyOf(a) < keyOf(b); });
    claim_at_.assign(batch_.size(), 0);
    for (const size_t i : order) {
      const OwnedUnit& u = *batch_[i];
      const auto& c = std::get<ClaimOp>(u.ops.front());
      claim_at_[i] = round.size();
      if (!reads(u)) {
        const std::string& phone = completion(u).reply_to;
        const OptOutOp* change = phone.empty() ? nullptr : lastChangeOf(u, phone);
        round.push_back(claimAnswered(u, c, change != nullptr && change->opted_out));
        continue;
      }
      const CompleteOp& done = completion(u);
      round.push_back({.sql = kClaimDecidedSql,
                       .params = {u.tenant, c.scope, c.key, c.request_hash, done.response_status,
                                  u.tenant, done.reply_to, done.no_reply_body, done.response_body,
                                  c.created_at_ms, u.tenant, done.reply_to}});
    }
  }

  // Round 2 from the claims' outcome; whether it has status updates.
  bool rest(const std::vector<Rows>& claimed, std::vector<Stmt>& round) {
    bool updates = false;
    slots_.clear();
    for (size_t i = 0; i < batch_.size(); ++i) {
      OwnedUnit& u = *batch_[i];
      const auto& c = std::get<ClaimOp>(u.ops.front());
      if (claimed.at(claim_at_[i]).empty()) {
        slots_.push_back({.unit = i, .op = 0, .what = What::kDuplicate});
        round.push_back({.sql = kIdempotencySelectSql, .params = {u.tenant, c.scope, c.key}});
        continue;
      }
      // The decision: the claim's own (kClaimDecidedSql's second column), or the unit's.
      const std::vector<std::string>& row = claimed.at(claim_at_[i]).front();
      bool withheld = false;
      if (row.size() > 1) {
        withheld = row[1] == "t" || row[1] == "1";
      } else if (const OptOutOp* change = lastChangeOf(u, completion(u).reply_to)) {
        withheld = change->opted_out;
      }
      u.results[0] = TG_UNIT_CHANGED;
      u.results[*c.completion] = withheld ? TG_UNIT_NO_REPLY : TG_UNIT_CHANGED;
      for (size_t j = 1; j < u.ops.size(); ++j) {
        if (const auto* r = std::get_if<RecordInsert>(&u.ops[j])) {
          slots_.push_back({.unit = i, .op = j, .what = What::kInsert});
          round.push_back({.sql = r->sql, .params = r->params});
        } else if (const auto* r = std::get_if<RecordUpdate>(&u.ops[j])) {
          updates = true;
          slots_.push_back({.unit = i, .op = j, .what = What::kUpdate});
          round.push_back({.sql = r->sql, .params = r->params});
        } else if (const auto* o = std::get_if<OptOutOp>(&u.ops[j])) {
          u.results[j] = TG_UNIT_CHANGED;
          for (Stmt& s : optOutWrites(u, *o)) {
            slots_.push_back({.unit = i, .op = j, .what = What::kOther});
            round.push_back(std::move(s));
          }
        }
      }
    }
    return updates;
  }

  // The outcome of round 2; puts the existence checks of the updates that found nothing in
  // `round`, and returns whether there are any.
  bool settle(const std::vector<Rows>& done, std::vector<Stmt>& round,
              std::vector<std::shared_ptr<OwnedUnit>>& redo) {
    checks_.clear();
    for (size_t s = 0; s < slots_.size(); ++s) {
      const Slot& slot = slots_[s];
      OwnedUnit& u = *batch_[slot.unit];
      const Rows& rows = done.at(s);
      switch (slot.what) {
        case What::kDuplicate:
          u.reset();
          if (rows.empty()) {
            redo.push_back(batch_[slot.unit]);
          } else {
            u.duplicate = true;
            u.existing = rows.front();
          }
          break;
        case What::kInsert:
          u.results[slot.op] = rows.empty() ? TG_UNIT_UNCHANGED : TG_UNIT_CHANGED;
          break;
        case What::kUpdate:
          if (!rows.empty()) {
            u.results[slot.op] = TG_UNIT_CHANGED;
          } else {
            const auto& r = std::get<RecordUpdate>(u.ops[slot.op]);
            checks_.push_back(slot);
            exists_sql_.push_back(r.existsSql());
            round.push_back({.sql = exists_sql_.back(), .params = {r.sid, r.tenant}});
          }
          break;
        case What::kOther:
          break;
      }
    }
    return !checks_.empty();
  }

  void exists(const std::vector<Rows>& found) {
    for (size_t k = 0; k < checks_.size(); ++k) {
      batch_[checks_[k].unit]->results[checks_[k].op] =
          found.at(k).empty() ? TG_UNIT_MISSING : TG_UNIT_UNCHANGED;
    }
  }

  SqlExec& x_;
  const Dialect& d_;
  std::vector<std::shared_ptr<OwnedUnit>>& batch_;
  std::vector<size_t> claim_at_;  // by unit: its claim's place in its round
  std::vector<Slot> slots_;       // round 2's statements
  std::vector<Slot> checks_;      // round 3's statements
  std::deque<std::string> exists_sql_;
  int64_t wait_ms_;  // how long the batch may wait for locks (SqlStore::batchWaitLimitMs)
};

}  // namespace

bool pipelinable(const OwnedUnit& u) {
  const auto* claim = u.ops.empty() ? nullptr : std::get_if<ClaimOp>(&u.ops.front());
  if (claim == nullptr || !claim->completion) return false;
  for (size_t i = 1; i < u.ops.size(); ++i) {
    if (std::holds_alternative<ClaimOp>(u.ops[i]) || std::holds_alternative<LedgerOp>(u.ops[i]) ||
        std::holds_alternative<HoldOp>(u.ops[i]) || std::holds_alternative<UsageDoneOp>(u.ops[i])) {
      return false;
    }
    const auto* c = std::get_if<CompleteOp>(&u.ops[i]);
    if (c != nullptr && !c->folded) return false;
  }
  return true;
}

void SqlStore::commitBatch(std::vector<std::shared_ptr<OwnedUnit>>& batch,
                           std::unique_ptr<SqlExec>& conn) {
  // Webhook units and ledger units each go in rounds of statements sent together, in a
  // transaction of their own; any other unit (and any unit of a group that failed that way)
  // is applied statement by statement.
  const GroupCommitOptions& o = group_->options;
  std::vector<std::shared_ptr<OwnedUnit>> webhooks, ledger, other;
  for (auto& u : batch) {
    if (o.pipelined && pipelinable(*u)) {
      webhooks.push_back(u);
    } else if (o.ledger_batches && ledgerOnly(*u)) {
      ledger.push_back(u);
    } else {
      other.push_back(u);
    }
  }
  if (!webhooks.empty()) {
    const int64_t wait_ms = batchWaitLimitMs(webhooks);
    if (!commitInRounds(webhooks, conn, [&](SqlExec& x, bool& committing) {
          return PipelinedBatch(x, dialect_, webhooks, wait_ms).run(committing);
        })) {
      commitEach(webhooks, conn);
    }
  }
  if (!ledger.empty()) {
    const int64_t wait_ms = batchWaitLimitMs(ledger);
    if (!commitInRounds(ledger, conn, [&](SqlExec& x, bool& committing) {
          runLedgerBatch(x, dialect_, ledger, wait_ms, committing);
          return std::vector<std::shared_ptr<OwnedUnit>>{};
        })) {
      commitEach(ledger, conn);
    }
  }
  if (!other.empty()) commitEach(other, conn);
}

bool SqlStore::commitInRounds(std::vector<std::shared_ptr<OwnedUnit>>& batch,
                              std::unique_ptr<SqlExec>& conn, const RoundsFn& rounds) {
  static constexpr std::string_view op = "unit_apply";
  constexpr int kMaxAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    bool committing = false;
    DbError failure;
    try {
      if (!conn) conn = group_->open();
      std::vector<std::shared_ptr<OwnedUnit>> redo = rounds(*conn, committing);
      countCommit(batch.size());
      if (!redo.empty()) commitEach(redo, conn);
      return true;
    } catch (const DbFailure& e) {
      failure = e.error;
    } catch (const std::exception& e) {
      failure = DbError{DbErrorKind::kOther, e.what()};
    }
    // Roll back what the failure left; a lost connection is dropped instead.
    if (failure.kind == DbErrorKind::kUnavailable) {
      conn.reset();
    } else if (conn) {
      try {
        conn->execute("ROLLBACK");
      } catch (...) {
        conn.reset();
      }
    }
    // A connection lost after COMMIT was sent leaves the outcome unknown: not retried, so the
    // callers see UNAVAILABLE and retry with their own idempotency keys.
    const bool unknown = committing && failure.kind == DbErrorKind::kUnavailable;
    const bool again = !unknown && (failure.kind == DbErrorKind::kRetryable ||
                                    failure.kind == DbErrorKind::kUnavailable);
    if (again && attempt < kMaxAttempts) {
      host().metricAdd("tx_retries");
      std::this_thread::sleep_for(std::chrono::milliseconds(2 << attempt));
      continue;
    }
    if (again || unknown) {
      failAll(batch, error(op, failure, attempt));
      markDeadlines(batch);
      return true;
    }
    return false;  // some unit failed: commitEach finds which
  }
}

void SqlStore::countCommit(size_t n) {
  // Commits, units, and commits by how many units they carried (/metrics).
  host().metricAdd("group_commits");
  host().metricAdd("group_commit_units", static_cast<int64_t>(n));
  host().metricAdd(n == 1    ? "group_commits_of_1"
                   : n <= 4  ? "group_commits_of_2_to_4"
                   : n <= 16 ? "group_commits_of_5_to_16"
                   : n <= 64 ? "group_commits_of_17_to_64"
                             : "group_commits_of_65_or_more");
}

namespace {

// The wallet a unit's first ledger apply or hold locks, or "" if it has none.
std::string walletOf(const OwnedUnit& u) {
  for (const UnitOp& o : u.ops) {
    if (const auto* l = std::get_if<LedgerOp>(&o)) return walletKey(u.tenant, l->currency);
    if (const auto* h = std::get_if<HoldOp>(&o)) return walletKey(u.tenant, h->currency);
  }
  return "";
}

}  // namespace

void SqlStore::commitEach(std::vector<std::shared_ptr<OwnedUnit>>& batch,
                          std::unique_ptr<SqlExec>& conn, int attempt) {
  static constexpr std::string_view op = "unit_apply";
  constexpr int kMaxAttempts = 5;
  const GroupCommitOptions& options = group_->options;
  // Wallets locked in one order by every batch (stable: one wallet's units keep theirs), so
  // two daemons' batches do not deadlock on each other's wallets.
  std::stable_sort(batch.begin(), batch.end(),
                   [](const auto& a, const auto& b) { return walletOf(*a) < walletOf(*b); });
  std::vector<std::shared_ptr<OwnedUnit>> again;
  // On SQLite, writes outside units (tenants, keys, the ledger) queue on the same in-process
  // turn.
  std::unique_lock<WriteTurn> turn(write_mu_, std::defer_lock);
  if (dialect_.serialize_writes) turn.lock();
  bool in_tx = false;
  try {
    if (!conn) conn = group_->open();
    const int64_t wait_ms = batchWaitLimitMs(batch);
    if (dialect_.wait_limit_sql.empty()) conn->limitWaits(wait_ms);
    conn->execute(options.begin);
    in_tx = true;
    if (!dialect_.wait_limit_sql.empty()) {
      conn->query(dialect_.wait_limit_sql, {std::to_string(wait_ms)});
    }
    for (const auto& u : batch) {
      u->reset();
      conn->execute("SAVEPOINT unit");
      try {
        applyOps(*conn, dialect_, *u);
        conn->execute("RELEASE unit");
        continue;
      } catch (Duplicate& d) {
        u->reset();
        u->duplicate = true;
        u->existing = std::move(d.row);
      } catch (const sdk::Error& e) {
        u->status = e.status();
        u->error = e.what();
      } catch (const DbFailure& e) {
        if (e.error.kind == DbErrorKind::kRetryable && attempt < kMaxAttempts) {
          u->reset();
          again.push_back(u);  // after the others commit, which ends what it ran into
        } else {
          const sdk::Error err = error(op, e.error, attempt);
          u->status = err.status();
          u->error = err.what();
        }
      }
      // Only this unit's writes go; the transaction goes on with the others'.
      conn->execute("ROLLBACK TO unit");
      conn->execute("RELEASE unit");
    }
    conn->execute("COMMIT");
    in_tx = false;
    countCommit(batch.size() - again.size());
  } catch (const DbFailure& e) {
    failAll(batch, error(op, e.error, 1));
  } catch (const std::exception& e) {
    failAll(batch, sdk::Error(TG_ERR_INTERNAL, cat({op, ": ", e.what()})));
  } catch (...) {  // nothing may escape the leader: its callers wait on it
    failAll(batch, sdk::Error(TG_ERR_INTERNAL, cat({op, ": unknown exception"})));
  }
  markDeadlines(batch);
  if (in_tx) {
    try {
      conn->execute("ROLLBACK");
    } catch (...) {
      conn.reset();  // in an unknown state: open a new one for the next batch
    }
    return;
  }
  if (!again.empty()) {
    host().metricAdd("tx_retries");
    commitEach(again, conn, attempt + 1);
  }
}

}  // namespace tollgate::storage_sql
