// The one place where billable events leave the messaging and voice code: the ledger issue
// charges here. Called after the state change is stored, once per forward status change
// (a retried or out-of-order callback does not call it again).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "storage/store.hpp"
#include "storage/unit.hpp"

namespace tollgate::ledger {

class UsageEvents {
 public:
  virtual ~UsageEvents() = default;
  // Before the webhook's unit commits: queues in it the charge for what it records, when that
  // is charged and storage can queue it. Returns the operation's index, or nullopt.
  virtual std::optional<storage::Unit::Index> queueMessage(storage::Unit& unit,
                                                           const storage::Message& m) = 0;
  virtual std::optional<storage::Unit::Index> queueCall(storage::Unit& unit,
                                                        std::string_view tenant_id,
                                                        std::string_view sid,
                                                        std::string_view status,
                                                        int32_t duration_s) = 0;
  // After it committed. queued: the unit queued its charge (the queue operation's result was
  // not TG_UNIT_MISSING); otherwise it is charged now.
  virtual void messageReceived(const storage::Message& m, bool queued) = 0;
  virtual void messageStatusChanged(std::string_view tenant_id, std::string_view sid,
                                    std::string_view status, int32_t error_code) = 0;
  virtual void callStatusChanged(std::string_view tenant_id, std::string_view sid,
                                 std::string_view status, int32_t duration_s, bool queued) = 0;
};

// Whether the queue operation at `queued` (if any) took the charge: then it is not charged
// after the commit too.
inline bool queuedIn(const storage::UnitResult& written,
                     const std::optional<storage::Unit::Index>& queued) {
  return queued.has_value() && written.result(*queued) != TG_UNIT_MISSING;
}

// Counts the events for /metrics and charges nothing (ChargingUsageEvents charges).
class CountingUsageEvents : public UsageEvents {
 public:
  std::optional<storage::Unit::Index> queueMessage(storage::Unit&,
                                                   const storage::Message&) override {
    return std::nullopt;
  }
  std::optional<storage::Unit::Index> queueCall(storage::Unit&, std::string_view, std::string_view,
                                                std::string_view, int32_t) override {
    return std::nullopt;
  }
  void messageReceived(const storage::Message&, bool) override { messages_received.fetch_add(1); }
  void messageStatusChanged(std::string_view, std::string_view, std::string_view,
                            int32_t) override {
    message_status_changes.fetch_add(1);
  }
  void callStatusChanged(std::string_view, std::string_view, std::string_view status, int32_t,
                         bool) override {
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
