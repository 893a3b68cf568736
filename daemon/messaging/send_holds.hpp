// The ledger hold that reserves a send's price (docs/adr/0014): reserved by the send API, named
// after the message, charged once Twilio has the message, released when Twilio refused it.
#pragma once

#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace tollgate::messaging {

std::string sendHoldId(std::string_view message_id);

// The request that settles a send's hold: a capture of `amount_micros` (what it reserved), or
// a release.
storage::HoldRequest sendHoldSettlement(const std::string& message_id, const std::string& hold_id,
                                        const std::string& currency, bool capture,
                                        int64_t amount_micros, const std::string& description,
                                        int64_t now_ms);

// Charges (capture) or releases the hold `hold_id` of tenant_id's message if it is still
// active; a settled one, or none, changes nothing. A failure is logged, and the hold is left to
// its expiry.
void settleSendHold(storage::Store& store, const std::string& tenant_id,
                    const std::string& message_id, const std::string& hold_id,
                    const std::string& currency, bool capture, const std::string& description);

}  // namespace tollgate::messaging
