// The outbox (ABI 1.8, abi/storage.h): messages to send. A message enters with the send API's
// unit (TG_UNIT_OUTBOX_ADD, an INSERT the pipelined batch sends with the idempotency claim);
// claims take due messages in one UPDATE (PostgreSQL: FOR UPDATE SKIP LOCKED, so daemons
// claiming at once take different messages and never wait for each other); each transition is
// one guarded UPDATE (the states it may start from, the lease's owner), many of them submitted
// to group commit together.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "sql_bind.hpp"
#include "sql_exec.hpp"
#include "sql_store.hpp"
#include "sql_units.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

constexpr RecordTable kOutbox{
    .name = "outbox",
    .noun = "outbox message",
    .cols =
        "id, tenant_id, from_number, to_number, body, media_urls, status_callback, segments, "
        "currency, hold_id, state, attempts, next_attempt_at_ms, lease_owner, lease_until_ms, "
        "twilio_sid, twilio_status, status_rank, error_code, error, created_at_ms, "
        "updated_at_ms, pace_us, estimate_micros, price_state, price_micros, price_check_at_ms",
    .key = "id"};

constexpr uint32_t kMaxBatch = 4096;

bool knownState(tg_outbox_state s) { return s >= TG_OUTBOX_QUEUED && s <= TG_OUTBOX_STATE_MAX; }

// Delivers rows read with kOutbox.cols to the sink.
void deliver(const Rows& rows, tg_outbox_sink sink) {
  for (const auto& r : rows) {
    const auto num = [&](size_t i) { return r[i].empty() ? 0 : std::stoll(r[i]); };
    tg_outbox_row out{.struct_size = sizeof(tg_outbox_row),
                      .id = sdk::str(r[0]),
                      .tenant_id = sdk::str(r[1]),
                      .from_number = sdk::str(r[2]),
                      .to_number = sdk::str(r[3]),
                      .body = sdk::str(r[4]),
                      .media_urls = sdk::str(r[5]),
                      .status_callback = sdk::str(r[6]),
                      .segments = static_cast<int32_t>(num(7)),
                      .currency = {},
                      .hold_id = sdk::str(r[9]),
                      .state = static_cast<tg_outbox_state>(num(10)),
                      .attempts = static_cast<int32_t>(num(11)),
                      .next_attempt_at_ms = num(12),
                      .lease_owner = sdk::str(r[13]),
                      .lease_until_ms = num(14),
                      .twilio_sid = sdk::str(r[15]),
                      .twilio_status = sdk::str(r[16]),
                      .status_rank = static_cast<int32_t>(num(17)),
                      .error_code = static_cast<int32_t>(num(18)),
                      .error = sdk::str(r[19]),
                      .created_at_ms = num(20),
                      .updated_at_ms = num(21),
                      .pace_us = num(22),
                      .estimate_micros = num(23),
                      .price_state = static_cast<tg_outbox_price_state>(num(24)),
                      .price_micros = num(25),
                      .price_check_at_ms = num(26)};
    std::strncpy(out.currency, r[8].c_str(), 3);
    sink.fn(sink.ctx, &out);
  }
}

void checkLimit(std::string_view op, uint32_t limit) {
  if (limit == 0 || limit > kMaxBatch) {
    invalid(op, "limit", "want 1 to " + std::to_string(kMaxBatch));
  }
}

}  // namespace

