// The billing core's pure parts: Stripe's signature check (the e2e test checks it against
// Stripe's own library; here the edges of the header), and what a call costs.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <openssl/hmac.h>

#include "billing/stripe_webhooks.hpp"
#include "ledger/usage_charges.hpp"

namespace tollgate::billing {
namespace {

std::string v1(const std::string& secret, const std::string& signed_payload) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_payload.data()), signed_payload.size(), out,
       &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

TEST(StripeSignatureTest, ReadsTheHeaderAsStripeWritesIt) {
  const std::vector<std::string> secrets = {"whsec_a"};
  const std::string body = R"({"id":"evt_1"})";
  const std::string good = v1("whsec_a", "1700000000." + body);
  const auto check = [&](const std::string& header, int64_t now = 1700000000) {
    return checkStripeSignature(header, body, secrets, now, 300);
  };
  EXPECT_EQ(check("t=1700000000,v1=" + good), "");
  EXPECT_EQ(check("t=1700000000, v1=" + good), "") << "a space after the comma";
  EXPECT_EQ(check("v1=" + good + ",t=1700000000"), "") << "any order";
  EXPECT_EQ(check("t=1700000000,v1=" + good, 1700000300), "") << "at the tolerance";
  EXPECT_NE(check("t=1700000000,v1=" + good, 1700000301), "");
  EXPECT_NE(check("t=1700000000,v1=" + good.substr(0, 63)), "") << "a truncated signature";
  EXPECT_NE(check("t=1700000000,v0=" + good), "") << "v0 is not a v1";
  EXPECT_NE(check("t=17e8,v1=" + good), "");
  EXPECT_NE(check("t=,v1=" + good), "");
  EXPECT_EQ(checkStripeSignature("t=1700000000,v1=" + good, body, {"whsec_b", "whsec_a"},
                                 1700000000, 300),
            "")
      << "the second of two secrets";
  EXPECT_NE(checkStripeSignature("t=1700000000,v1=" + good, body, {}, 1700000000, 300), "");
}

TEST(CallCostTest, PerStartedMinuteOrPerSecondRoundedUp) {
  using ledger::ChargingUsageEvents;
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, 0, false), 0);
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, 1, false), 8500);
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, 60, false), 8500);
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, 61, false), 17000);
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, 61, true), 8642) << "8500 * 61 / 60 = 8641.67";
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, 60, true), 8500);
  EXPECT_EQ(ChargingUsageEvents::callCost(8500, -1, true), 0);
}

}  // namespace
}  // namespace tollgate::billing
