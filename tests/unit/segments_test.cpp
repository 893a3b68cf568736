// SMS segment counting (messaging/segments.hpp) against the rules carriers and Twilio use:
// GSM-7 160/153 septets with the extension table counted twice, UCS-2 70/67 code units, and no
// character split across segments.
#include "messaging/segments.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::testing {
namespace {

using messaging::countSegments;
using messaging::Segments;

std::string times(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(SegmentsTest, Gsm7Is160SeptetsInOneSegmentAnd153EachInSeveral) {
  EXPECT_EQ(countSegments("").count, 0u);
  EXPECT_EQ(countSegments(times("a", 160)).count, 1u);
  EXPECT_EQ(countSegments(times("a", 161)).count, 2u);
  EXPECT_EQ(countSegments(times("a", 306)).count, 2u);
  EXPECT_EQ(countSegments(times("a", 307)).count, 3u);
  const Segments s = countSegments("Hello @home, £5 & Ü?");
  EXPECT_EQ(s.encoding, Segments::Encoding::kGsm7);
  EXPECT_EQ(s.characters, 20u);
  EXPECT_EQ(s.units, 20u);
}

TEST(SegmentsTest, TheExtensionTableCountsTwoSeptetsAndIsNeverSplit) {
  EXPECT_EQ(countSegments(times("€", 80)).units, 160u);
  EXPECT_EQ(countSegments(times("€", 80)).count, 1u);
  EXPECT_EQ(countSegments(times("€", 81)).count, 2u);
  EXPECT_EQ(countSegments("{[~]}|^\\\f").units, 18u);
  // 152 + 2 + 152 = 306 septets: two segments of 153 by arithmetic, but the € cannot start in
  // the first segment's last septet, so it takes three.
  const Segments s = countSegments(times("a", 152) + "€" + times("a", 152));
  EXPECT_EQ(s.encoding, Segments::Encoding::kGsm7);
  EXPECT_EQ(s.units, 306u);
  EXPECT_EQ(s.count, 3u);
}

TEST(SegmentsTest, OneCharacterOutsideGsm7MakesTheWholeBodyUcs2) {
  EXPECT_EQ(countSegments(times("ж", 70)).count, 1u);
  EXPECT_EQ(countSegments(times("ж", 71)).count, 2u);
  EXPECT_EQ(countSegments(times("ж", 134)).count, 2u);
  EXPECT_EQ(countSegments(times("ж", 135)).count, 3u);
  const Segments s = countSegments(times("a", 69) + "`");  // the backtick is not GSM-7
  EXPECT_EQ(s.encoding, Segments::Encoding::kUcs2);
  EXPECT_EQ(s.units, 70u);
  EXPECT_EQ(s.count, 1u);
}

TEST(SegmentsTest, ACharacterPastTheBmpIsTwoUnitsAndNeverSplit) {
  EXPECT_EQ(countSegments(times("😀", 35)).units, 70u);
  EXPECT_EQ(countSegments(times("😀", 35)).count, 1u);
  EXPECT_EQ(countSegments(times("😀", 35)).characters, 35u);
  // 72 units: 33 pairs (66 units) fit the first 67, the 34th goes whole into the second.
  EXPECT_EQ(countSegments(times("😀", 36)).count, 2u);
  EXPECT_EQ(countSegments("a" + times("😀", 67)).count, 3u) << "1 + 66 | 66 | 2 units";
}

TEST(SegmentsTest, ABodyThatIsNotUtf8IsRefusedNamingTheByte) {
  for (const std::string bad : {std::string("ab\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80")}) {
    try {
      countSegments(bad);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("not UTF-8 at byte"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace tollgate::testing