RecordInsert checkedOutboxAdd(std::string_view op, const std::string& tenant,
                              const tg_outbox_row& row) {
  if (tenant.empty()) invalid(op, "tenant_id", "a unit that adds to the outbox needs its tenant");
  if (row.state != TG_OUTBOX_QUEUED) invalid(op, "state", "a message enters the outbox QUEUED");
  if (row.segments < 0) invalid(op, "segments", "must be >= 0");
  if (row.pace_us < 0) invalid(op, "pace_us", "must be >= 0");
  if (row.estimate_micros < 0) invalid(op, "estimate_micros", "must be >= 0");
  const std::string currency(row.currency, strnlen(row.currency, 4));
  if (!currency.empty()) checkedCurrency(op, currency);
  RecordInsert r;
  r.table = &kOutbox;
  r.head = RecordHead{
      .tenant = tenant,
      .sid = checkedText(op, "id", sdk::view(row.id), kMaxIdBytes, true),
      .direction = {},
      .from = checkedText(op, "from_number", sdk::view(row.from_number), kMaxIdBytes, true),
      .to = checkedText(op, "to_number", sdk::view(row.to_number), kMaxIdBytes, true)};
  r.sql =
      "INSERT INTO outbox (id, tenant_id, from_number, to_number, body, media_urls, "
      "status_callback, segments, currency, hold_id, state, attempts, next_attempt_at_ms, "
      "created_at_ms, updated_at_ms, pace_us, estimate_micros) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, 1, 0, ?, ?, ?, ?, ?) "
      "ON CONFLICT DO NOTHING RETURNING id";
  r.params = {
      r.head.sid,
      tenant,
      r.head.from,
      r.head.to,
      checkedText(op, "body", sdk::view(row.body), kMaxTextBytes, false),
      checkedText(op, "media_urls", sdk::view(row.media_urls), kMaxTextBytes, false),
      checkedText(op, "status_callback", sdk::view(row.status_callback), kMaxTextBytes, false),
      int32_t{row.segments},
      currency,
      checkedText(op, "hold_id", sdk::view(row.hold_id), kMaxIdBytes, false),
      int64_t{row.next_attempt_at_ms},
      int64_t{row.created_at_ms},
      int64_t{row.created_at_ms},
      int64_t{row.pace_us},
      int64_t{row.estimate_micros}};
  return r;
}

RecordUpdate checkedOutboxTransition(std::string_view op, const std::string& tenant,
                                     const tg_outbox_transition& t, bool check_owner) {
  if (!knownState(t.to_state)) invalid(op, "to_state", "unknown state");
  const uint32_t all = ((1u << (TG_OUTBOX_STATE_MAX + 1)) - 1) & ~1u;
  if (t.from_states == 0 || (t.from_states & ~all) != 0) {
    invalid(op, "from_states", "want a non-empty set of known states (TG_OUTBOX_IN)");
  }
  RecordUpdate u;
  u.table = &kOutbox;
  u.tenant = tenant;
  u.sid = checkedText(op, "id", sdk::view(t.id), kMaxIdBytes, true);
  const std::string owner =
      check_owner ? checkedText(op, "lease_owner", sdk::view(t.lease_owner), kMaxIdBytes, false)
                  : std::string();
  const bool leaves_lease = t.to_state != TG_OUTBOX_SENDING;
  u.sql = "UPDATE outbox SET state = ?, updated_at_ms = ?";
  u.params = {int32_t{t.to_state}, int64_t{t.now_ms}};
  if (leaves_lease) u.sql += ", lease_owner = '', lease_until_ms = 0";
  if (t.to_state == TG_OUTBOX_QUEUED) {  // due again, and scheduled afresh by a paced claim
    u.sql += ", slot_us = 0, next_attempt_at_ms = ?";
    u.params.emplace_back(int64_t{t.next_attempt_at_ms});
  }
  if (t.twilio_sid.size != 0) {
    u.sql += ", twilio_sid = ?";
    u.params.emplace_back(
        checkedText(op, "twilio_sid", sdk::view(t.twilio_sid), kMaxIdBytes, false));
  }
  if (t.twilio_status.size != 0) {
    // Statuses only move forward: one that is not newer leaves status and rank alone.
    u.sql +=
        ", twilio_status = CASE WHEN status_rank < ? THEN ? ELSE twilio_status END, "
        "status_rank = CASE WHEN status_rank < ? THEN ? ELSE status_rank END";
    const std::string status =
        checkedText(op, "twilio_status", sdk::view(t.twilio_status), kMaxIdBytes, false);
    u.params.insert(u.params.end(), {int32_t{t.status_rank}, status, int32_t{t.status_rank},
                                     int32_t{t.status_rank}});
  }
  if (t.price_state != TG_OUTBOX_PRICE_NONE) {
    if (t.price_state < TG_OUTBOX_PRICE_PENDING || t.price_state > TG_OUTBOX_UNPRICED) {
      invalid(op, "price_state", "unknown price state");
    }
    u.sql += ", price_state = ?, price_micros = ?, price_check_at_ms = ?";
    u.params.insert(u.params.end(), {int32_t{t.price_state}, int64_t{t.price_micros},
                                     int64_t{t.price_check_at_ms}});
  }
  if (t.error_code != 0) {
    u.sql += ", error_code = ?";
    u.params.emplace_back(int32_t{t.error_code});
  }
  if (t.error.size != 0) {
    u.sql += ", error = ?";
    u.params.emplace_back(checkedText(op, "error", sdk::view(t.error), kMaxTextBytes, false));
  }
  // The guard: one of the states it may start from; from SENDING, only its lease's owner. A
  // status Twilio reported: whoever holds it, and only a status newer than the stored one.
  u.sql += " WHERE id = ? AND tenant_id = ? AND ((? / (1 << state)) % 2) = 1";
  u.params.insert(u.params.end(), {u.sid, u.tenant, int64_t{t.from_states}});
  if (check_owner) {
    u.sql += " AND (state <> 2 OR lease_owner = ?)";
    u.params.emplace_back(owner);
  } else if (t.twilio_status.size != 0) {
    u.sql += " AND status_rank < ?";  // a status Twilio reported: only a newer one
    u.params.emplace_back(int32_t{t.status_rank});
  }
  u.sql += " RETURNING id";
  return u;
}

