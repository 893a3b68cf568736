// Inputs the fuzz targets in tests/fuzz/ found, kept as plain tests so the g++ build checks them
// too. Each names the target and the oracle it broke; the inputs are also the targets'
// tests/fuzz/corpus/<target>/regression_* seeds.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "numbers/routes.hpp"

namespace tollgate::numbers {
namespace {

// fuzz_address, "normalizeE164 is a fixed point" (corpus/address/regression_netherlands_national_
// prefix): libphonenumber drops a national prefix written after the country code, so
// "+-3100520034;10051" normalised to +310520034, which normalises to +31520034 in turn. Neither
// is the number typed; it is refused.
TEST(FuzzRegressions, NormalizeRefusesANumberThatIsNotAFixedPoint) {
  EXPECT_EQ(normalizeE164("+-3100520034;10051"), std::nullopt);
  EXPECT_EQ(normalizeE164("+3100520034"), std::nullopt);
  // corpus/address/regression_egypt_national_prefix, the same with Egypt's prefix.
  EXPECT_EQ(normalizeE164("+200011U41]9]201"), std::nullopt);
  EXPECT_EQ(normalizeE164("+2000118419201"), std::nullopt);
}

// fuzz_address, "normalizeE164's output satisfies looksE164" (corpus/address/regression_sixteen_
// digits): some regions' possible lengths pass E.164's 15 digits; this gave the 16-digit
// +8266482616466666, which routing never matches.
TEST(FuzzRegressions, NormalizeRefusesMoreThanFifteenDigits) {
  EXPECT_EQ(normalizeE164("+826648261W6466666"), std::nullopt);
  EXPECT_EQ(normalizeE164("+8266482616466666"), std::nullopt);
}

// The fix keeps what normalisation is for: formatting and a national prefix in parentheses go,
// numbers already in E.164 stay as they are, and every result normalises to itself.
TEST(FuzzRegressions, NormalizeStillStripsFormatting) {
  EXPECT_EQ(normalizeE164("+1 (415) 555-0100"), std::optional<std::string>("+14155550100"));
  EXPECT_EQ(normalizeE164("+44 (0)20 7946 0000"), std::optional<std::string>("+442079460000"));
  EXPECT_EQ(normalizeE164("+31 020 1234567"), std::optional<std::string>("+31201234567"));
  EXPECT_EQ(normalizeE164("+39 06 1234 5678"), std::optional<std::string>("+390612345678"));
  EXPECT_EQ(normalizeE164("+34600111222"), std::optional<std::string>("+34600111222"));
  for (const char* e164 : {"+14155550100", "+442079460000", "+31201234567", "+390612345678"}) {
    EXPECT_EQ(normalizeE164(e164), std::optional<std::string>(e164)) << e164;
  }
}

}  // namespace
}  // namespace tollgate::numbers
