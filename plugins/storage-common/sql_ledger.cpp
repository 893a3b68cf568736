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

using WalletTuple =
    Poco::Tuple<std::string, std::string, Poco::Int64, Poco::Int64, Poco::Int64, Poco::Int64>;
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
      .now_ms = req.now_ms,
      .allow_overdraft = TG_HAS_FIELD(tg_ledger_apply_request, req.struct_size, allow_overdraft) &&
                         req.allow_overdraft != 0};
  if (req.entries == nullptr || req.entry_count == 0) invalid(op, "entries", "at least one entry");
  if (req.entry_count > 1000) invalid(op, "entries", "at most 1000 entries per apply");
  const size_t stride = req.entries[0].struct_size;
  if (stride < offsetof(tg_ledger_entry_in, country) || stride % alignof(tg_ledger_entry_in) != 0) {
    invalid(op, "entries[0].struct_size", "smaller than an ABI 1.0 entry or misaligned");
  }
  const auto* base = reinterpret_cast<const unsigned char*>(req.entries);
  out.entries.reserve(req.entry_count);
  for (size_t i = 0; i < req.entry_count; ++i) {
    const auto& e = *reinterpret_cast<const tg_ledger_entry_in*>(base + i * stride);
    const std::string field = "entries[" + std::to_string(i) + "]";
    if (e.struct_size != stride) invalid(op, field + ".struct_size", "differs from entries[0]");
    if (e.kind < TG_ENTRY_TOPUP || e.kind > TG_ENTRY_KIND_MAX) {
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
        .description =
            checkedText(op, field + ".description", sdk::view(e.description), kMaxTextBytes, false),
        .country = TG_HAS_FIELD(tg_ledger_entry_in, stride, country)
                       ? checkedCountry(op, field + ".country", e.country)
                       : std::string()});
  }
  return out;
}

bool fundsCover(int64_t balance_after, const LockedWallet& w) {
  // In 128 bits: a balance near the bottom of int64 less a large held total must not wrap.
  return static_cast<__int128>(balance_after) - w.held >= -static_cast<__int128>(w.credit_limit);
}

// ---- SqlLedgerTx ----

LockedWallet SqlLedgerTx::lockWallet(std::string_view op, const std::string& tenant,
                                     const std::string& currency) {
  const std::string sql =
      cat({"SELECT balance_micros, credit_limit_micros, held_micros FROM wallets "
           "WHERE tenant_id = ? AND currency = ?",
           d_.lock_rows});
  const Rows wallet = x_.query(sql, {tenant, currency});
  if (wallet.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", currency, " wallet"}));
  }
  return LockedWallet{.balance = std::stoll(wallet[0][0]),
                      .credit_limit = std::stoll(wallet[0][1]),
                      .held = std::stoll(wallet[0][2])};
}

std::optional<PriorApply> SqlLedgerTx::priorApply(const std::string& tenant,
                                                  const std::string& key) {
  const Rows prior = x_.query(
      "SELECT first_seq, balance_after_micros FROM ledger_transactions "
      "WHERE tenant_id = ? AND idempotency_key = ?",
      {tenant, key});
  if (prior.empty()) return std::nullopt;
  return PriorApply{.first_seq = std::stoll(prior[0][0]), .balance_after = std::stoll(prior[0][1])};
}

std::optional<StoredHold> SqlLedgerTx::findHold(const std::string& tenant,
                                                const std::string& hold_id) {
  const Rows r = x_.query(
      "SELECT status, amount_micros, captured_micros, entry_seq, expires_at_ms, currency "
      "FROM ledger_holds WHERE tenant_id = ? AND hold_id = ?",
      {tenant, hold_id});
  if (r.empty()) return std::nullopt;
  return StoredHold{.status = std::stoi(r[0][0]),
                    .amount = std::stoll(r[0][1]),
                    .captured = std::stoll(r[0][2]),
                    .entry_seq = std::stoll(r[0][3]),
                    .expires_at_ms = std::stoll(r[0][4]),
                    .currency = r[0][5]};
}

