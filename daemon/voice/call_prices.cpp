#include "voice/call_prices.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ledger/twilio_price.hpp"
#include "ledger/usage_charges.hpp"
#include "ops/untrusted.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::voice {
namespace {
constexpr uint32_t kPerRound = 256;  // calls looked up per round, at most
}  // namespace

CallPrices::CallPrices(storage::Store& store, twilio::RestClient& rest, AccountOf account_of,
                       Options options)
    : store_(store),
      rest_(rest),
      account_of_(std::move(account_of)),
      options_(std::move(options)) {}

CallPrices::~CallPrices() { stop(); }

void CallPrices::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void CallPrices::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CallPrices::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.poll, [this] { return stopping_; })) {
    lock.unlock();
    try {
      priceOnce();
    } catch (const std::exception& e) {
      spdlog::warn("calls' prices: round failed: {}", e.what());
    }
    lock.lock();
  }
}

size_t CallPrices::priceOnce() {
  const int64_t now = tenancy::nowMs();
  size_t n = 0;
  for (const storage::Call& c : store_.callPriceDue(now, kPerRound)) {
    const storage::CallPrice p = price(c, now);
    try {
      if (!store_.setCallPrice(c.tenant_id, p) || p.price_state == TG_OUTBOX_PRICE_PENDING) {
        continue;
      }
    } catch (const std::exception& e) {
      spdlog::warn("call {} of tenant {}: its price not stored: {}", c.sid, c.tenant_id, e.what());
      continue;
    }
    ++n;
    (p.price_state == TG_OUTBOX_PRICED ? priced : unpriced).fetch_add(1, std::memory_order_relaxed);
  }
  return n;
}

// Twilio's price of one call, reconciled with its usage charge by one ledger entry keyed by
// the call (a second look finds the key applied and changes nothing).
storage::CallPrice CallPrices::price(const storage::Call& c, int64_t now) {
  storage::CallPrice p{.sid = c.sid,
                       .price_state = TG_OUTBOX_UNPRICED,
                       .charged_micros = 0,
                       .price_micros = 0,
                       .price_check_at_ms = 0,
                       .now_ms = now};
  const auto later = [&](const std::string& why) {
    const int64_t age = now - c.created_at_ms;
    if (age >= options_.price_give_up.count()) {
      spdlog::warn(
          "call {} of tenant {}: no price from Twilio after {} s ({}); what was charged "
          "stands",
          c.sid, c.tenant_id, age / 1000, why);
      return p;
    }
    // Again after as long as it has waited so far: a handful of looks in all.
    p.price_state = TG_OUTBOX_PRICE_PENDING;
    p.price_check_at_ms = now + std::max(options_.price_after.count(), age);
    return p;
  };
  const std::optional<twilio::Credentials> account = account_of_(c);
  if (!account) return later("no Twilio account for " + c.to_number);
  twilio::CallResource r;
  try {
    r = rest_.fetchCall(*account, c.sid);
  } catch (const twilio::RestError& e) {
    if (e.kind() == twilio::RestError::Kind::kRejected && e.error().http_status == 404) {
      spdlog::warn("call {} of tenant {}: Twilio has no such call; what was charged stands", c.sid,
                   c.tenant_id);
      return p;
    }
    return later(e.what());
  }
  if (r.price.empty()) return later("Twilio has no price yet");
  const std::optional<int64_t> actual =
      ledger::twilioCharge(r.price, r.price_unit, options_.currency);
  if (!actual) {
    spdlog::warn(
        "call {} of tenant {}: Twilio's price '{} {}' is not one to reconcile with {}; what "
        "was charged stands",
        c.sid, c.tenant_id, ops::untrusted(r.price), ops::untrusted(r.price_unit),
        options_.currency);
    return p;
  }
  // What the call's usage charged: nothing yet may mean its charge is still queued.
  const std::vector<storage::LedgerEntry> usage = store_.queryLedger(
      c.tenant_id, storage::LedgerQuery{.currency = options_.currency,
                                        .after_seq = 0,
                                        .limit = 16,
                                        .kind = 0,
                                        .from_ms = 0,
                                        .to_ms = 0,
                                        .bucket_ms = 0,
                                        .by_country = false,
                                        .idempotency_key = ledger::callUsageKey(c.sid)});
  if (usage.empty()) return later("its usage is not charged yet");
  int64_t charged = 0;
  for (const storage::LedgerEntry& e : usage) charged -= e.amount_micros;
  ledger::bookPriceDifference(store_, c.tenant_id, options_.currency, c.sid, TG_ENTRY_VOICE_USAGE,
                              charged, *actual, "call from " + c.from_number, now);
  p.price_state = TG_OUTBOX_PRICED;
  p.charged_micros = charged;
  p.price_micros = *actual;
  return p;
}

}  // namespace tollgate::voice
