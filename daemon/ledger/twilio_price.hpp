// Twilio's own price of a message or call, reconciled with what the tenant was charged for it
// (docs/adr/0014 "Prices"): one way for the outbox's messages and for calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace tollgate::ledger {

// What Twilio charged, in micro-units of `currency`, from its `price` and `price_unit` as its
// API writes them (a charge is a negative decimal: "-0.00790", "USD"); nullopt if it is not one
// to reconcile (not a decimal, another currency, a credit).
std::optional<int64_t> twilioCharge(std::string_view price, std::string_view price_unit,
                                    std::string_view currency);

// Books the difference between what was charged and Twilio's charge as one ledger entry keyed
// "price:<id>" (a second call finds the key applied and changes nothing): a refund when Twilio
// charged less, a charge of `kind` when more; below the credit limit if need be (the tenant has
// had the message or call). `what` names it in the entry's description.
void bookPriceDifference(storage::Store& store, const std::string& tenant_id,
                         const std::string& currency, const std::string& id, tg_entry_kind kind,
                         int64_t charged, int64_t twilio_charge, const std::string& what,
                         int64_t now_ms);

}  // namespace tollgate::ledger
