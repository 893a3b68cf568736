#include "messaging/outbox_worker.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <future>
#include <sstream>
#include <tuple>

#include <tollgate/sdk/money.hpp>

#include "ledger/twilio_price.hpp"
#include "messaging/send_holds.hpp"
#include "messaging/status_rank.hpp"
#include "ops/untrusted.hpp"
#include "storage/unit.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::messaging {
namespace {

constexpr uint32_t kReclaimPerRound = 256;
constexpr uint32_t kPricePerRound = 256;  // prices looked up per lead round, at most
constexpr uint32_t kReconcilePerRound = 64;
constexpr size_t kHoldsPerUnit = 32;          // holds settled by one unit (ABI 1.12)
constexpr int kLookupPage = 50;               // the newest messages of one sender to one recipient
constexpr int64_t kClockSkewMs = 5'000;       // between this host's clock and Twilio's
constexpr int64_t kReconcileEveryMs = 2'000;  // rounds that look UNKNOWN messages up

// Twilio's RFC 2822 date ("Mon, 07 Dec 2026 14:00:00 +0000") in ms, or nullopt.
std::optional<int64_t> twilioDateMs(const std::string& text) {
  Poco::DateTime when;
  int tzd = 0;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::RFC1123_FORMAT, text, when, tzd)) {
    return std::nullopt;
  }
  when.makeUTC(tzd);
  return when.timestamp().epochMicroseconds() / 1000;
}