void SqlStore::outboxClaim(const sdk::CallContext& ctx, int64_t now_ms, int64_t lease_ms,
                           std::string_view owner_view, uint32_t limit, tg_outbox_sink sink) {
  static constexpr std::string_view op = "outbox_claim";
  checkLimit(op, limit);
  if (lease_ms <= 0) invalid(op, "lease_ms", "must be > 0");
  const std::string owner = checkedText(op, "owner", owner_view, kMaxIdBytes, true);
  // PostgreSQL: rows another claim has locked are skipped, not waited for. SQLite has one
  // writer: nothing to skip.
  const std::string skip = dialect_.lock_rows.empty() ? "" : " FOR UPDATE SKIP LOCKED";
  // The due rows are chosen once, in a materialised CTE: a subquery in the UPDATE's WHERE may
  // be run again by PostgreSQL (and with SKIP LOCKED then choose more rows than its LIMIT).
  const std::string sql =
      cat({"WITH due AS MATERIALIZED (SELECT id FROM outbox", dialect_.outbox_due_index,
           " WHERE state = 1 AND "
           "next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms, id LIMIT ",
           std::to_string(limit), skip,
           ") UPDATE outbox SET state = 2, lease_owner = ?, lease_until_ms = ?, "
           "attempts = attempts + 1, updated_at_ms = ? WHERE state = 1 AND id IN (SELECT id FROM "
           "due) RETURNING ",
           kOutbox.cols});
  Rows rows;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(sql, {now_ms, owner, now_ms + lease_ms, now_ms});
  });
  deliver(rows, sink);
}

