// The one place where billable events leave the messaging and voice code: the ledger issue
// charges here. Called after the state change is stored, once per forward status change
// (a retried or out-of-order callback does not call it again).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "storage/store.hpp"

namespace tollgate::ledger {

class UsageEvents {
 public:
  virtual ~UsageEvents() = default;
  virtual void messageReceived(const storage::Message& m) = 0;
  virtual void messageStatusChanged(std::string_view tenant_id, std::string_view sid,
                                    std::string_view status, int32_t error_code) = 0;
  virtual void callStatusChanged(std::string_view tenant_id, std::string_view sid,
                                 std::string_view status, int32_t duration_s) = 0;
};

// Counts the events for /metrics and charges nothing (ChargingUsageEvents charges).
class CountingUsageEvents : public UsageEvents {
 public:
  void messageReceived(const storage::Message&) override { messages_received.fetch_add(1); }
  void messageStatusChanged(std::string_view, std::string_view, std::string_view,
                            int32_t) override {
    message_status_changes.fetch_add(1);
  }
  void callStatusChanged(std::string_view, std::string_view, std::string_view status,
                         int32_t) override {
    call_status_changes.fetch_add(1);
    if (status == "completed") calls_completed.fetch_add(1);
  }
  std::atomic<uint64_t> messages_received{0};
  std::atomic<uint64_t> message_status_changes{0};
  std::atomic<uint64_t> call_status_changes{0};
  std::atomic<uint64_t> calls_completed{0};
  // Kept by ChargingUsageEvents (usage_charges.hpp); zero here.
  std::atomic<uint64_t> charged{0};   // usage entries written
  std::atomic<uint64_t> unpriced{0};  // no price: nothing to charge
  std::atomic<uint64_t> unbilled{0};  // priced or to be priced, but not charged (see the log)
};

}  // namespace tollgate::ledger
