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

// A decimal amount ("0.0079", "-0.00790", "12") in micro-units, exactly: an optional '-', at
// most 12 whole digits and 6 decimals, digits on both sides of a '.'; nullopt otherwise (never a
// float on the way, as prices from Twilio's API and price tables are written).
inline std::optional<int64_t> decimalMicros(std::string_view text) noexcept {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  const auto digits = [](std::string_view d) {
    if (d.empty()) return false;
    for (const char c : d) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (!digits(whole) || whole.size() > 12 || (dot != std::string_view::npos && !digits(frac)) ||
      frac.size() > 6) {
    return std::nullopt;
  }
  int64_t out = 0;
  for (const char c : whole) out = out * 10 + (c - '0');
  int64_t f = 0;
  for (size_t i = 0; i < 6; ++i) f = f * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  out = out * 1'000'000 + f;
  return negative ? -out : out;
}

}  // namespace tollgate::sdk

#endif  // TOLLGATE_SDK_MONEY_HPP
