#include "messaging/send_holds.hpp"

#include <spdlog/spdlog.h>

#include "tenancy/tenants.hpp"

namespace tollgate::messaging {

std::string sendHoldId(std::string_view message_id) { return "send:" + std::string(message_id); }

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
    const int64_t now = tenancy::nowMs();
    if (!capture) {
      store.applyHold(
          tenant_id,
          storage::HoldRequest{
              .action = TG_HOLD_RELEASE, .currency = currency, .hold_id = hold_id, .now_ms = now});
      return;
    }
    store.applyHold(tenant_id, storage::HoldRequest{.action = TG_HOLD_CAPTURE,
                                                    .currency = currency,
                                                    .hold_id = hold_id,
                                                    .amount_micros = held.front().amount_micros,
                                                    .kind = TG_ENTRY_SMS_USAGE,
                                                    .reference = message_id,
                                                    .description = description,
                                                    .expires_at_ms = 0,
                                                    .now_ms = now});
  } catch (const std::exception& e) {
    spdlog::warn("outbox: {} of tenant {}: hold {} not settled (left to its expiry): {}",
                 message_id, tenant_id, hold_id, e.what());
  }
}

}  // namespace tollgate::messaging
