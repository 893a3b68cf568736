#include "ledger/usage_charges.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tenancy/tenants.hpp"

namespace tollgate::ledger {

int64_t ChargingUsageEvents::callCost(int64_t per_minute_micros, int32_t duration_s,
                                      bool per_second) {
  if (duration_s <= 0 || per_minute_micros <= 0) return 0;
  if (!per_second) return per_minute_micros * ((duration_s + 59) / 60);
  return (per_minute_micros * duration_s + 59) / 60;  // rounded up to the micro-unit
}

void ChargingUsageEvents::notCharged(const std::string& line) {
  unbilled.fetch_add(1, std::memory_order_relaxed);
  uint64_t dropped = 0;
  if (!log_limit_.allow(dropped)) return;
  if (dropped > 0) {
    spdlog::warn("{} ({} more usage not charged, not logged)", line, dropped);
  } else {
    spdlog::warn("{}", line);
  }
}

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

void ChargingUsageEvents::messageReceived(const storage::Message& m) {
  CountingUsageEvents::messageReceived(m);
  if (pricing_.plugin() == nullptr || m.direction != TG_DIRECTION_INBOUND) return;
  // An inbound SMS is priced by the country of the tenant's number that received it.
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
  charge(m.tenant_id, "usage:sms:" + m.sid, TG_ENTRY_SMS_USAGE, q.amount_micros * segments, m.sid,
         fmt::format("inbound SMS from {}, {} segment(s)", m.from_number, segments), q.country);
}

void ChargingUsageEvents::callStatusChanged(std::string_view tenant_id, std::string_view sid,
                                            std::string_view status, int32_t duration_s) {
  CountingUsageEvents::callStatusChanged(tenant_id, sid, status, duration_s);
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
  charge(std::string(tenant_id), "usage:call:" + std::string(sid), TG_ENTRY_VOICE_USAGE, cost,
         std::string(sid),
         fmt::format("{} call {} s, {} {}", inbound ? "inbound" : "outbound", duration_s,
                     voice_per_second_ ? "per second" : "per started minute",
                     inbound ? call->from_number : call->to_number),
         q.country);
}

}  // namespace tollgate::ledger
