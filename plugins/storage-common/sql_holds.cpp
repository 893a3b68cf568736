// Holds (ABI 1.4): part of a wallet's available balance reserved for a charge whose amount is
// known later. Every change to a hold runs under its wallet's lock, as every ledger apply does,
// and moves wallets.held_micros in the same transaction, so that the available balance
// (balance - held) that the funds checks read is always the one every other change left.
#include <cstring>
#include <vector>

#include "sql_bind.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

constexpr std::string_view kHoldColumns =
    "hold_id, tenant_id, currency, status, amount_micros, captured_micros, entry_seq, reference, "
    "expires_at_ms, created_at_ms, updated_at_ms";

// Ends an ACTIVE hold (CAPTURED, RELEASED or EXPIRED) and gives its amount back to the
// wallet's available balance; w is the wallet under its lock, with any capture applied.
void endHold(LedgerTx& tx, const std::string& tenant, const HoldOp& op, StoredHold& h,
             tg_hold_status status, LockedWallet& w) {
  h.status = status;
  tx.updateHold(tenant, op.hold_id, status, h.captured, h.entry_seq, op.now_ms);
  w.held -= h.amount;
  tx.setWallet(tenant, op.currency, w);
}

}  // namespace

HoldOp checkedHoldOp(std::string_view op, const tg_hold_request& req) {
  checkStructSize(op, "request", req.struct_size, offsetof(tg_hold_request, country));
  HoldOp out{
      .action = req.action,
      .currency = checkedCurrency(op, std::string_view(req.currency, strnlen(req.currency, 4))),
      .hold_id = checkedText(op, "hold_id", sdk::view(req.hold_id), kMaxIdBytes, true),
      .amount = req.amount_micros,
      .kind = req.kind,
      .reference = checkedText(op, "reference", sdk::view(req.reference), kMaxTextBytes, false),
      .description =
          checkedText(op, "description", sdk::view(req.description), kMaxTextBytes, false),
      .expires_at_ms = req.expires_at_ms,
      .now_ms = req.now_ms,
      .country = TG_HAS_FIELD(tg_hold_request, req.struct_size, country)
                     ? checkedCountry(op, "country", req.country)
                     : std::string()};
  switch (req.action) {
    case TG_HOLD_RESERVE:
      if (req.amount_micros <= 0) invalid(op, "amount_micros", "a reserve must be > 0");
      if (req.expires_at_ms <= req.now_ms) invalid(op, "expires_at_ms", "must be after now_ms");
      break;
    case TG_HOLD_CAPTURE:
      if (req.amount_micros <= 0) invalid(op, "amount_micros", "a capture must be > 0");
      if (req.kind < TG_ENTRY_TOPUP || req.kind > TG_ENTRY_KIND_MAX) {
        invalid(op, "kind", "unknown entry kind " + std::to_string(req.kind));
      }
      break;
    case TG_HOLD_RELEASE:
      break;
    default:
      invalid(op, "action", "unknown hold action " + std::to_string(req.action));
  }
  return out;
}

