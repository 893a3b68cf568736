#include "ledger/usage_charges.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "tenancy/tenants.hpp"

namespace tollgate::ledger {

std::string callUsageKey(std::string_view sid) { return fmt::format("usage:call:{}", sid); }

namespace {

// Queued usage settled per round: one group-commit batch of the storage plugins.
constexpr uint32_t kRound = 512;
// Rounds the charger makes at stop, at most, to settle what is queued.
constexpr int kLastRounds = 20;
constexpr auto kMaxBackoff = std::chrono::seconds(30);

std::string smsKey(std::string_view sid) { return fmt::format("usage:sms:{}", sid); }

std::string smsDescription(std::string_view from, int64_t segments) {
  return fmt::format("inbound SMS from {}, {} segment(s)", from, segments);
}

std::string callDescription(bool inbound, int32_t duration_s, bool per_second,
                            std::string_view counterpart) {
  return fmt::format("{} call {} s, {} {}", inbound ? "inbound" : "outbound", duration_s,
                     per_second ? "per second" : "per started minute", counterpart);
}

}  // namespace

ChargingUsageEvents::ChargingUsageEvents(storage::Store& store, const billing::Pricing& pricing,
                                         std::string currency, bool voice_per_second,
                                         std::chrono::milliseconds poll)
    : store_(store),
      pricing_(pricing),
      currency_(std::move(currency)),
      voice_per_second_(voice_per_second),
      queues_(pricing.plugin() != nullptr && store.queuesUsage()),
      poll_(poll) {
  if (queues_) thread_ = std::thread([this] { run(); });
}

ChargingUsageEvents::~ChargingUsageEvents() { stop(); }

void ChargingUsageEvents::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ChargingUsageEvents::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

int64_t ChargingUsageEvents::callCost(int64_t per_minute_micros, int32_t duration_s,
                                      bool per_second) {
  if (duration_s <= 0 || per_minute_micros <= 0) return 0;
  if (!per_second) return per_minute_micros * ((duration_s + 59) / 60);
  return (per_minute_micros * duration_s + 59) / 60;  // rounded up to the micro-unit
}

void ChargingUsageEvents::notCharged(const std::string& line, bool counted) {
  if (counted) unbilled.fetch_add(1, std::memory_order_relaxed);
  uint64_t dropped = 0;
  if (!log_limit_.allow(dropped)) return;
  if (dropped > 0) {
    spdlog::warn("{} ({} more usage not charged, not logged)", line, dropped);
  } else {
    spdlog::warn("{}", line);
  }
}

// ---- queued (storage ABI 1.7) ----

std::optional<storage::Unit::Index> ChargingUsageEvents::queueMessage(storage::Unit& unit,
                                                                      const storage::Message& m) {
  if (!queues_ || m.direction != TG_DIRECTION_INBOUND) return std::nullopt;
  // An inbound SMS is priced by the country of the tenant's number that received it.
  return unit.queueUsage(storage::Usage{.tenant_id = m.tenant_id,
                                        .key = smsKey(m.sid),
                                        .currency = currency_,
                                        .product = TG_PRODUCT_SMS_SEGMENT_IN,
                                        .sid = m.sid,
                                        .number = m.to_number,
                                        .counterpart = m.from_number,
                                        .quantity = std::max<int32_t>(m.num_segments, 1),
                                        .created_at_ms = m.created_at_ms});
}

std::optional<storage::Unit::Index> ChargingUsageEvents::queueCall(storage::Unit& unit,
                                                                   std::string_view tenant_id,
                                                                   std::string_view sid,
                                                                   std::string_view status,
                                                                   int32_t duration_s) {
  if (!queues_ || status != "completed" || duration_s <= 0) return std::nullopt;
  // The call as its first webhook stored it: which way it went and the numbers.
  const auto call = store_.call(tenant_id, sid);
  if (!call) return std::nullopt;
  const bool inbound = call->direction == TG_DIRECTION_INBOUND;
  // Inbound: by our number's country; outbound: by the destination's.
  return unit.queueUsage(
      storage::Usage{.tenant_id = std::string(tenant_id),
                     .key = callUsageKey(sid),
                     .currency = currency_,
                     .product = inbound ? TG_PRODUCT_VOICE_MINUTE_IN : TG_PRODUCT_VOICE_MINUTE_OUT,
                     .sid = std::string(sid),
                     .number = call->to_number,
                     .counterpart = inbound ? call->from_number : call->to_number,
                     .quantity = duration_s,
                     .created_at_ms = tenancy::nowMs()});
}

void ChargingUsageEvents::run() {
  std::unique_lock lock(mu_);
  auto next = std::chrono::steady_clock::now() + poll_;
  while (!stopping_) {
    // A queued usage wakes it, unless prices failed lately (then not before retry_at_); else
    // it looks every poll_ for usage nobody told it about.
    cv_.wait_until(lock, next, [&] {
      return stopping_ || (woken_ && std::chrono::steady_clock::now() >= retry_at_);
    });
    if (stopping_) break;
    woken_ = false;
    lock.unlock();
    const Round r = settleQueued();
    lock.lock();
    const auto now = std::chrono::steady_clock::now();
    if (r.price_failures > 0 && r.settled == 0) {
      backoff_ = std::min<std::chrono::milliseconds>(
          kMaxBackoff, backoff_.count() == 0 ? std::chrono::seconds(1) : backoff_ * 2);
      retry_at_ = now + backoff_;
      next = retry_at_;
      continue;
    }
    backoff_ = std::chrono::milliseconds(0);
    retry_at_ = {};
    if (r.listed == kRound && r.settled > 0) woken_ = true;  // more queued: again at once
    next = now + poll_;
  }
  lock.unlock();
  // What webhooks queued until the server stopped.
  for (int i = 0; i < kLastRounds; ++i) {
    const Round r = settleQueued();
    if (r.listed < kRound || r.settled == 0) break;
  }
}

ChargingUsageEvents::Round ChargingUsageEvents::settleQueued() {
  Round round;
  std::vector<storage::Usage> queued;
  try {
    queued = store_.queuedUsage(kRound);
  } catch (const std::exception& e) {
    spdlog::warn("usage charger: cannot read the queue: {}", e.what());
    round.price_failures = 1;
    return round;
  }
  round.listed = queued.size();
  if (queued.empty()) return round;
  // Each wallet's charges together (the order the storage locks them in).
  std::stable_sort(queued.begin(), queued.end(), [](const auto& a, const auto& b) {
    return std::tie(a.tenant_id, a.currency) < std::tie(b.tenant_id, b.currency);
  });
  std::vector<storage::UsageCharge> charges;
  charges.reserve(queued.size());
  const int64_t now = tenancy::nowMs();
  for (const storage::Usage& u : queued) {
    const billing::Quote q =
        pricing_.quote(u.tenant_id, u.sid, u.product, u.number, "", u.currency);
    storage::UsageCharge c{.tenant_id = u.tenant_id,
                           .key = u.key,
                           .currency = u.currency,
                           .amount_micros = 0,
                           .kind = TG_ENTRY_SMS_USAGE,
                           .reference = u.sid,
                           .description = {},
                           .country = {},
                           .now_ms = now};
    if (q.status == TG_ERR_NOT_FOUND) {
      unpriced.fetch_add(1, std::memory_order_relaxed);
      charges.push_back(std::move(c));  // nothing to charge: off the queue
      continue;
    }
    if (q.status != TG_OK) {
      ++round.price_failures;
      notCharged(fmt::format("usage {} of tenant {} not charged yet: no price: {} (kept queued)",
                             u.key, u.tenant_id, q.error),
                 false);
      continue;
    }
    c.country = q.country;
    if (u.product == TG_PRODUCT_SMS_SEGMENT_IN) {
      c.amount_micros = q.amount_micros * u.quantity;
      c.description = smsDescription(u.counterpart, u.quantity);
    } else {
      const bool inbound = u.product == TG_PRODUCT_VOICE_MINUTE_IN;
      c.kind = TG_ENTRY_VOICE_USAGE;
      c.amount_micros = callCost(q.amount_micros, u.quantity, voice_per_second_);
      c.description = callDescription(inbound, u.quantity, voice_per_second_, u.counterpart);
    }
    charges.push_back(std::move(c));
  }
  if (charges.empty()) return round;

  std::vector<tg_status> statuses;
  try {
    statuses = store_.settleUsage(charges);
  } catch (const std::exception& e) {
    spdlog::warn("usage charger: {} charge(s) not settled, kept queued: {}", charges.size(),
                 e.what());
    round.price_failures += charges.size();
    return round;
  }
  // A wallet that does not exist will not appear by waiting: such usage leaves the queue
  // uncharged, logged and counted.
  std::vector<storage::UsageCharge> orphans;
  for (size_t i = 0; i < charges.size(); ++i) {
    const storage::UsageCharge& c = charges[i];
    if (statuses[i] == TG_OK) {
      ++round.settled;
      if (c.amount_micros > 0) charged.fetch_add(1, std::memory_order_relaxed);
    } else if (statuses[i] == TG_ERR_NOT_FOUND) {
      notCharged(fmt::format("usage {} of tenant {} ({} micros) not charged: no {} wallet", c.key,
                             c.tenant_id, c.amount_micros, c.currency));
      orphans.push_back(c);
      orphans.back().amount_micros = 0;
    } else {
      notCharged(fmt::format("usage {} of tenant {} not charged yet (kept queued): status {}",
                             c.key, c.tenant_id, statuses[i]),
                 false);
    }
  }
  if (!orphans.empty()) {
    try {
      store_.settleUsage(orphans);
    } catch (const std::exception& e) {
      spdlog::warn("usage charger: {} usage(s) without a wallet kept queued: {}", orphans.size(),
                   e.what());
    }
  }
  return round;
}

// ---- charged as it happens (a storage plugin before ABI 1.7) ----

void ChargingUsageEvents::charge(const std::string& tenant_id, const std::string& key,
                                 tg_entry_kind kind, int64_t amount_micros,
                                 const std::string& reference, const std::string& description,
                                 const std::string& country) {
  const storage::LedgerEntryIn entry{.kind = kind,
                                     .amount_micros = -amount_micros,
                                     .reference = reference,
                                     .description = description,
                                     .country = country};
  try {
    const storage::ApplyResult res = store_.applyLedger(
        tenant_id, currency_, key, {entry}, tenancy::nowMs(), storage::Overdraft::kAllow);
    if (res.outcome == TG_APPLY_INSUFFICIENT_FUNDS) {  // a storage plugin older than 1.6
      notCharged(
          fmt::format("usage {} of tenant {} ({} micros) not charged: the wallet's "
                      "balance of {} cannot take it",
                      reference, tenant_id, amount_micros, res.balance_micros));
      return;
    }
    if (res.outcome == TG_APPLY_APPLIED) charged.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::exception& e) {
    notCharged(fmt::format("usage {} of tenant {} ({} micros) not charged: {}", reference,
                           tenant_id, amount_micros, e.what()));
  }
}

void ChargingUsageEvents::messageReceived(const storage::Message& m, bool queued) {
  CountingUsageEvents::messageReceived(m, queued);
  if (queued) {
    wake();
    return;
  }
  if (pricing_.plugin() == nullptr || m.direction != TG_DIRECTION_INBOUND) return;
  const billing::Quote q =
      pricing_.quote(m.tenant_id, m.sid, TG_PRODUCT_SMS_SEGMENT_IN, m.to_number, "", currency_);
  if (q.status == TG_ERR_NOT_FOUND) {
    unpriced.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (q.status != TG_OK) {
    notCharged(fmt::format("inbound SMS {} of tenant {} not charged: no price: {}", m.sid,
                           m.tenant_id, q.error));
    return;
  }
  const int64_t segments = std::max<int32_t>(m.num_segments, 1);
  charge(m.tenant_id, smsKey(m.sid), TG_ENTRY_SMS_USAGE, q.amount_micros * segments, m.sid,
         smsDescription(m.from_number, segments), q.country);
}

void ChargingUsageEvents::callStatusChanged(std::string_view tenant_id, std::string_view sid,
                                            std::string_view status, int32_t duration_s,
                                            bool queued) {
  CountingUsageEvents::callStatusChanged(tenant_id, sid, status, duration_s, queued);
  if (queued) {
    wake();
    return;
  }
  if (pricing_.plugin() == nullptr || status != "completed" || duration_s <= 0) return;
  const auto call = store_.call(tenant_id, sid);
  if (!call) return;
  const bool inbound = call->direction == TG_DIRECTION_INBOUND;
  // Inbound: by our number's country; outbound: by the destination's.
  const billing::Quote q = pricing_.quote(
      tenant_id, sid, inbound ? TG_PRODUCT_VOICE_MINUTE_IN : TG_PRODUCT_VOICE_MINUTE_OUT,
      call->to_number, "", currency_);
  if (q.status == TG_ERR_NOT_FOUND) {
    unpriced.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (q.status != TG_OK) {
    notCharged(
        fmt::format("call {} of tenant {} not charged: no price: {}", sid, tenant_id, q.error));
    return;
  }
  const int64_t cost = callCost(q.amount_micros, duration_s, voice_per_second_);
  if (cost <= 0) return;
  charge(std::string(tenant_id), callUsageKey(sid), TG_ENTRY_VOICE_USAGE, cost, std::string(sid),
         callDescription(inbound, duration_s, voice_per_second_,
                         inbound ? call->from_number : call->to_number),
         q.country);
}

}  // namespace tollgate::ledger
