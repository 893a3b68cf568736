// The addresses Twilio puts in From and To: an E.164 number ("+14155550100"), or one on a
// channel ("whatsapp:+14155550100"). Routing and the opt-out registry key on the number alone,
// so a WhatsApp sender who says STOP is opted out on SMS too, as Twilio does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tollgate::numbers {

struct PhoneAddress {
  std::string channel;  // "" (SMS, voice) or "whatsapp"
  std::string e164;     // "+" and 2-15 digits
};

// Parses `text` as Twilio sends it; nullopt when it is not an E.164 number, bare or after a
// "whatsapp:" prefix (e.g. a short code, "client:alice", or anything longer than 15 digits).
std::optional<PhoneAddress> parseAddress(std::string_view text);

}  // namespace tollgate::numbers
