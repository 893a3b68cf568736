// Queued usage (ABI 1.7, abi/storage.h): usage a webhook's unit queues (TG_UNIT_USAGE_ADD, an
// INSERT the pipelined batch sends with the unit's other records), read oldest first by the
// host's charger, and settled in batches: each charge is a unit of its own (the ledger apply
// under the usage's key, then the usage off the queue), all of them submitted to group commit
// at once, so that a batch of charges costs one transaction (on PostgreSQL two rounds of
// statements, sql_ledger_batch.cpp).
#include <tollgate/abi/pricing.h>

#include <cstring>
#include <memory>
#include <vector>

#include "sql_bind.hpp"
#include "sql_exec.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

constexpr RecordTable kUsageQueue{
    .name = "usage_queue",
    .noun = "queued usage",
    .cols =
        "tenant_id, key, currency, product, sid, number, counterpart, quantity, "
        "created_at_ms"};

// At most this many charges per usage_settle call, and rows per usage_list call.
constexpr uint32_t kMaxBatch = 4096;

std::string currencyOf(std::string_view op, const char currency[4]) {
  return checkedCurrency(op, std::string_view(currency, strnlen(currency, 4)));
}

}  // namespace

RecordInsert checkedUsageAdd(std::string_view op, const std::string& tenant,
                             const tg_usage_row& row) {
  if (tenant.empty()) invalid(op, "tenant_id", "a unit that queues usage needs its tenant");
  const std::string key = checkedText(op, "key", sdk::view(row.key), kMaxIdBytes, true);
  const std::string currency = currencyOf(op, row.currency);
  if (row.product < TG_PRODUCT_SMS_SEGMENT_OUT || row.product > TG_PRODUCT_NUMBER_MONTH) {
    invalid(op, "product", "unknown product " + std::to_string(row.product));
  }
  if (row.quantity < 1) invalid(op, "quantity", "must be >= 1");
  RecordInsert r;
  r.table = &kUsageQueue;
  r.head = RecordHead{
      .tenant = tenant,
      .sid = checkedText(op, "sid", sdk::view(row.sid), kMaxIdBytes, true),
      .direction = {},
      .from = checkedText(op, "counterpart", sdk::view(row.counterpart), kMaxIdBytes, false),
      .to = checkedText(op, "number", sdk::view(row.number), kMaxIdBytes, false)};
  r.sql =
      "INSERT INTO usage_queue (tenant_id, key, currency, product, sid, number, counterpart, "
      "quantity, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING "
      "RETURNING key";
  r.params = {tenant,
              key,
              currency,
              int32_t{row.product},
              r.head.sid,
              r.head.to,
              r.head.from,
              int32_t{row.quantity},
              int64_t{row.created_at_ms}};
  return r;
}

void SqlStore::usageList(const sdk::CallContext& ctx, uint32_t limit, tg_usage_sink sink) {
  static constexpr std::string_view op = "usage_list";
  if (limit == 0 || limit > kMaxBatch) {
    invalid(op, "limit", "want 1 to " + std::to_string(kMaxBatch));
  }
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    const std::string sql =
        cat({"SELECT ", kUsageQueue.cols, " FROM usage_queue",
             tenant.empty() ? "" : " WHERE tenant_id = ?",
             " ORDER BY created_at_ms, tenant_id, key LIMIT ", std::to_string(limit)});
    rows = tenant.empty() ? x.query(sql, {}) : x.query(sql, {tenant});
  });
  for (const auto& r : rows) {
    tg_usage_row out{.struct_size = sizeof(tg_usage_row),
                     .tenant_id = sdk::str(r[0]),
                     .key = sdk::str(r[1]),
                     .currency = {},
                     .product = static_cast<int32_t>(std::stol(r[3])),
                     .sid = sdk::str(r[4]),
                     .number = sdk::str(r[5]),
                     .counterpart = sdk::str(r[6]),
                     .quantity = static_cast<int32_t>(std::stol(r[7])),
                     .created_at_ms = std::stoll(r[8])};
    std::strncpy(out.currency, r[2].c_str(), 3);
    sink.fn(sink.ctx, &out);
  }
}

void SqlStore::usageSettle(const sdk::CallContext& ctx, const tg_usage_charge* charges,
                           uint32_t count, tg_status* out_statuses) {
  static constexpr std::string_view op = "usage_settle";
  if (count == 0) return;
  if (charges == nullptr || out_statuses == nullptr) invalid(op, "charges", "missing");
  if (count > kMaxBatch) invalid(op, "count", "at most " + std::to_string(kMaxBatch));
  const uint32_t stride = charges[0].struct_size;
  checkStructSize(op, "charges[0]", stride, sizeof(tg_usage_charge));
  if (stride % alignof(tg_usage_charge) != 0) invalid(op, "charges[0].struct_size", "misaligned");

  // One unit per charge; a charge that fails its checks is answered now and submits nothing.
  std::vector<std::shared_ptr<OwnedUnit>> units(count);
  std::vector<std::shared_ptr<OwnedUnit>> submitted;
  submitted.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const auto& c = *reinterpret_cast<const tg_usage_charge*>(
        reinterpret_cast<const char*>(charges) + size_t{i} * stride);
    const std::string name = cat({op, " charges[", std::to_string(i), "]"});
    try {
      if (c.struct_size != stride) invalid(name, "struct_size", "differs from charges[0]");
      if (c.amount_micros < 0) invalid(name, "amount_micros", "must be >= 0");
      auto u = std::make_shared<OwnedUnit>();
      u->tenant = checkedText(name, "tenant_id", sdk::view(c.tenant_id), kMaxIdBytes, true);
      const std::string key = checkedText(name, "key", sdk::view(c.key), kMaxIdBytes, true);
      if (c.amount_micros > 0) {
        tg_ledger_entry_in entry{.struct_size = sizeof(tg_ledger_entry_in),
                                 .kind = c.kind,
                                 .amount_micros = -c.amount_micros,
                                 .reference = c.reference,
                                 .description = c.description,
                                 .country = {}};
        tg_ledger_apply_request req{.struct_size = sizeof(tg_ledger_apply_request),
                                    .currency = {},
                                    .idempotency_key = c.key,
                                    .entries = &entry,
                                    .entry_count = 1,
                                    .now_ms = c.now_ms,
                                    .allow_overdraft = 1};
        std::memcpy(req.currency, c.currency, sizeof req.currency);
        std::memcpy(entry.country, c.country, sizeof entry.country);
        u->ops.emplace_back(checkedLedgerOp(name, req));
      }
      u->ops.emplace_back(UsageDoneOp{.key = key});
      u->reset();
      u->deadline_unix_ms = ctx.deadline_unix_ms;
      units[i] = u;
      submitted.push_back(std::move(u));
    } catch (const sdk::Error& e) {
      out_statuses[i] = e.status();
    }
  }
  if (group_) {
    submitAll(submitted);
  } else {
    for (const auto& u : submitted) applyUnit(ctx, u);
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (units[i]) out_statuses[i] = units[i]->status;
  }
}

}  // namespace tollgate::storage_sql