// ABI 1.10 (abi/storage.h, outbox_claim_paced; docs/adr/0015): due messages are read in order;
// paced ones without a slot take the next of their sender's schedule (the sender's row locked,
// or skipped while another claim holds it); those whose slot is within the window are claimed,
// the others wait for their slot. More due messages are read while fewer than `limit` were
// claimed, up to kMaxScheduledPerClaim in all, so one sender's long queue is scheduled a batch
// at a time and cannot hide the messages of other senders behind it for long.
void SqlStore::outboxClaimPaced(const sdk::CallContext& ctx, const tg_outbox_claim& c,
                                tg_outbox_sink sink) {
  static constexpr std::string_view op = "outbox_claim_paced";
  constexpr size_t kMaxScheduledPerClaim = 4 * kMaxBatch;
  checkStructSize(op, "claim", c.struct_size, sizeof(tg_outbox_claim));
  checkLimit(op, c.limit);
  if (c.lease_ms <= 0) invalid(op, "lease_ms", "must be > 0");
  if (c.pace_window_ms < 0) invalid(op, "pace_window_ms", "must be >= 0");
  const std::string owner = checkedText(op, "owner", sdk::view(c.owner), kMaxIdBytes, true);
  const std::string skip = dialect_.lock_rows.empty() ? "" : " FOR UPDATE SKIP LOCKED";
  const int64_t now_us = c.now_ms * 1000;
  const int64_t window_us = c.pace_window_ms * 1000;
  const auto marks = [](size_t n) {
    std::string m;
    for (size_t i = 0; i < n; ++i) m += i == 0 ? "?" : ", ?";
    return m;
  };
  Rows rows;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows.clear();
    std::map<std::string, int64_t> ends;  // sender -> its schedule's end, as this claim moves it
    std::set<std::string> skipped;        // senders another claim is scheduling
    size_t read = 0;
    while (rows.size() < c.limit && read < kMaxScheduledPerClaim) {
      const Rows due = x.query(
          cat({"SELECT id, from_number, pace_us, slot_us FROM outbox", dialect_.outbox_due_index,
               " WHERE state = 1 AND "
               "next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms, id LIMIT ",
               std::to_string(c.limit - rows.size()), skip}),
          {c.now_ms});
      if (due.empty()) break;
      read += due.size();
      // Senders this batch schedules that this claim holds no row of yet: created if new, then
      // locked, in one order (two claims inserting the same new senders never deadlock).
      std::set<std::string> fresh;
      for (const auto& r : due) {
        if (std::stoll(r[2]) > 0 && std::stoll(r[3]) == 0 && ends.count(r[1]) == 0 &&
            skipped.count(r[1]) == 0) {
          fresh.insert(r[1]);
        }
      }
      if (!fresh.empty()) {
        const std::vector<Param> names(fresh.begin(), fresh.end());
        std::string values;
        for (size_t i = 0; i < names.size(); ++i) values += i == 0 ? "(?, 0)" : ", (?, 0)";
        x.query(cat({"INSERT INTO outbox_senders (from_number, schedule_end_us) VALUES ", values,
                     " ON CONFLICT DO NOTHING"}),
                names);
        for (const auto& r :
             x.query(cat({"SELECT from_number, schedule_end_us FROM outbox_senders WHERE "
                          "from_number IN (",
                          marks(names.size()), ")", skip}),
                     names)) {
          ends.emplace(r[0], std::stoll(r[1]));
        }
        for (const std::string& f : fresh) {
          if (ends.count(f) == 0) skipped.insert(f);
        }
      }
      std::vector<Param> claim;  // ids
      bool deferred = false, left = false;
      for (const auto& r : due) {
        const int64_t pace = std::stoll(r[2]);
        int64_t slot = std::stoll(r[3]);
        if (pace > 0 && slot == 0) {
          const auto end = ends.find(r[1]);
          if (end == ends.end()) {  // another claim is scheduling its sender: it stays due
            left = true;
            continue;
          }
          slot = std::max(end->second, now_us);
          end->second = slot + pace;
        }
        if (slot <= now_us + window_us) {
          claim.emplace_back(r[0]);
          continue;
        }
        // Not yet: it keeps its slot and is due when the window reaches it.
        deferred = true;
        x.query("UPDATE outbox SET slot_us = ?, next_attempt_at_ms = ? WHERE id = ?",
                {slot, (slot - window_us + 999) / 1000, r[0]});
      }
      if (!claim.empty()) {
        std::vector<Param> params{owner, c.now_ms + c.lease_ms, c.now_ms};
        params.insert(params.end(), claim.begin(), claim.end());
        Rows got = x.query(cat({"UPDATE outbox SET state = 2, lease_owner = ?, lease_until_ms = "
                                "?, attempts = attempts + 1, slot_us = 0, updated_at_ms = ? WHERE "
                                "state = 1 AND id IN (",
                                marks(claim.size()), ") RETURNING ", kOutbox.cols}),
                           params);
        rows.insert(rows.end(), std::make_move_iterator(got.begin()),
                    std::make_move_iterator(got.end()));
      }
      // Read again only past messages deferred: all else read was claimed, or stays due.
      if (!deferred || left) break;
    }
    for (const auto& [sender, end] : ends) {
      x.query("UPDATE outbox_senders SET schedule_end_us = ? WHERE from_number = ?", {end, sender});
    }
  });
  deliver(rows, sink);
}