tg_hold_result applyHold(LedgerTx& tx, const std::string& tenant, const HoldOp& op) {
  static constexpr std::string_view kOp = "hold_apply";
  LockedWallet w = tx.lockWallet(kOp, tenant, op.currency);
  tg_hold_result result{.struct_size = sizeof(tg_hold_result),
                        .outcome = 0,
                        .status = 0,
                        .balance_micros = w.balance,
                        .held_micros = w.held,
                        .captured_micros = 0,
                        .entry_seq = 0};
  const auto answer = [&](tg_apply_outcome outcome, const StoredHold& h) {
    result.outcome = outcome;
    result.status = h.status;
    result.balance_micros = w.balance;
    result.held_micros = w.held;
    result.captured_micros = h.captured;
    result.entry_seq = h.entry_seq;
    return result;
  };

  std::optional<StoredHold> h = tx.findHold(tenant, op.hold_id);

  if (op.action == TG_HOLD_RESERVE) {
    // The id was reserved before (in this wallet or another: ids are unique per tenant).
    if (h) {
      if (h->currency != op.currency) {
        throw sdk::Error(TG_ERR_CONFLICT, cat({kOp, ": hold '", op.hold_id,
                                               "' was reserved in the ", h->currency, " wallet"}));
      }
      return answer(TG_APPLY_ALREADY_APPLIED, *h);
    }
    int64_t after = 0;
    if (__builtin_sub_overflow(w.balance, op.amount, &after) || !fundsCover(after, w)) {
      result.outcome = TG_APPLY_INSUFFICIENT_FUNDS;
      return result;
    }
    tx.insertHold(tenant, op);
    w.held += op.amount;
    tx.setWallet(tenant, op.currency, w);
    return answer(TG_APPLY_APPLIED, StoredHold{.status = TG_HOLD_ACTIVE,
                                               .amount = op.amount,
                                               .captured = 0,
                                               .entry_seq = 0,
                                               .expires_at_ms = op.expires_at_ms,
                                               .currency = op.currency});
  }

  if (h && h->currency != op.currency) h.reset();  // another wallet's: not in this one
  if (!h) {
    // The sweeper's own action finds what another sweeper or a capture left: nothing to do.
    if (op.action == HoldOp::kExpire || op.missing_ok) {
      return answer(TG_APPLY_HOLD_NOT_ACTIVE, StoredHold{});
    }
    throw sdk::Error(TG_ERR_NOT_FOUND, cat({kOp, ": tenant '", tenant, "' has no hold '",
                                            op.hold_id, "' in its ", op.currency, " wallet"}));
  }
  // Past its expiry, an ACTIVE hold is expired whoever finds it first: a capture or release
  // that comes too late, or the sweeper.
  if (h->status == TG_HOLD_ACTIVE && h->expires_at_ms <= op.now_ms) {
    endHold(tx, tenant, op, *h, TG_HOLD_EXPIRED, w);
    return answer(op.action == HoldOp::kExpire ? TG_APPLY_APPLIED : TG_APPLY_HOLD_NOT_ACTIVE, *h);
  }
  if (op.action == HoldOp::kExpire) return answer(TG_APPLY_HOLD_NOT_ACTIVE, *h);

  const tg_hold_status done = op.action == TG_HOLD_CAPTURE ? TG_HOLD_CAPTURED : TG_HOLD_RELEASED;
  if (h->status == done) return answer(TG_APPLY_ALREADY_APPLIED, *h);
  if (h->status != TG_HOLD_ACTIVE) return answer(TG_APPLY_HOLD_NOT_ACTIVE, *h);

  if (op.action == TG_HOLD_RELEASE) {
    endHold(tx, tenant, op, *h, TG_HOLD_RELEASED, w);
    return answer(TG_APPLY_APPLIED, *h);
  }

  // Capture: at most what was reserved, so the funds are there; the rest goes back.
  if (op.amount > h->amount) {
    invalid(
        kOp, "amount_micros",
        cat({"captures ", std::to_string(op.amount), " of a hold of ", std::to_string(h->amount)}));
  }
  w.balance -= op.amount;  // >= balance - held >= -credit_limit: no overflow
  h->entry_seq = tx.appendEntry(tenant, op.currency,
                                LedgerEntry{.kind = op.kind,
                                            .amount = -op.amount,
                                            .reference = op.reference,
                                            .description = op.description,
                                            .country = op.country},
                                w.balance, op.hold_id, op.now_ms);
  h->captured = op.amount;
  endHold(tx, tenant, op, *h, TG_HOLD_CAPTURED, w);
  return answer(TG_APPLY_APPLIED, *h);
}

// ---- SqlStore ----

tg_hold_result SqlStore::holdApply(const sdk::CallContext& ctx, const tg_hold_request& req) {
  static constexpr std::string_view op = "hold_apply";
  auto u = std::make_shared<OwnedUnit>();
  u->tenant = scopedTenant(op, ctx);
  u->ops.emplace_back(checkedHoldOp(op, req));
  u->reset();
  applyUnit(ctx, u);  // with other callers' units, in one commit
  if (u->status != TG_OK) throw sdk::Error(u->status, u->error);
  return u->holds.front();
}