int64_t SqlLedgerTx::appendEntry(const std::string& tenant, const std::string& currency,
                                 const LedgerEntry& e, int64_t balance_after,
                                 const std::string& key, int64_t now_ms) {
  const Rows seq = x_.query(kInsertEntrySql, {tenant, currency, e.kind, e.amount, balance_after,
                                              key, e.reference, e.description, e.country, now_ms});
  if (seq.size() != 1) throw std::runtime_error("INSERT ... RETURNING seq returned no row");
  return std::stoll(seq[0][0]);
}

void SqlLedgerTx::setWallet(const std::string& tenant, const std::string& currency,
                            const LockedWallet& w) {
  x_.query(
      "UPDATE wallets SET balance_micros = ?, held_micros = ? WHERE tenant_id = ? AND "
      "currency = ?",
      {w.balance, w.held, tenant, currency});
}

void SqlLedgerTx::recordApply(const std::string& tenant, const std::string& key,
                              const std::string& currency, const PriorApply& result,
                              int32_t entry_count, int64_t now_ms) {
  const Rows recorded = x_.query(
      "INSERT INTO ledger_transactions (tenant_id, idempotency_key, currency, first_seq, "
      "entry_count, balance_after_micros, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT DO NOTHING RETURNING idempotency_key",
      {tenant, key, currency, result.first_seq, entry_count, result.balance_after, now_ms});
  if (recorded.empty()) {
    throw DbFailure(
        DbError{DbErrorKind::kRetryable, "idempotency key '" + key + "' applied concurrently"});
  }
}

void SqlLedgerTx::insertHold(const std::string& tenant, const HoldOp& op) {
  const Rows inserted = x_.query(
      "INSERT INTO ledger_holds (tenant_id, hold_id, currency, status, amount_micros, "
      "reference, expires_at_ms, created_at_ms, updated_at_ms) "
      "VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING hold_id",
      {tenant, op.hold_id, op.currency, op.amount, op.reference, op.expires_at_ms, op.now_ms,
       op.now_ms});
  if (inserted.empty()) {
    throw DbFailure(
        DbError{DbErrorKind::kRetryable, "hold '" + op.hold_id + "' reserved concurrently"});
  }
}

void SqlLedgerTx::updateHold(const std::string& tenant, const std::string& hold_id,
                             tg_hold_status status, int64_t captured, int64_t entry_seq,
                             int64_t now_ms) {
  x_.query(
      "UPDATE ledger_holds SET status = ?, captured_micros = ?, entry_seq = ?, updated_at_ms = ? "
      "WHERE tenant_id = ? AND hold_id = ?",
      {status, captured, entry_seq, now_ms, tenant, hold_id});
}

// ---- the decision ----

