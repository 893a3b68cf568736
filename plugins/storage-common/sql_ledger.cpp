// Wallets and the ledger: the one place where money moves.
#include <cstring>
#include <vector>

#include "sql_bind.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

using WalletTuple = Poco::Tuple<std::string, std::string, Poco::Int64, Poco::Int64, Poco::Int64>;
using EntryTuple = Poco::Tuple<Poco::Int64, std::string, std::string, Poco::Int32, Poco::Int64,
                               Poco::Int64, std::string, std::string, std::string, Poco::Int64>;

}  // namespace

// The entries are walked with the stride the host declared in each element's struct_size rather
// than with this plugin's sizeof: a host built against a later minor version may have appended
// fields to tg_ledger_entry_in.
LedgerOp checkedLedgerOp(std::string_view op, const tg_ledger_apply_request& req) {
  LedgerOp out{
      .currency = checkedCurrency(op, std::string_view(req.currency, strnlen(req.currency, 4))),
      .key = checkedText(op, "idempotency_key", sdk::view(req.idempotency_key), kMaxIdBytes, true),
      .entries = {},
      .sum = 0,
      .now_ms = req.now_ms};
  if (req.entries == nullptr || req.entry_count == 0) invalid(op, "entries", "at least one entry");
  if (req.entry_count > 1000) invalid(op, "entries", "at most 1000 entries per apply");
  const size_t stride = req.entries[0].struct_size;
  if (stride < sizeof(tg_ledger_entry_in) || stride % alignof(tg_ledger_entry_in) != 0) {
    invalid(op, "entries[0].struct_size", "smaller than an ABI 1.0 entry or misaligned");
  }
  const auto* base = reinterpret_cast<const unsigned char*>(req.entries);
  out.entries.reserve(req.entry_count);
  for (size_t i = 0; i < req.entry_count; ++i) {
    const auto& e = *reinterpret_cast<const tg_ledger_entry_in*>(base + i * stride);
    const std::string field = "entries[" + std::to_string(i) + "]";
    if (e.struct_size != stride) invalid(op, field + ".struct_size", "differs from entries[0]");
    if (e.kind < TG_ENTRY_TOPUP || e.kind > TG_ENTRY_ADJUSTMENT) {
      invalid(op, field + ".kind", "unknown entry kind " + std::to_string(e.kind));
    }
    if (e.amount_micros == 0) invalid(op, field + ".amount_micros", "must not be 0");
    if (__builtin_add_overflow(out.sum, e.amount_micros, &out.sum)) {
      invalid(op, "entries", "the sum of the amounts overflows int64");
    }
    out.entries.push_back(LedgerEntry{
        .kind = e.kind,
        .amount = e.amount_micros,
        .reference =
            checkedText(op, field + ".reference", sdk::view(e.reference), kMaxTextBytes, false),
        .description = checkedText(op, field + ".description", sdk::view(e.description),
                                   kMaxTextBytes, false)});
  }
  return out;
}

tg_ledger_apply_result applyLedger(SqlExec& x, const Dialect& d, const std::string& tenant,
                                   const LedgerOp& op) {
  tg_ledger_apply_result result{.struct_size = sizeof(tg_ledger_apply_result),
                                .outcome = 0,
                                .balance_micros = 0,
                                .first_seq = 0};
  // 1. Lock the wallet. Every apply on this wallet queues here, so the balance read below stays
  //    current until commit and the key check below sees every earlier apply.
  const std::string lock_wallet =
      cat({"SELECT balance_micros, credit_limit_micros FROM wallets "
           "WHERE tenant_id = ? AND currency = ?",
           d.lock_rows});
  const Rows wallet = x.query(lock_wallet, {tenant, op.currency});
  if (wallet.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({"ledger_apply: tenant '", tenant, "' has no ", op.currency, " wallet"}));
  }
  const int64_t balance = std::stoll(wallet[0][0]);
  const int64_t credit_limit = std::stoll(wallet[0][1]);

  // 2. A key applied before answers with that apply's result and appends nothing.
  const Rows prior = x.query(
      "SELECT first_seq, balance_after_micros FROM ledger_transactions "
      "WHERE tenant_id = ? AND idempotency_key = ?",
      {tenant, op.key});
  if (!prior.empty()) {
    result.outcome = TG_APPLY_ALREADY_APPLIED;
    result.first_seq = std::stoll(prior[0][0]);
    result.balance_micros = std::stoll(prior[0][1]);
    return result;
  }

  // 3. Funds. A net credit is never refused, even below the limit: it only moves the balance
  //    towards it. Nothing is written and the key stays free for a later attempt.
  int64_t final_balance = 0;
  if (__builtin_add_overflow(balance, op.sum, &final_balance)) {
    invalid("ledger_apply", "entries", "the wallet balance would overflow int64");
  }
  if (op.sum < 0 && final_balance < -credit_limit) {
    result.outcome = TG_APPLY_INSUFFICIENT_FUNDS;
    result.balance_micros = balance;
    return result;
  }

  // 4. Append the entries in order, each with the balance right after it.
  int64_t running = balance;
  int64_t first_seq = 0;
  for (const LedgerEntry& e : op.entries) {
    if (__builtin_add_overflow(running, e.amount, &running)) {
      invalid("ledger_apply", "entries", "a running balance would overflow int64");
    }
    const Rows seq = x.query(
        "INSERT INTO ledger_entries (tenant_id, currency, kind, amount_micros, "
        "balance_after_micros, idempotency_key, reference, description, created_at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        {tenant, op.currency, e.kind, e.amount, running, op.key, e.reference, e.description,
         op.now_ms});
    if (seq.size() != 1) throw std::runtime_error("INSERT ... RETURNING seq returned no row");
    if (first_seq == 0) first_seq = std::stoll(seq[0][0]);
  }

  // 5. Move the balance and record the key, in the same transaction.
  x.query("UPDATE wallets SET balance_micros = ? WHERE tenant_id = ? AND currency = ?",
          {running, tenant, op.currency});
  const Rows recorded = x.query(
      "INSERT INTO ledger_transactions (tenant_id, idempotency_key, currency, first_seq, "
      "entry_count, balance_after_micros, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT DO NOTHING RETURNING idempotency_key",
      {tenant, op.key, op.currency, first_seq, static_cast<int32_t>(op.entries.size()), running,
       op.now_ms});
  if (recorded.empty()) {
    // The same key was applied concurrently to another of the tenant's wallets (this wallet's
    // lock does not cover that one). Rolled back and applied again, it answers ALREADY_APPLIED.
    throw DbFailure(
        DbError{DbErrorKind::kRetryable, "idempotency key '" + op.key + "' applied concurrently"});
  }
  result.outcome = TG_APPLY_APPLIED;
  result.balance_micros = running;
  result.first_seq = first_seq;
  return result;
}

