#include "numbers/address.hpp"

#include "numbers/routes.hpp"

namespace tollgate::numbers {

std::optional<PhoneAddress> parseAddress(std::string_view text) {
  constexpr std::string_view kWhatsapp = "whatsapp:";
  PhoneAddress a;
  if (text.substr(0, kWhatsapp.size()) == kWhatsapp) {
    a.channel = "whatsapp";
    text.remove_prefix(kWhatsapp.size());
  }
  if (!looksE164(text)) return std::nullopt;
  a.e164 = std::string(text);
  return a;
}

}  // namespace tollgate::numbers