tg_ledger_apply_result applyLedger(LedgerTx& tx, const std::string& tenant, const LedgerOp& op) {
  tg_ledger_apply_result result{.struct_size = sizeof(tg_ledger_apply_result),
                                .outcome = 0,
                                .balance_micros = 0,
                                .first_seq = 0};
  // 1. Lock the wallet. Every apply on this wallet queues here, so the balance read below stays
  //    current until commit and the key check below sees every earlier apply.
  LockedWallet w = tx.lockWallet("ledger_apply", tenant, op.currency);

  // 2. A key applied before answers with that apply's result and appends nothing.
  if (const auto prior = tx.priorApply(tenant, op.key)) {
    result.outcome = TG_APPLY_ALREADY_APPLIED;
    result.first_seq = prior->first_seq;
    result.balance_micros = prior->balance_after;
    return result;
  }

  // 3. Every balance after each entry, checked before anything is written.
  std::vector<int64_t> after(op.entries.size());
  int64_t running = w.balance;
  for (size_t i = 0; i < op.entries.size(); ++i) {
    if (__builtin_add_overflow(running, op.entries[i].amount, &running)) {
      invalid("ledger_apply", "entries", "a running balance would overflow int64");
    }
    after[i] = running;
  }

  // 4. Funds: what is available is the balance less the active holds. A net credit is never
  //    refused, even below the limit: it only moves the balance towards it. Nothing is written
  //    and the key stays free for a later attempt.
  if (op.sum < 0 && !op.allow_overdraft && !fundsCover(running, w)) {
    result.outcome = TG_APPLY_INSUFFICIENT_FUNDS;
    result.balance_micros = w.balance;
    return result;
  }

  // 5. Append the entries in order, move the balance and record the key, in the same
  //    transaction.
  int64_t first_seq = 0;
  for (size_t i = 0; i < op.entries.size(); ++i) {
    const int64_t seq =
        tx.appendEntry(tenant, op.currency, op.entries[i], after[i], op.key, op.now_ms);
    if (first_seq == 0) first_seq = seq;
  }
  w.balance = running;
  tx.setWallet(tenant, op.currency, w);
  tx.recordApply(tenant, op.key, op.currency,
                 PriorApply{.first_seq = first_seq, .balance_after = running},
                 static_cast<int32_t>(op.entries.size()), op.now_ms);
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
        "SELECT tenant_id, currency, balance_micros, credit_limit_micros, created_at_ms, "
        "held_micros FROM wallets WHERE tenant_id = ? AND currency = ?"),
        text(tenant), text(code), kw::into(rows), kw::now;
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", code, " wallet"}));
  }
  for (const auto& r : rows) {
    tg_wallet_row out{.struct_size = sizeof(tg_wallet_row),
                      .tenant_id = sdk::str(r.get<0>()),
                      .currency = {},
                      .balance_micros = r.get<2>(),
                      .credit_limit_micros = r.get<3>(),
                      .created_at_ms = r.get<4>(),
                      .held_micros = r.get<5>()};
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

// ---- ledger queries (ABI 1.4) ----

SqlStore::EntryFilter SqlStore::entryFilter(std::string_view op, const sdk::CallContext& ctx,
                                            const tg_ledger_query& q) const {
  checkStructSize(op, "query", q.struct_size, offsetof(tg_ledger_query, by_country));
  EntryFilter f{
      .tenant = scopedTenant(op, ctx),
      .currency = checkedCurrency(op, std::string_view(q.currency, strnlen(q.currency, 4))),
      .where = " WHERE tenant_id = ? AND currency = ?",
      .params = {},
      .by_key = false};
  f.params = {f.tenant, f.currency};
  // ABI 1.13: one key's entries. Its transaction says where they start; entries of other
  // transactions committed in between may follow, so the key is matched too.
  if (TG_HAS_FIELD(tg_ledger_query, q.struct_size, idempotency_key) &&
      q.idempotency_key.size != 0) {
    const std::string key =
        checkedText(op, "idempotency_key", sdk::view(q.idempotency_key), kMaxIdBytes, true);
    f.where +=
        " AND idempotency_key = ? AND seq >= (SELECT first_seq FROM ledger_transactions WHERE "
        "tenant_id = ? AND idempotency_key = ?)";
    f.params.insert(f.params.end(), {key, f.tenant, key});
    f.by_key = true;
    return f;
  }
  if (q.kind != 0) {
    if (q.kind < TG_ENTRY_TOPUP || q.kind > TG_ENTRY_KIND_MAX) {
      invalid(op, "kind", "unknown entry kind " + std::to_string(q.kind));
    }
    f.where += " AND kind = ?";
    f.params.emplace_back(q.kind);
  }
  if (q.from_ms < 0) invalid(op, "from_ms", "must be >= 0");
  if (q.to_ms < 0) invalid(op, "to_ms", "must be >= 0");
  if (q.from_ms != 0) {
    f.where += " AND created_at_ms >= ?";
    f.params.emplace_back(q.from_ms);
  }
  if (q.to_ms != 0) {
    f.where += " AND created_at_ms < ?";
    f.params.emplace_back(q.to_ms);
  }
  return f;
}

void SqlStore::requireWallet(const sdk::CallContext& ctx, std::string_view op,
                             const std::string& tenant, const std::string& currency) {
  bool found = false;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    found =
        !x.query("SELECT 1 FROM wallets WHERE tenant_id = ? AND currency = ?", {tenant, currency})
             .empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no ", currency, " wallet"}));
  }
}

