// The addresses Twilio puts in From and To: a bare E.164 number or one after "whatsapp:".
#include "numbers/address.hpp"

#include <gtest/gtest.h>

namespace tollgate::numbers {
namespace {

TEST(AddressTest, WhatsappPrefixIsAChannelOverTheSameNumber) {
  auto a = parseAddress("whatsapp:+14155550100");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->channel, "whatsapp");
  EXPECT_EQ(a->e164, "+14155550100");
  auto b = parseAddress("+14155550100");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->channel, "");
  EXPECT_EQ(b->e164, "+14155550100");
}

TEST(AddressTest, AnythingElseIsNotAnAddress) {
  for (const char* bad : {"", "whatsapp:", "client:alice", "12345", "+0123", "whatsapp:14155550100",
                          "+1234567890123456", "WhatsApp:+14155550100", "+1415555O100",
                          "whatsapp:whatsapp:+14155550100", " +14155550100"}) {
    EXPECT_FALSE(parseAddress(bad)) << bad;
  }
}

}  // namespace
}  // namespace tollgate::numbers
