// Values from the internet in log lines: quoted, escaped, truncated; and a log rate limit.
#include "ops/untrusted.hpp"

#include <gtest/gtest.h>

namespace tollgate::ops {
namespace {

TEST(UntrustedTest, EscapesWhatCouldForgeALine) {
  EXPECT_EQ(untrusted("+14155550100"), "\"+14155550100\"");
  EXPECT_EQ(untrusted("a\nb\r\tc\"d\\e"), "\"a\\nb\\r\\tc\\\"d\\\\e\"");
  EXPECT_EQ(untrusted(std::string("\x1b[31m\x00\x7f\xe2\x9c\x93", 10)),
            "\"\\x1b[31m\\x00\\x7f\\xe2\\x9c\\x93\"");
}

TEST(UntrustedTest, CutsLongValuesAndSaysHowLongTheyWere) {
  const std::string big(1 << 20, 'A');
  const std::string out = untrusted(big);
  EXPECT_EQ(out, "\"" + std::string(64, 'A') + "\"...(1048576 bytes)");
  EXPECT_EQ(untrusted("abcdef", 3), "\"abc\"...(6 bytes)");
}

TEST(LogLimiterTest, ABurstThenNothingWithoutRefill) {
  LogLimiter limiter(/*per_second=*/0.0, /*burst=*/3.0);  // never refills
  uint64_t dropped = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.allow(dropped));
    EXPECT_EQ(dropped, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.allow(dropped));
}

}  // namespace
}  // namespace tollgate::ops