// ---- wallets ----

void SqlStore::walletCreate(const sdk::CallContext& ctx, const tg_wallet_row& row) {
  static constexpr std::string_view op = "wallet_create";
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string currency =
      checkedCurrency(op, std::string_view(row.currency, strnlen(row.currency, 4)));
  if (row.balance_micros != 0) {
    invalid(op, "balance_micros", "must be 0: money only enters through ledger_apply");
  }
  if (row.credit_limit_micros < 0) invalid(op, "credit_limit_micros", "must be >= 0");
  bool inserted = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    requireTenant(s, dialect_, op, tenant);
    std::vector<std::string> ids;
    s << dialect_.sql(
        "INSERT INTO wallets (tenant_id, currency, balance_micros, credit_limit_micros, "
        "created_at_ms) VALUES (?, ?, 0, ?, ?) ON CONFLICT DO NOTHING RETURNING tenant_id"),
        text(tenant), text(currency), i64(row.credit_limit_micros), i64(row.created_at_ms),
        kw::into(ids), kw::now;
    inserted = !ids.empty();
  });
  if (!inserted) {
    throw sdk::Error(TG_ERR_CONFLICT,
                     cat({op, ": tenant '", tenant, "' already has a ", currency, " wallet"}));
  }
}

void SqlStore::walletGet(const sdk::CallContext& ctx, std::string_view currency,
                         tg_wallet_sink sink) {
  static constexpr std::string_view op = "wallet_get";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string code = checkedCurrency(op, currency);
  std::vector<WalletTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(
        "SELECT tenant_id, currency, balance_micros, credit_limit_micros, created_at_ms "
        "FROM wallets WHERE tenant_id = ? AND currency = ?"),
        text(tenant), text(code), kw::into(rows), kw::now;
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", code, " wallet"}));
  }
  for (const auto& r : rows) {
    tg_wallet_row out{
        sizeof(tg_wallet_row), sdk::str(r.get<0>()), {}, r.get<2>(), r.get<3>(), r.get<4>()};
    sdk::setCode(out.currency, r.get<1>());
    sink.fn(sink.ctx, &out);
  }
}

// ---- ledger ----

tg_ledger_apply_result SqlStore::ledgerApply(const sdk::CallContext& ctx,
                                             const tg_ledger_apply_request& req) {
  static constexpr std::string_view op = "ledger_apply";
  auto u = std::make_shared<OwnedUnit>();
  u->tenant = scopedTenant(op, ctx);
  u->ops.emplace_back(checkedLedgerOp(op, req));
  u->reset();
  applyUnit(ctx, u);  // with other callers' units, in one commit
  if (u->status != TG_OK) throw sdk::Error(u->status, u->error);
  if (u->ledger.front().outcome == TG_APPLY_APPLIED) host().metricAdd("ledger_applied");
  return u->ledger.front();
}

void SqlStore::ledgerList(const sdk::CallContext& ctx, std::string_view currency, int64_t after_seq,
                          uint32_t limit, tg_ledger_entry_sink sink) {
  static constexpr std::string_view op = "ledger_list";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string code = checkedCurrency(op, currency);
  std::vector<EntryTuple> rows;
  bool wallet_exists = true;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    if (limit > 0) {
      s << dialect_.sql(
          "SELECT seq, tenant_id, currency, kind, amount_micros, balance_after_micros, "
          "idempotency_key, reference, description, created_at_ms FROM ledger_entries "
          "WHERE tenant_id = ? AND currency = ? AND seq > ? ORDER BY seq LIMIT ?"),
          text(tenant), text(code), i64(after_seq), i64(limit), kw::into(rows), kw::now;
    }
    if (rows.empty()) {
      // Only an empty page needs telling "no wallet" apart from "no more entries".
      std::vector<Poco::Int32> found;
      s << dialect_.sql("SELECT 1 FROM wallets WHERE tenant_id = ? AND currency = ?"), text(tenant),
          text(code), kw::into(found), kw::now;
      wallet_exists = !found.empty();
    }
  });
  if (!wallet_exists) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", code, " wallet"}));
  }
  for (const auto& r : rows) {
    tg_ledger_entry_row out{sizeof(tg_ledger_entry_row),
                            r.get<0>(),
                            sdk::str(r.get<1>()),
                            {},
                            r.get<3>(),
                            r.get<4>(),
                            r.get<5>(),
                            sdk::str(r.get<6>()),
                            sdk::str(r.get<7>()),
                            sdk::str(r.get<8>()),
                            r.get<9>()};
    sdk::setCode(out.currency, r.get<2>());
    sink.fn(sink.ctx, &out);
  }
}

}  // namespace tollgate::storage_sql