void SqlStore::outboxTransition(const sdk::CallContext& ctx,
                                const tg_outbox_transition* transitions, uint32_t count,
                                int32_t* out_applied) {
  static constexpr std::string_view op = "outbox_transition";
  if (count == 0) return;
  if (transitions == nullptr || out_applied == nullptr) invalid(op, "transitions", "missing");
  if (count > kMaxBatch) invalid(op, "count", "at most " + std::to_string(kMaxBatch));
  const uint32_t stride = transitions[0].struct_size;
  checkStructSize(op, "transitions[0]", stride, sizeof(tg_outbox_transition));
  if (stride % alignof(tg_outbox_transition) != 0) {
    invalid(op, "transitions[0].struct_size", "misaligned");
  }
  // Checked all first: a bad transition fails the call, before anything is applied.
  std::vector<std::shared_ptr<OwnedUnit>> units;
  units.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const auto& t = *reinterpret_cast<const tg_outbox_transition*>(
        reinterpret_cast<const char*>(transitions) + size_t{i} * stride);
    const std::string name = cat({op, " transitions[", std::to_string(i), "]"});
    if (t.struct_size != stride) invalid(name, "struct_size", "differs from transitions[0]");
    RecordUpdate u = checkedOutboxTransition(
        name, checkedText(name, "tenant_id", sdk::view(t.tenant_id), kMaxIdBytes, true), t, true);
    auto unit = std::make_shared<OwnedUnit>();
    unit->tenant = u.tenant;
    unit->ops.emplace_back(std::move(u));
    unit->reset();
    unit->deadline_unix_ms = ctx.deadline_unix_ms;
    units.push_back(std::move(unit));
  }
  if (group_) {
    submitAll(units);
  } else {
    for (const auto& u : units) applyUnit(ctx, u);
  }
  for (uint32_t i = 0; i < count; ++i) {
    const OwnedUnit& u = *units[i];
    if (u.status != TG_OK) throw sdk::Error(u.status, u.error);
    out_applied[i] = u.results.at(0) == TG_UNIT_CHANGED ? 1 : 0;
  }
}

void SqlStore::outboxPriceDue(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit,
                              tg_outbox_sink sink) {
  static constexpr std::string_view op = "outbox_price_due";
  checkLimit(op, limit);
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(cat({"SELECT ", kOutbox.cols,
                        " FROM outbox WHERE price_state = 1 AND price_check_at_ms <= ? ORDER BY "
                        "price_check_at_ms, id LIMIT ",
                        std::to_string(limit)}),
                   {now_ms});
  });
  deliver(rows, sink);
}

uint32_t SqlStore::outboxReclaim(const sdk::CallContext& ctx, int64_t now_ms, uint32_t limit) {
  static constexpr std::string_view op = "outbox_reclaim";
  checkLimit(op, limit);
  const std::string skip = dialect_.lock_rows.empty() ? "" : " FOR UPDATE SKIP LOCKED";
  const std::string sql =
      cat({"WITH ended AS MATERIALIZED (SELECT id FROM outbox WHERE state = 2 AND "
           "lease_until_ms < ? ORDER BY lease_until_ms, id LIMIT ",
           std::to_string(limit), skip,
           ") UPDATE outbox SET state = 4, lease_owner = '', lease_until_ms = 0, updated_at_ms = ? "
           "WHERE state = 2 AND id IN (SELECT id FROM ended) RETURNING id"});
  size_t reclaimed = 0;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    PocoExec x(s, dialect_);
    reclaimed = x.query(sql, {now_ms, now_ms}).size();
  });
  return static_cast<uint32_t>(reclaimed);
}

void SqlStore::outboxGet(const sdk::CallContext& ctx, std::string_view id_view,
                         tg_outbox_sink sink) {
  static constexpr std::string_view op = "outbox_get";
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, true);
  const std::string id = checkedText(op, "id", id_view, kMaxIdBytes, true);
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = x.query(cat({"SELECT ", kOutbox.cols, " FROM outbox WHERE id = ? AND tenant_id = ?"}),
                   {id, tenant});
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": tenant '", tenant, "' has no outbox message '", id, "'"}));
  }
  deliver(rows, sink);
}

void SqlStore::outboxList(const sdk::CallContext& ctx, tg_outbox_state state, uint32_t limit,
                          tg_outbox_sink sink) {
  static constexpr std::string_view op = "outbox_list";
  checkLimit(op, limit);
  if (!knownState(state)) invalid(op, "state", "unknown state");
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  const std::string sql = cat({"SELECT ", kOutbox.cols, " FROM outbox WHERE state = ?",
                               tenant.empty() ? "" : " AND tenant_id = ?",
                               " ORDER BY updated_at_ms, id LIMIT ", std::to_string(limit)});
  Rows rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    PocoExec x(s, dialect_);
    rows = tenant.empty() ? x.query(sql, {int32_t{state}}) : x.query(sql, {int32_t{state}, tenant});
  });
  deliver(rows, sink);
}

}  // namespace tollgate::storage_sql
