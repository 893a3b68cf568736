#include "ledger/twilio_price.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include <tollgate/sdk/money.hpp>

namespace tollgate::ledger {

std::optional<int64_t> twilioCharge(std::string_view price, std::string_view price_unit,
                                    std::string_view currency) {
  const std::optional<int64_t> micros = sdk::decimalMicros(price);
  std::string unit(price_unit);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (!micros || *micros > 0 || unit != currency) return std::nullopt;
  return -*micros;
}

void bookPriceDifference(storage::Store& store, const std::string& tenant_id,
                         const std::string& currency, const std::string& id, tg_entry_kind kind,
                         int64_t charged, int64_t twilio_charge, const std::string& what,
                         int64_t now_ms) {
  const int64_t back = charged - twilio_charge;
  if (back == 0) return;
  store.applyLedger(
      tenant_id, currency, "price:" + id,
      {storage::LedgerEntryIn{.kind = back > 0 ? TG_ENTRY_REFUND : kind,
                              .amount_micros = back,
                              .reference = id,
                              .description = fmt::format("{}: Twilio's price {} micros, {} charged",
                                                         what, twilio_charge, charged),
                              .country = {}}},
      now_ms, storage::Overdraft::kAllow);
}

}  // namespace tollgate::ledger
