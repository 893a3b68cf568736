// The billing core's pure parts: Stripe's signature check (the e2e test checks it against
// Stripe's own library; here the edges of the header), and what a call costs. And the core's
// answer for a provider without saved payment methods (billing-manual, loaded from its .so).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <unistd.h>

#include <filesystem>

#include "billing/billing.hpp"
#include "billing/stripe_webhooks.hpp"
#include "ledger/twilio_price.hpp"
#include "ledger/usage_charges.hpp"
#include "plugins/plugin_host.hpp"

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

// A provider without saved payment methods (billing-manual: the SDK's default) answers
// TG_ERR_UNSUPPORTED through the core, with the SDK's sentence, and nothing else happens.
// Twilio writes a charge as a negative decimal string; the unit's case varies ("USD", "usd").
TEST(TwilioChargeTest, ReadsTwiliosPriceAsAChargeInTheWalletsCurrency) {
  EXPECT_EQ(ledger::twilioCharge("-0.00790", "USD", "USD"), 7900);
  EXPECT_EQ(ledger::twilioCharge("-0.0170", "usd", "USD"), 17000);
  EXPECT_EQ(ledger::twilioCharge("0.00000", "USD", "USD"), 0);
  EXPECT_EQ(ledger::twilioCharge("-0.00790", "EUR", "USD"), std::nullopt) << "another currency";
  EXPECT_EQ(ledger::twilioCharge("0.0079", "USD", "USD"), std::nullopt) << "a credit";
  EXPECT_EQ(ledger::twilioCharge("", "USD", "USD"), std::nullopt);
  EXPECT_EQ(ledger::twilioCharge("-1e3", "USD", "USD"), std::nullopt);
}

TEST(PaymentMethodsTest, AProviderWithoutThemSaysUnsupported) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("billing-pm-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    plugins::PluginHost host(dir.string());
    plugins::PluginSpec spec;
    spec.config_file = "plugins.d/billing-manual.ini";
    spec.file = fs::path(TOLLGATE_PLUGIN_BUILD_DIR) / "billing-manual.so";
    ASSERT_FALSE(host.load(spec).has_value());
    plugins::Plugin* manual = host.find("billing-manual");
    ASSERT_NE(manual, nullptr);
    const Billing billing(host);
    MethodsRequest list;
    list.tenant_id = "tn_1";
    list.customer_ref = "manual:tn_1";
    const Methods m = billing.paymentMethods(*manual, list);
    EXPECT_EQ(m.status, TG_ERR_UNSUPPORTED);
    EXPECT_EQ(m.error, "payment_methods: this billing provider keeps no methods");
    EXPECT_TRUE(m.methods.empty());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::billing
