// Usage charged to the wallet as it happens (issue 25): an inbound SMS if the pricing source
// prices it, a completed call by its CallDuration, per started minute or per second
// ([billing] voice_rounding). Each charge is a ledger entry keyed by the provider's SID, so a
// repeated or late callback never charges twice. Without a pricing plugin nothing is charged.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "billing/pricing.hpp"
#include "ledger/usage_events.hpp"
#include "ops/untrusted.hpp"
#include "storage/store.hpp"

namespace tollgate::ledger {

class ChargingUsageEvents : public CountingUsageEvents {
 public:
  ChargingUsageEvents(storage::Store& store, const billing::Pricing& pricing, std::string currency,
                      bool voice_per_second)
      : store_(store),
        pricing_(pricing),
        currency_(std::move(currency)),
        voice_per_second_(voice_per_second) {}

  void messageReceived(const storage::Message& m) override;
  void callStatusChanged(std::string_view tenant_id, std::string_view sid, std::string_view status,
                         int32_t duration_s) override;

  // What a call of `duration_s` costs at `per_minute_micros`: started minutes, or seconds
  // rounded up to the micro-unit.
  static int64_t callCost(int64_t per_minute_micros, int32_t duration_s, bool per_second);

 private:
  void charge(const std::string& tenant_id, const std::string& key, tg_entry_kind kind,
              int64_t amount_micros, const std::string& reference, const std::string& description,
              const std::string& country);
  // Logs one usage that was not charged, at most a few lines a second (an outage of the
  // pricing source or an empty wallet would otherwise log every message and call).
  void notCharged(const std::string& line);

  storage::Store& store_;
  const billing::Pricing& pricing_;
  const std::string currency_;
  const bool voice_per_second_;
  ops::LogLimiter log_limit_{1.0, 10.0};
};

}  // namespace tollgate::ledger
