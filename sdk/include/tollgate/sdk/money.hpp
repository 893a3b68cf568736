// Tollgate plugin SDK: amounts in a currency's minor unit, the way card processors count them
// (Stripe: "the smallest currency unit"). Header-only, C++17; shared by the daemon and plugins.
#ifndef TOLLGATE_SDK_MONEY_HPP
#define TOLLGATE_SDK_MONEY_HPP

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tollgate::sdk {

// Micro-units in one minor unit of `currency` (ISO 4217, either case): 10,000 for a
// two-decimal currency (USD cents), 1,000,000 for a zero-decimal one (JPY), 1,000 for a
// three-decimal one (KWD). The zero- and three-decimal lists are Stripe's.
inline int64_t microsPerMinorUnit(std::string_view currency) noexcept {
  constexpr std::array<std::string_view, 16> kZeroDecimal = {
      "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
      "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
  constexpr std::array<std::string_view, 5> kThreeDecimal = {"BHD", "JOD", "KWD", "OMR", "TND"};
  char code[3] = {0, 0, 0};
  if (currency.size() != 3) return 10'000;
  for (size_t i = 0; i < 3; ++i) {
    const char c = currency[i];
    code[i] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  const std::string_view upper(code, 3);
  for (const auto z : kZeroDecimal) {
    if (z == upper) return 1'000'000;
  }
  for (const auto t : kThreeDecimal) {
    if (t == upper) return 1'000;
  }
  return 10'000;
}

// Micro-units as minor units; nullopt when they are not a whole number of them. Stripe wants a
// three-decimal amount as a multiple of 10 minor units, so those must be whole hundredths.
inline std::optional<int64_t> toMinorUnits(int64_t micros, std::string_view currency) noexcept {
  const int64_t step = microsPerMinorUnit(currency);
  if (step == 1'000 && micros % 10'000 != 0) return std::nullopt;
  if (micros % step != 0) return std::nullopt;
  return micros / step;
}

// Minor units as micro-units; nullopt if that would overflow.
inline std::optional<int64_t> fromMinorUnits(int64_t minor, std::string_view currency) noexcept {
  const int64_t step = microsPerMinorUnit(currency);
  if (minor > INT64_MAX / step || minor < INT64_MIN / step) return std::nullopt;
  return minor * step;
}

}  // namespace tollgate::sdk

#endif  // TOLLGATE_SDK_MONEY_HPP
