// Usage charged to the wallet (issue 25): an inbound SMS if the pricing source prices it, a
// completed call by its CallDuration, per started minute or per second ([billing]
// voice_rounding). Each charge is a ledger entry keyed by the provider's SID, so a repeated or
// late callback never charges twice. Without a pricing plugin nothing is charged.
//
// With a storage plugin of ABI 1.7 (Store::queuesUsage) the usage is queued in the webhook's
// own unit: durable with the record itself, whatever happens after. A charger thread then
// prices what is queued and settles it in batches (a few hundred charges in one transaction),
// off the webhook's path; a price it cannot get now (the pricing source down) stays queued and
// is tried again with backoff. With an older plugin each usage is charged after its webhook
// commits, on the request thread, and one that fails then is logged and counted as unbilled.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "billing/pricing.hpp"
#include "ledger/usage_events.hpp"
#include "ops/untrusted.hpp"
#include "storage/store.hpp"
#include "storage/unit.hpp"

namespace tollgate::ledger {

// The ledger key a call's usage is charged under.
std::string callUsageKey(std::string_view sid);

class ChargingUsageEvents : public CountingUsageEvents {
 public:
  // poll: how often the charger looks for usage nobody woke it for (queued by another daemon,
  // or before a restart).
  ChargingUsageEvents(storage::Store& store, const billing::Pricing& pricing, std::string currency,
                      bool voice_per_second,
                      std::chrono::milliseconds poll = std::chrono::seconds(5));
  // Stops the charger, after one last round of what is queued.
  ~ChargingUsageEvents() override;

  std::optional<storage::Unit::Index> queueMessage(storage::Unit& unit,
                                                   const storage::Message& m) override;
  std::optional<storage::Unit::Index> queueCall(storage::Unit& unit, std::string_view tenant_id,
                                                std::string_view sid, std::string_view status,
                                                int32_t duration_s) override;
  void messageReceived(const storage::Message& m, bool queued) override;
  void callStatusChanged(std::string_view tenant_id, std::string_view sid, std::string_view status,
                         int32_t duration_s, bool queued) override;

  // Stops the charger thread after a last round (idempotent); before the plugins go.
  void stop();

  // What a call of `duration_s` costs at `per_minute_micros`: started minutes, or seconds
  // rounded up to the micro-unit.
  static int64_t callCost(int64_t per_minute_micros, int32_t duration_s, bool per_second);

 private:
  // What one round of the charger did.
  struct Round {
    size_t listed = 0;          // queued usage read
    size_t settled = 0;         // taken off the queue (charged, or nothing to charge)
    size_t price_failures = 0;  // left queued: no price now
  };
  void run();
  Round settleQueued();
  void charge(const std::string& tenant_id, const std::string& key, tg_entry_kind kind,
              int64_t amount_micros, const std::string& reference, const std::string& description,
              const std::string& country);
  // Logs one usage that was not charged, at most a few lines a second (an outage of the
  // pricing source or an empty wallet would otherwise log every message and call).
  void notCharged(const std::string& line, bool counted = true);
  void wake();

  storage::Store& store_;
  const billing::Pricing& pricing_;
  const std::string currency_;
  const bool voice_per_second_;
  const bool queues_;  // pricing on and storage queues usage: the charger runs
  const std::chrono::milliseconds poll_;
  ops::LogLimiter log_limit_{1.0, 10.0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = true;  // a first round at start: what was queued before a restart
  bool stopping_ = false;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::thread thread_;
};

}  // namespace tollgate::ledger
