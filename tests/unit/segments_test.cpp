// SMS segment counting (messaging/segments.hpp), and the pace it sets (messaging/pace.hpp),
// against the rules carriers and Twilio use:
// GSM-7 160/153 septets with the extension table counted twice, UCS-2 70/67 code units, and no
// character split across segments.
#include "messaging/segments.hpp"

#include "messaging/pace.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "support/daemon.hpp"

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

// The same bodies counted by Twilio's own calculator (tests/node/segments.js): the edges above
// and a few hundred random mixes of ASCII, the GSM-7 extension table, Latin-1 letters GSM-7
// has and has not, Cyrillic and emoji.
TEST(SegmentsTest, AgreesWithTwiliosOwnCalculator) {
  // Not the empty body: ours is 0 segments, theirs 1; the send API refuses it (Twilio's 21602).
  std::vector<std::string> bodies = {"Hello world",        times("a", 160),
                                     times("a", 161),      times("a", 307),
                                     times("€", 81),       times("a", 152) + "€" + times("a", 152),
                                     times("ж", 71),       times("😀", 36),
                                     "a" + times("😀", 67), times("a", 69) + "`"};
  const std::vector<std::string> alphabet = {"a", "Z", " ", "7", "@", "€", "[",  "^", "é",
                                             "ç", "Ä", "à", "á", "ж", "😀", "\n", "{", "£"};
  std::mt19937 random(20261207);
  for (int i = 0; i < 300; ++i) {
    const size_t length = std::uniform_int_distribution<size_t>(1, 400)(random);
    // Mostly one alphabet, now and then another character: bodies near the boundaries.
    const size_t main = std::uniform_int_distribution<size_t>(0, 4)(random);
    std::string body;
    for (size_t k = 0; k < length; ++k) {
      const bool other = std::uniform_int_distribution<int>(0, 30)(random) == 0;
      body += alphabet[other ? std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(random)
                             : main];
    }
    bodies.push_back(body);
  }
  Poco::JSON::Array in;
  for (const std::string& b : bodies) in.add(b);
  const fs::path dir = makeTempDir("tollgate-segments-");
  std::ostringstream json;
  in.stringify(json);
  std::ofstream(dir / "bodies.json") << json.str();
  const Ran r =
      run({"/usr/bin/node", (fs::path(SOURCE_DIR) / "tests" / "node" / "segments.js").string(),
           (dir / "bodies.json").string()},
          dir);
  ASSERT_EQ(r.code, 0) << r.err << "\n(tests/node: npm ci, as scripts/test.sh does)";
  const auto out = Poco::JSON::Parser().parse(r.out).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(out->size(), bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    const auto theirs = out->getObject(static_cast<unsigned>(i));
    const Segments ours = countSegments(bodies[i]);
    EXPECT_EQ(ours.count, theirs->getValue<size_t>("segments"))
        << "body " << i << ": " << bodies[i];
    EXPECT_EQ(ours.encoding == Segments::Encoding::kGsm7 ? "GSM-7" : "UCS-2",
              theirs->getValue<std::string>("encoding"))
        << "body " << i << ": " << bodies[i];
  }
  fs::remove_all(dir);
}

// What a message takes of its sender's rate (messaging/pace.hpp): segments at the rate of its
// kind of number (libphonenumber tells toll-free from the rest), one MMS at the MMS rate.
TEST(PaceTest, AMessageTakesItsSegmentsAtItsSendersRate) {
  using messaging::SenderType;
  EXPECT_EQ(messaging::senderType("+18005550100"), SenderType::kTollFree);
  EXPECT_EQ(messaging::senderType("+18885550100"), SenderType::kTollFree);
  EXPECT_EQ(messaging::senderType("+14155550100"), SenderType::kLongCode);
  EXPECT_EQ(messaging::senderType("+442071838750"), SenderType::kLongCode);
  const messaging::SenderRates rates{.long_code_sps = 1, .toll_free_sps = 3, .mms_per_s = 2};
  EXPECT_EQ(messaging::paceUs(rates, SenderType::kLongCode, 1, false), 1'000'000);
  EXPECT_EQ(messaging::paceUs(rates, SenderType::kLongCode, 3, false), 3'000'000);
  EXPECT_EQ(messaging::paceUs(rates, SenderType::kTollFree, 1, false), 333'334) << "rounded up";
  EXPECT_EQ(messaging::paceUs(rates, SenderType::kTollFree, 0, false), 333'334) << "media only";
  EXPECT_EQ(messaging::paceUs(rates, SenderType::kLongCode, 5, true), 500'000) << "one MMS";
  const messaging::SenderRates unlimited{.long_code_sps = 0, .toll_free_sps = 0, .mms_per_s = 0};
  EXPECT_EQ(messaging::paceUs(unlimited, SenderType::kLongCode, 2, false), 0);
  EXPECT_EQ(messaging::paceUs(unlimited, SenderType::kTollFree, 1, true), 0);
}

}  // namespace
}  // namespace tollgate::testing