// The description of a send's charge.
std::string holdDescription(const storage::OutboxMessage& m) {
  return fmt::format("SMS to {}, {} segment(s)", m.to_number, m.segments);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

OutboxWorker::OutboxWorker(storage::Store& store, twilio::RestClient& rest, AccountOf account_of,
                           CallbackOf callback_of, Options options)
    : store_(store),
      rest_(rest),
      account_of_(std::move(account_of)),
      callback_of_(std::move(callback_of)),
      options_(std::move(options)) {}

OutboxWorker::~OutboxWorker() { stop(); }

void OutboxWorker::start() {
  if (!threads_.empty()) return;
  for (size_t k = 0; k < std::max<size_t>(options_.rounds, 1); ++k) {
    threads_.emplace_back([this, k] { run(k == 0); });
  }
}

void OutboxWorker::wake() {
  {
    std::lock_guard lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void OutboxWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::chrono::milliseconds OutboxWorker::backoff(int attempts) const {
  auto d = options_.first_backoff;
  for (int i = 1; i < attempts && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

// One loop of rounds; `lead` also reclaims and reconciles (one thread of a daemon does).
void OutboxWorker::run(bool lead) {
  std::unique_lock lock(mu_);
  uint64_t seen = wakes_;
  bool again = false;
  while (!stopping_) {
    if (!again)
      cv_.wait_for(lock, std::min(options_.poll, options_.pace_window),
                   [&] { return stopping_ || wakes_ != seen; });
    if (stopping_) break;
    seen = wakes_;
    lock.unlock();
    size_t claimed = 0;
    try {
      claimed = round(lead);
    } catch (const std::exception& e) {
      spdlog::warn("outbox: round failed: {}", e.what());
    }
    lock.lock();
    again = claimed == options_.batch;  // more may be due: again at once
  }
}

size_t OutboxWorker::runOnce() { return round(true); }

size_t OutboxWorker::round(bool lead) {
  const int64_t now = tenancy::nowMs();
  if (lead) {
    const uint32_t back = store_.reclaimOutbox(now, kReclaimPerRound);
    if (back > 0) {
      reclaimed.fetch_add(back, std::memory_order_relaxed);
      spdlog::warn("outbox: {} message(s) whose sender's lease ran out are UNKNOWN, to reconcile",
                   back);
    }
    if (now >= next_reconcile_ms_) {
      next_reconcile_ms_ = now + kReconcileEveryMs;
      reconcileOnce();
      priceOnce();
    }
  }
  const std::vector<storage::OutboxMessage> batch = store_.claimOutbox(
      now, options_.lease.count(), options_.owner, options_.batch, options_.pace_window.count());
  if (batch.empty()) return 0;
  // Up to `senders` POSTs at once; each message's outcome is one transition, recorded together.
  std::vector<storage::OutboxTransition> outcomes(batch.size());
  inParallel(batch.size(), [&](size_t i) { outcomes[i] = send(batch[i]); });
  const std::vector<bool> applied = store_.transitionOutbox(outcomes);
  // Holds are settled together too (each a durable write: at once, they share commits).
  std::vector<std::pair<const storage::OutboxMessage*, tg_outbox_state>> settle;
  // A message Twilio accepted whose record did not apply: Twilio's status callback came first
  // (the message is past SENDING already), or this daemon stalled past its lease (it is
  // UNKNOWN, and Twilio's answer reconciles it).
  std::vector<size_t> late;
  std::vector<storage::OutboxTransition> known;
  for (size_t i = 0; i < applied.size(); ++i) {
    if (applied[i]) {
      settle.emplace_back(&batch[i], outcomes[i].to_state);
    } else if (outcomes[i].to_state == TG_OUTBOX_ACCEPTED) {
      late.push_back(i);
      storage::OutboxTransition t = outcomes[i];
      t.from_states = TG_OUTBOX_IN(TG_OUTBOX_UNKNOWN);
      t.lease_owner.clear();
      known.push_back(std::move(t));
    } else {
      // The lease was reclaimed meanwhile: the message is UNKNOWN and will be reconciled.
      spdlog::warn("outbox: {} of tenant {}: outcome not recorded: the lease was lost", batch[i].id,
                   batch[i].tenant_id);
    }
  }
  const std::vector<bool> reconciled = store_.transitionOutbox(known);
  for (size_t k = 0; k < late.size(); ++k) {
    const storage::OutboxMessage& m = batch[late[k]];
    if (reconciled[k]) {
      settle.emplace_back(&m, TG_OUTBOX_ACCEPTED);
      continue;
    }
    // Moved on by a callback: settled by the state Twilio reported.
    const auto now = store_.outboxMessage(m.tenant_id, m.id);
    if (now && now->state != TG_OUTBOX_SENDING && now->state != TG_OUTBOX_QUEUED) {
      settle.emplace_back(&m,
                          now->state == TG_OUTBOX_FAILED ? TG_OUTBOX_FAILED : TG_OUTBOX_ACCEPTED);
    }
  }
  settleHolds(settle);
  return batch.size();
}

// The holds of a round's messages, settled together: with storage that settles holds in units
// (ABI 1.12), a unit of up to kHoldsPerUnit of one tenant's, all the units at once, so that
// they share commits and nothing is read first; otherwise, or when a unit fails, or for a
// message whose reserved amount is not on its record, one at a time (settleHold).
void OutboxWorker::settleHolds(
    const std::vector<std::pair<const storage::OutboxMessage*, tg_outbox_state>>& settle) {
  std::vector<size_t> each;
  std::map<std::string, std::vector<size_t>> by_tenant;
  for (size_t i = 0; i < settle.size(); ++i) {
    const auto& [m, to] = settle[i];
    if (m->hold_id.empty() || m->currency.empty()) continue;
    if (to != TG_OUTBOX_ACCEPTED && to != TG_OUTBOX_FAILED) continue;
    if (store_.settlesHoldsInUnits() && m->estimate_micros > 0) {
      by_tenant[m->tenant_id].push_back(i);
    } else {
      each.push_back(i);
    }
  }
  std::vector<std::vector<size_t>> units;
  for (const auto& [tenant, of_tenant] : by_tenant) {
    for (size_t k = 0; k < of_tenant.size(); k += kHoldsPerUnit) {
      units.emplace_back(of_tenant.begin() + k,
                         of_tenant.begin() + std::min(k + kHoldsPerUnit, of_tenant.size()));
    }
  }
  std::mutex each_mu;
  inParallel(units.size(), [&](size_t u) {
    const std::vector<size_t>& members = units[u];
    const int64_t now = tenancy::nowMs();
    storage::Unit unit(settle[members.front()].first->tenant_id);
    for (const size_t i : members) {
      const auto& [m, to] = settle[i];
      unit.settleHold(sendHoldSettlement(m->id, m->hold_id, m->currency, to == TG_OUTBOX_ACCEPTED,
                                         m->estimate_micros, holdDescription(*m), now));
    }
    try {
      const storage::UnitResult r = store_.apply(unit);
      for (size_t k = 0; k < members.size(); ++k) {
        if (r.result(k) != TG_UNIT_MISSING) continue;
        const storage::OutboxMessage& m = *settle[members[k]].first;
        spdlog::warn("outbox: {} of tenant {}: its hold {} does not exist", m.id, m.tenant_id,
                     m.hold_id);
      }
    } catch (const std::exception& e) {
      spdlog::warn("outbox: {} hold(s) of tenant {} not settled together ({}); one at a time",
                   members.size(), unit.tenantId(), e.what());
      std::lock_guard lock(each_mu);
      each.insert(each.end(), members.begin(), members.end());
    }
  });
  inParallel(each.size(),
             [&](size_t k) { settleHold(*settle[each[k]].first, settle[each[k]].second); });
}

void OutboxWorker::inParallel(size_t count, const std::function<void(size_t)>& job) const {
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < count;) job(i);
  };
  std::vector<std::future<void>> running;
  const size_t n = std::min(options_.senders, count);
  for (size_t k = 1; k < n; ++k) running.push_back(std::async(std::launch::async, work));
  work();
  for (auto& f : running) f.get();
}

// An UNKNOWN message may or may not have reached Twilio: Twilio's list of messages from its
// sender to its recipient says which. Messages of one tenant with the same sender, recipient
// and text are interchangeable there, so they are matched as a group, oldest to oldest, to the
// messages Twilio created since the oldest of them was queued (less clock skew). Found: the
// message takes Twilio's SID and status (the hold is settled by it). Missing for
// reconcile_grace: QUEUED again, since Twilio has no record of it; missing sooner: looked up
// again later. Never a second POST while Twilio may hold the first.
size_t OutboxWorker::reconcileOnce() {
  const int64_t now = tenancy::nowMs();
  const std::vector<storage::OutboxMessage> unknown =
      store_.outboxMessages("", TG_OUTBOX_UNKNOWN, kReconcilePerRound);
  std::map<std::string, int64_t> next_lookup;
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           std::vector<const storage::OutboxMessage*>>
      groups;
  for (const storage::OutboxMessage& m : unknown) {
    const auto due = next_lookup_ms_.find(m.id);
    if (due != next_lookup_ms_.end() && due->second > now) {
      next_lookup.emplace(m.id, due->second);
      continue;
    }
    if (m.updated_at_ms > now - options_.reconcile_after.count()) continue;
    groups[{m.tenant_id, m.from_number, m.to_number, m.body}].push_back(&m);
  }
  const int64_t look_again =
      now + std::clamp<int64_t>(options_.reconcile_grace.count() / 10, 1'000, 60'000);
  std::vector<storage::OutboxTransition> changes;
  std::vector<const storage::OutboxMessage*> changed;
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return std::tie(a->created_at_ms, a->id) < std::tie(b->created_at_ms, b->id);
    });
    const storage::OutboxMessage& first = *members.front();
    std::vector<std::pair<int64_t, twilio::MessageResource>> found;
    try {
      const std::optional<twilio::Credentials> account = account_of_(first);
      if (!account) throw std::runtime_error("no Twilio account to look it up with");
      for (twilio::MessageResource& r :
           rest_.listMessages(*account, first.to_number, first.from_number, kLookupPage)) {
        const std::optional<int64_t> created = twilioDateMs(r.date_created);
        if (r.body == first.body && created && *created >= first.created_at_ms - kClockSkewMs) {
          found.emplace_back(*created, std::move(r));
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("outbox: {} of tenant {} not looked up at Twilio: {}", first.id, first.tenant_id,
                   e.what());
      for (const auto* m : members) next_lookup.emplace(m->id, look_again);
      continue;
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first, a.second.sid) < std::tie(b.first, b.second.sid);
    });
    for (size_t i = 0; i < members.size(); ++i) {
      const storage::OutboxMessage& m = *members[i];
      storage::OutboxTransition t{.tenant_id = m.tenant_id,
                                  .id = m.id,
                                  .from_states = TG_OUTBOX_IN(TG_OUTBOX_UNKNOWN),
                                  .lease_owner = {},
                                  .to_state = TG_OUTBOX_QUEUED,
                                  .twilio_sid = {},
                                  .twilio_status = {},
                                  .status_rank = 0,
                                  .error_code = 0,
                                  .error = {},
                                  .next_attempt_at_ms = now,
                                  .now_ms = now};
      if (i < found.size()) {
        const twilio::MessageResource& r = found[i].second;
        const int rank = messageStatusRank(r.status);
        t.to_state = rank == 0 ? TG_OUTBOX_ACCEPTED : outboxStateOf(r.status);
        if (t.to_state == TG_OUTBOX_ACCEPTED) lookUpIfNoFinalStatus(t, now);
        t.twilio_sid = r.sid;
        t.twilio_status = r.status;
        t.status_rank = rank;
        t.error_code = r.error_code.value_or(0);
        t.error = r.error_message;
        if (finalOutboxState(t.to_state)) {
          t.price_state = TG_OUTBOX_PRICE_PENDING;
          t.price_check_at_ms = priceCheckAt(now);
        }
      } else if (now - m.updated_at_ms >= options_.reconcile_grace.count()) {
        t.error = fmt::format("not in Twilio's list {} s after its send: sent again",
                              (now - m.updated_at_ms) / 1000);
      } else {
        next_lookup.emplace(m.id, look_again);
        continue;
      }
      changes.push_back(std::move(t));
      changed.push_back(&m);
    }
  }
  next_lookup_ms_ = std::move(next_lookup);
  const std::vector<bool> applied = store_.transitionOutbox(changes);
  size_t n = 0;
  for (size_t i = 0; i < applied.size(); ++i) {
    if (!applied[i]) continue;  // moved on meanwhile (a status callback)
    ++n;
    const storage::OutboxTransition& t = changes[i];
    if (t.to_state == TG_OUTBOX_QUEUED) {
      resent.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("outbox: {} of tenant {}: {}", t.id, t.tenant_id, t.error);
    } else {
      reconciled.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("outbox: {} of tenant {} reconciled: Twilio has it as {} ({})", t.id,
                   t.tenant_id, t.twilio_sid, t.twilio_status);
      settleHold(*changed[i],
                 t.to_state == TG_OUTBOX_FAILED ? TG_OUTBOX_FAILED : TG_OUTBOX_ACCEPTED);
      foundAtTwilio(t.tenant_id, t.id);
    }
  }
  return n;
}

