#include "messaging/send_holds.hpp"

#include <spdlog/spdlog.h>

#include "tenancy/tenants.hpp"

namespace tollgate::messaging {

std::string sendHoldId(std::string_view message_id) { return "send:" + std::string(message_id); }

storage::HoldRequest sendHoldSettlement(const std::string& message_id, const std::string& hold_id,
                                        const std::string& currency, bool capture,
                                        int64_t amount_micros, const std::string& description,
                                        int64_t now_ms) {
  if (!capture) {
    return storage::HoldRequest{
        .action = TG_HOLD_RELEASE, .currency = currency, .hold_id = hold_id, .now_ms = now_ms};
  }
  return storage::HoldRequest{.action = TG_HOLD_CAPTURE,
                              .currency = currency,
                              .hold_id = hold_id,
                              .amount_micros = amount_micros,
                              .kind = TG_ENTRY_SMS_USAGE,
                              .reference = message_id,
                              .description = description,
                              .expires_at_ms = 0,
                              .now_ms = now_ms};
}

void settleSendHold(storage::Store& store, const std::string& tenant_id,
                    const std::string& message_id, const std::string& hold_id,
                    const std::string& currency, bool capture, const std::string& description) {
  if (hold_id.empty() || currency.empty()) return;
  try {
    const auto held = store.holds(tenant_id, storage::HoldQuery{.currency = currency,
                                                                .status = TG_HOLD_ACTIVE,
                                                                .hold_id = hold_id,
                                                                .after_id = {},
                                                                .limit = 1});
    if (held.empty()) return;  // captured or released already
    store.applyHold(tenant_id,
                    sendHoldSettlement(message_id, hold_id, currency, capture,
                                       held.front().amount_micros, description, tenancy::nowMs()));
  } catch (const std::exception& e) {
    spdlog::warn("outbox: {} of tenant {}: hold {} not settled (left to its expiry): {}",
                 message_id, tenant_id, hold_id, e.what());
  }
}

}  // namespace tollgate::messaging
