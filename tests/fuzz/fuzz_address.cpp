// numbers::parseAddress, looksE164 and normalizeE164 (libphonenumber). Oracles:
//   - looksE164 accepts exactly \+[1-9][0-9]{1,14} and parseAddress exactly
//     (whatsapp:)?\+[1-9][0-9]{1,14}, checked with a hand-written matcher; an accepted address
//     has channel "whatsapp" iff it had the prefix, and e164 is the text after the prefix;
//   - normalizeE164 never throws, and what it returns satisfies looksE164 and is a fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "check.hpp"
#include "numbers/address.hpp"
#include "numbers/routes.hpp"

namespace {

using tollgate::numbers::looksE164;
using tollgate::numbers::normalizeE164;
using tollgate::numbers::parseAddress;

bool matchesE164(std::string_view s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  for (size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  FUZZ_CHECK(looksE164(input) == matchesE164(input));

  constexpr std::string_view kPrefix = "whatsapp:";
  const bool prefixed = input.substr(0, kPrefix.size()) == kPrefix;
  const std::string_view number = prefixed ? input.substr(kPrefix.size()) : input;
  const auto address = parseAddress(input);
  FUZZ_CHECK(address.has_value() == matchesE164(number));
  if (address) {
    FUZZ_CHECK(address->e164 == number);
    FUZZ_CHECK(address->channel == (prefixed ? "whatsapp" : ""));
  }

  const std::optional<std::string> normalized = normalizeE164(input);
  if (normalized) {
    FUZZ_CHECK(looksE164(*normalized));
    FUZZ_CHECK(normalizeE164(*normalized) == normalized);
  }
  return 0;
}