size_t OutboxWorker::priceOnce() {
  if (!store_.pricesMessages()) return 0;
  const int64_t now = tenancy::nowMs();
  const std::vector<storage::OutboxMessage> due = store_.outboxPriceDue(now, kPricePerRound);
  if (due.empty()) return 0;
  std::vector<storage::OutboxTransition> outcomes(due.size());
  inParallel(due.size(), [&](size_t i) { outcomes[i] = price(due[i], now); });
  const std::vector<bool> applied = store_.transitionOutbox(outcomes);
  size_t n = 0;
  for (size_t i = 0; i < applied.size(); ++i) {
    if (!applied[i]) continue;
    if (outcomes[i].to_state != due[i].state) foundAtTwilio(due[i].tenant_id, due[i].id);
    if (outcomes[i].price_state == TG_OUTBOX_PRICE_PENDING) continue;
    ++n;
    (outcomes[i].price_state == TG_OUTBOX_PRICED ? priced : unpriced)
        .fetch_add(1, std::memory_order_relaxed);
  }
  return n;
}

// Twilio's price of one final message, reconciled with what its hold charged by one ledger
// entry (keyed by the message, so a second look changes nothing): the difference back to the
// tenant when Twilio charged less (a failed message costs nothing), charged when it charged
// more. A message that reserved nothing (no pricing plugin) has nothing to reconcile.
storage::OutboxTransition OutboxWorker::price(const storage::OutboxMessage& m, int64_t now) {
  storage::OutboxTransition t{.tenant_id = m.tenant_id,
                              .id = m.id,
                              .from_states = TG_OUTBOX_IN(m.state),
                              .lease_owner = {},
                              .to_state = m.state,
                              .twilio_sid = {},
                              .twilio_status = {},
                              .status_rank = 0,
                              .error_code = 0,
                              .error = {},
                              .next_attempt_at_ms = 0,
                              .now_ms = now,
                              .price_state = TG_OUTBOX_UNPRICED,
                              .price_micros = 0,
                              .price_check_at_ms = 0};
  // The estimate stands: what the hold reserved is charged, if nothing settled it yet (a
  // final callback normally has, or the worker when it recorded Twilio's answer).
  const auto estimateStands = [&] {
    settleHold(m, t.to_state == TG_OUTBOX_FAILED ? TG_OUTBOX_FAILED : TG_OUTBOX_ACCEPTED);
    return t;
  };
  const auto later = [&](const std::string& why) {
    const int64_t age = now - m.created_at_ms;
    if (age >= options_.price_give_up.count()) {
      spdlog::warn(
          "outbox: {} of tenant {}: no price from Twilio after {} s ({}); the estimate "
          "of {} micros stands",
          m.id, m.tenant_id, age / 1000, why, m.estimate_micros);
      return estimateStands();
    }
    // Again after as long as it has waited so far: a handful of looks in all.
    t.price_state = TG_OUTBOX_PRICE_PENDING;
    t.price_check_at_ms = now + std::max(options_.price_after.count(), age);
    return t;
  };
  // Still ACCEPTED: its final status callback never came, and Twilio's resource says instead.
  const bool lost_final = m.state == TG_OUTBOX_ACCEPTED;
  const bool reserved = !m.hold_id.empty() && !m.currency.empty();
  if (m.twilio_sid.empty() || (!lost_final && !reserved)) return t;
  const std::optional<twilio::Credentials> account = account_of_(m);
  if (!account) return later("no Twilio account for " + m.from_number);
  try {
    const twilio::MessageResource r = rest_.fetchMessage(*account, m.twilio_sid);
    tg_outbox_state state = m.state;
    if (lost_final) {
      const int rank = messageStatusRank(r.status);
      if (rank == 0 || !finalOutboxState(outboxStateOf(r.status))) {
        return later("Twilio has it as " + ops::untrusted(r.status));
      }
      state = t.to_state = outboxStateOf(r.status);
      t.twilio_status = r.status;
      t.status_rank = rank;
      t.error_code = r.error_code.value_or(0);
      t.error = r.error_message;
      finals_found.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("outbox: {} of tenant {}: no final callback came; Twilio has it {}", m.id,
                   m.tenant_id, r.status);
      if (!reserved) return t;
    }
    if (r.price.empty()) return later("Twilio has no price yet");
    const std::optional<int64_t> actual = ledger::twilioCharge(r.price, r.price_unit, m.currency);
    if (!actual) {
      spdlog::warn(
          "outbox: {} of tenant {}: Twilio's price '{} {}' is not one to reconcile "
          "with {}; the estimate stands",
          m.id, m.tenant_id, ops::untrusted(r.price), ops::untrusted(r.price_unit), m.currency);
      return estimateStands();
    }
    // What the hold charged: it is settled first if nothing settled it yet.
    settleHold(m, state == TG_OUTBOX_FAILED ? TG_OUTBOX_FAILED : TG_OUTBOX_ACCEPTED);
    const auto held = store_.holds(m.tenant_id, storage::HoldQuery{.currency = m.currency,
                                                                   .status = TG_HOLD_CAPTURED,
                                                                   .hold_id = m.hold_id,
                                                                   .after_id = {},
                                                                   .limit = 1});
    const int64_t charged = held.empty() ? 0 : held.front().captured_micros;
    ledger::bookPriceDifference(store_, m.tenant_id, m.currency, m.id, TG_ENTRY_SMS_USAGE, charged,
                                *actual, "SMS to " + m.to_number, now);
    t.price_state = TG_OUTBOX_PRICED;
    t.price_micros = *actual;
    return t;
  } catch (const twilio::RestError& e) {
    if (e.kind() == twilio::RestError::Kind::kRejected && e.error().http_status == 404) {
      spdlog::warn("outbox: {} of tenant {}: Twilio has no message {}; the estimate stands", m.id,
                   m.tenant_id, m.twilio_sid);
      return estimateStands();
    }
    return later(e.what());
  } catch (const std::exception& e) {
    return later(e.what());
  }
}