void SqlStore::holdList(const sdk::CallContext& ctx, const tg_hold_query& q, tg_hold_sink sink) {
  static constexpr std::string_view op = "hold_list";
  checkStructSize(op, "query", q.struct_size, sizeof(tg_hold_query));
  const std::string tenant = scopedTenant(op, ctx);
  const std::string code =
      checkedCurrency(op, std::string_view(q.currency, strnlen(q.currency, 4)));
  const std::string hold_id = checkedText(op, "hold_id", sdk::view(q.hold_id), kMaxIdBytes, false);
  const std::string after = checkedText(op, "after_id", sdk::view(q.after_id), kMaxIdBytes, false);
  if (q.status < 0 || q.status > TG_HOLD_EXPIRED) {
    invalid(op, "status", "unknown hold status " + std::to_string(q.status));
  }
  std::string sql = cat({"SELECT ", kHoldColumns,
                         " FROM ledger_holds WHERE tenant_id = ? AND currency = ? "
                         "AND hold_id > ?"});
  std::vector<Param> params{tenant, code, after};
  if (q.status != 0) {
    sql += " AND status = ?";
    params.emplace_back(q.status);
  }
  if (!hold_id.empty()) {
    sql += " AND hold_id = ?";
    params.emplace_back(hold_id);
  }
  sql += " ORDER BY hold_id LIMIT ?";
  params.emplace_back(static_cast<int64_t>(std::min(q.limit, kMaxPageRows)));
  Rows rows;
  bool wallet_exists = true;
  run(ctx, op, Tx::kNone, [&](Poco::Data::Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(sql, params);
    if (rows.empty()) {
      wallet_exists =
          !x.query("SELECT 1 FROM wallets WHERE tenant_id = ? AND currency = ?", {tenant, code})
               .empty();
    }
  });
  if (!wallet_exists) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", code, " wallet"}));
  }
  for (const auto& r : rows) {
    tg_hold_row out{.struct_size = sizeof(tg_hold_row),
                    .hold_id = sdk::str(r[0]),
                    .tenant_id = sdk::str(r[1]),
                    .currency = {},
                    .status = std::stoi(r[3]),
                    .amount_micros = std::stoll(r[4]),
                    .captured_micros = std::stoll(r[5]),
                    .entry_seq = std::stoll(r[6]),
                    .reference = sdk::str(r[7]),
                    .expires_at_ms = std::stoll(r[8]),
                    .created_at_ms = std::stoll(r[9]),
                    .updated_at_ms = std::stoll(r[10])};
    sdk::setCode(out.currency, r[2]);
    sink.fn(sink.ctx, &out);
  }
}

uint32_t SqlStore::holdExpire(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit) {
  static constexpr std::string_view op = "hold_expire";
  const std::string tenant =
      checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);  // empty: every tenant
  if (limit == 0) return 0;
  // The candidates, read without locks; each is then expired under its wallet's lock by the
  // same action a late capture takes, which leaves alone a hold that another sweeper, a capture
  // or a release ended in the meantime.
  Rows due;
  run(ctx, op, Tx::kNone, [&](Poco::Data::Session& s) {
    PocoExec x(s, dialect_);
    std::string sql =
        "SELECT tenant_id, currency, hold_id FROM ledger_holds WHERE status = 1 AND "
        "expires_at_ms <= ?";
    std::vector<Param> params{now_ms};
    if (!tenant.empty()) {
      sql += " AND tenant_id = ?";
      params.emplace_back(tenant);
    }
    sql += " ORDER BY expires_at_ms LIMIT ?";
    params.emplace_back(static_cast<int64_t>(std::min(limit, kMaxPageRows)));
    due = x.query(sql, params);
  });
  if (due.empty()) return 0;
  std::vector<std::shared_ptr<OwnedUnit>> units;
  for (const auto& r : due) {
    auto u = std::make_shared<OwnedUnit>();
    u->tenant = r[0];
    u->ops.emplace_back(HoldOp{.action = HoldOp::kExpire,
                               .currency = r[1],
                               .hold_id = r[2],
                               .amount = 0,
                               .kind = 0,
                               .reference = {},
                               .description = {},
                               .expires_at_ms = 0,
                               .now_ms = now_ms,
                               .country = {}});
    u->reset();
    units.push_back(std::move(u));
  }
  // In one transaction, wallets locked in the one order every transaction uses.
  std::stable_sort(units.begin(), units.end(), [](const auto& a, const auto& b) {
    return walletKey(a->tenant, std::get<HoldOp>(a->ops[0]).currency) <
           walletKey(b->tenant, std::get<HoldOp>(b->ops[0]).currency);
  });
  uint32_t expired = 0;
  run(ctx, op, Tx::kWrite, [&](Poco::Data::Session& s) {
    PocoExec x(s, dialect_);
    SqlLedgerTx tx(x, dialect_);
    expired = 0;
    for (const auto& u : units) {
      const tg_hold_result r = applyHold(tx, u->tenant, std::get<HoldOp>(u->ops[0]));
      if (r.outcome == TG_APPLY_APPLIED) ++expired;
    }
  });
  if (expired > 0) host().metricAdd("holds_expired", expired);
  return expired;
}

}  // namespace tollgate::storage_sql