void SqlStore::ledgerQuery(const sdk::CallContext& ctx, const tg_ledger_query& q,
                           tg_ledger_entry_sink sink) {
  static constexpr std::string_view op = "ledger_query";
  EntryFilter f = entryFilter(op, ctx, q);
  const std::string sql =
      cat({"SELECT seq, tenant_id, currency, kind, amount_micros, "
           "balance_after_micros, idempotency_key, reference, description, "
           "created_at_ms FROM ledger_entries",
           f.where, " AND seq > ? ORDER BY seq LIMIT ?"});
  f.params.emplace_back(f.by_key ? int64_t{0} : q.after_seq);
  f.params.emplace_back(static_cast<int64_t>(std::min(q.limit, kMaxPageRows)));
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(sql, f.params);
  });
  if (rows.empty()) requireWallet(ctx, op, f.tenant, f.currency);
  for (const auto& r : rows) {
    tg_ledger_entry_row out{.struct_size = sizeof(tg_ledger_entry_row),
                            .seq = std::stoll(r[0]),
                            .tenant_id = sdk::str(r[1]),
                            .currency = {},
                            .kind = std::stoi(r[3]),
                            .amount_micros = std::stoll(r[4]),
                            .balance_after_micros = std::stoll(r[5]),
                            .idempotency_key = sdk::str(r[6]),
                            .reference = sdk::str(r[7]),
                            .description = sdk::str(r[8]),
                            .created_at_ms = std::stoll(r[9])};
    sdk::setCode(out.currency, r[2]);
    sink.fn(sink.ctx, &out);
  }
}

void SqlStore::ledgerSummary(const sdk::CallContext& ctx, const tg_ledger_query& q,
                             tg_ledger_summary_sink sink) {
  static constexpr std::string_view op = "ledger_summary";
  EntryFilter f = entryFilter(op, ctx, q);
  if (q.bucket_ms < 1) invalid(op, "bucket_ms", "must be >= 1");
  const bool by_country =
      TG_HAS_FIELD(tg_ledger_query, q.struct_size, by_country) && q.by_country != 0;
  // Buckets counted from the epoch: created_at_ms rounded down to a multiple of bucket_ms.
  const std::string sql = by_country
                              ? cat({"SELECT created_at_ms - (created_at_ms % ?) AS bucket, kind, "
                                     "COUNT(*), SUM(amount_micros), country FROM ledger_entries",
                                     f.where, " GROUP BY 1, 2, 5 ORDER BY 1, 2, 5"})
                              : cat({"SELECT created_at_ms - (created_at_ms % ?) AS bucket, kind, "
                                     "COUNT(*), SUM(amount_micros) FROM ledger_entries",
                                     f.where, " GROUP BY 1, 2 ORDER BY 1, 2"});
  f.params.insert(f.params.begin(), q.bucket_ms);
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(sql, f.params);
  });
  if (rows.empty()) requireWallet(ctx, op, f.tenant, f.currency);
  for (const auto& r : rows) {
    tg_ledger_summary_row out{.struct_size = sizeof(tg_ledger_summary_row),
                              .bucket_start_ms = std::stoll(r[0]),
                              .kind = std::stoi(r[1]),
                              .entry_count = std::stoll(r[2]),
                              .total_micros = std::stoll(r[3]),
                              .country = {}};
    if (by_country) sdk::setCode(out.country, r[4]);
    sink.fn(sink.ctx, &out);
  }
}

}  // namespace tollgate::storage_sql