void OutboxWorker::foundAtTwilio(const std::string& tenant_id, const std::string& id) {
  if (!options_.found_at_twilio) return;
  try {
    if (const auto m = store_.outboxMessage(tenant_id, id)) options_.found_at_twilio(*m);
  } catch (const std::exception& e) {
    spdlog::warn("outbox: {} of tenant {}: its tenant not told of its status: {}", id, tenant_id,
                 e.what());
  }
}

// The price reserved for a message: charged once Twilio has it (Twilio bills what it accepted,
// delivered or not), released when Twilio refused it (docs/adr/0014).
void OutboxWorker::settleHold(const storage::OutboxMessage& m, tg_outbox_state to) {
  if (to != TG_OUTBOX_ACCEPTED && to != TG_OUTBOX_FAILED) return;
  settleSendHold(store_, m.tenant_id, m.id, m.hold_id, m.currency, to == TG_OUTBOX_ACCEPTED,
                 holdDescription(m));
}

storage::OutboxTransition OutboxWorker::send(const storage::OutboxMessage& m) {
  storage::OutboxTransition t{.tenant_id = m.tenant_id,
                              .id = m.id,
                              .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING),
                              .lease_owner = options_.owner,
                              .to_state = TG_OUTBOX_FAILED,
                              .twilio_sid = {},
                              .twilio_status = {},
                              .status_rank = 0,
                              .error_code = 0,
                              .error = {},
                              .next_attempt_at_ms = 0,
                              .now_ms = 0};
  const auto retryLater = [&](int code, const std::string& why) {
    if (m.attempts >= options_.max_attempts) {
      t.to_state = TG_OUTBOX_FAILED;
      t.error = fmt::format("gave up after {} attempts: {}", m.attempts, why);
      failed.fetch_add(1, std::memory_order_relaxed);
    } else {
      t.to_state = TG_OUTBOX_QUEUED;
      t.error = why;
      t.next_attempt_at_ms = tenancy::nowMs() + backoff(m.attempts).count();
      retried.fetch_add(1, std::memory_order_relaxed);
    }
    t.error_code = code;
  };
  // No POST in the second half of the lease: its outcome must be recorded before the lease
  // runs out, or the message goes UNKNOWN and costs a lookup. Behind a slow Twilio the rest of
  // a batch waits for a later claim instead (docs/adr/0014).
  if (tenancy::nowMs() > m.lease_until_ms - options_.lease.count() / 2) {
    retryLater(0, "not sent: half its lease had passed before its turn (Twilio slow?)");
    t.now_ms = tenancy::nowMs();
    return t;
  }
  const std::optional<twilio::Credentials> account = account_of_(m);
  if (!account) {
    t.error = "no Twilio account to send from " + m.from_number;
    failed.fetch_add(1, std::memory_order_relaxed);
    t.now_ms = tenancy::nowMs();
    return t;
  }
  try {
    const twilio::MessageResource r =
        rest_.sendMessage(*account, twilio::SendRequest{.to = m.to_number,
                                                        .from = m.from_number,
                                                        .messaging_service_sid = {},
                                                        .body = m.body,
                                                        .media_urls = lines(m.media_urls),
                                                        .status_callback = callback_of_(m)});
    t.to_state = TG_OUTBOX_ACCEPTED;
    t.twilio_sid = r.sid;
    t.twilio_status = r.status;
    t.status_rank = messageStatusRank(r.status);
    lookUpIfNoFinalStatus(t, tenancy::nowMs());
    accepted.fetch_add(1, std::memory_order_relaxed);
  } catch (const twilio::RestError& e) {
    switch (e.kind()) {
      case twilio::RestError::Kind::kRejected:
        if (e.error().http_status == 429) {
          retryLater(e.error().code, e.what());  // Twilio did nothing: safe to send again
        } else {
          t.to_state = TG_OUTBOX_FAILED;
          t.error_code = e.error().code;
          t.error = e.error().message.empty() ? e.what() : e.error().message;
          failed.fetch_add(1, std::memory_order_relaxed);
        }
        break;
      case twilio::RestError::Kind::kNotSent:
        retryLater(0, e.what());
        break;
      case twilio::RestError::Kind::kOutcomeUnknown:
        t.to_state = TG_OUTBOX_UNKNOWN;  // never POSTed again blindly (docs/adr/0014)
        t.error = e.what();
        unknown.fetch_add(1, std::memory_order_relaxed);
        break;
    }
  }
  t.now_ms = tenancy::nowMs();
  return t;
}

}  // namespace tollgate::messaging
