// The form parser against Twilio's wire format: '+' is a space, %XX a byte.
#include "twilio/form.hpp"

#include <gtest/gtest.h>

#include "support/twilio_forms.hpp"

namespace tollgate::twilio {
namespace {

using Pair = std::pair<std::string, std::string>;

TEST(FormTest, PlusIsASpaceAndEscapesAreBytes) {
  const Params p = parseForm("Body=a+b%2Bc&x=%E2%9C%93");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], (Pair{"Body", "a b+c"}));
  EXPECT_EQ(p[1], (Pair{"x", "\xE2\x9C\x93"}));  // U+2713
}

TEST(FormTest, TwilioCityAndCallerNamesDecode) {
  const Params p = parseForm("FromCity=SAN+FRANCISCO&CallerName=JOHN+Q+PUBLIC");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].second, "SAN FRANCISCO");
  EXPECT_EQ(p[1].second, "JOHN Q PUBLIC");
}

TEST(FormTest, NamesDecodeLikeValues) {
  const Params p = parseForm("a+b%5B0%5D=1");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], (Pair{"a b[0]", "1"}));
}

TEST(FormTest, RepeatsKeepTheirOrderAndEmptyPairsAreSkipped) {
  const Params p = parseForm("MediaUrl=a&&MediaUrl=b&flag&=v&e=");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0], (Pair{"MediaUrl", "a"}));
  EXPECT_EQ(p[1], (Pair{"MediaUrl", "b"}));
  EXPECT_EQ(p[2], (Pair{"flag", ""}));
  EXPECT_EQ(p[3], (Pair{"", "v"}));
  EXPECT_EQ(p[4], (Pair{"e", ""}));
  EXPECT_TRUE(parseForm("").empty());
  EXPECT_TRUE(parseForm("&&").empty());
}

TEST(FormTest, OnlyTheFirstEqualsSplits) {
  const Params p = parseForm("Body=1%3D1=2");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].second, "1=1=2");
}

TEST(FormTest, MalformedEscapesAreRefusedWithTheirOffset) {
  for (const char* bad : {"Body=%", "Body=%4", "Body=%zz", "B%G1=x", "Body=100%", "a=1&b=%x1"}) {
    EXPECT_THROW(parseForm(bad), FormError) << bad;
  }
  try {
    parseForm("a=1&b=%x1");
    FAIL();
  } catch (const FormError& e) {
    EXPECT_NE(std::string(e.what()).find("byte 6"), std::string::npos) << e.what();
  }
}

// The test forms are encoded as Twilio encodes them, and the parser takes back exactly what
// was encoded: every byte value, in names and values.
TEST(FormTest, TestEncoderRoundTripsEveryByteAndSendsSpacesAsPlus) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const Params sent = {{"Body", all}, {"A B", "x y"}, {"Body", "again"}};
  const std::string body = testing::formEncode(sent);
  EXPECT_NE(body.find("A+B=x+y"), std::string::npos) << body;
  EXPECT_EQ(body.find("%20"), std::string::npos) << body;
  EXPECT_EQ(parseForm(body), sent);
}

}  // namespace
}  // namespace tollgate::twilio
