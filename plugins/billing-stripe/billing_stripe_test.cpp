// billing-stripe through its entry symbol and the C ABI, on the SDK's fake host, which answers
// its HTTP requests as Stripe does (bodies shaped as in Stripe's API reference).
// tests/contract/billing_stripe_contract_test.cpp sends them to Prism serving Stripe's OpenAPI.
#include <gtest/gtest.h>
#include <tollgate/sdk/money.hpp>
#include <tollgate/testing/fake_host.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "stripe_api.hpp"

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace tollgate::plugins::billing {
namespace {

namespace fs = std::filesystem;

struct Answer {
  tg_status status = TG_OK;
  tg_payment_state state = 0;
  std::string ref, currency, failure, message;
  int64_t micros = 0;
};

const char* kCustomer =
    R"({"id":"cus_NffrFeUfNV2Hib","object":"customer","invoice_settings":{"custom_fields":null,
        "default_payment_method":"pm_1MqLiJLkdIwHu7ixUEgbFdYF","footer":null}})";

std::string paymentIntent(const std::string& status, int64_t received,
                          const std::string& error = "null") {
  return R"({"id":"pi_3MtwBwLkdIwHu7ix28a3tqPa","object":"payment_intent","amount":2000,
             "amount_received":)" +
         std::to_string(received) + R"(,"currency":"usd","status":")" + status +
         R"(","last_payment_error":)" + error + "}";
}

class BillingStripeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("billing-stripe-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "stripe.key") << "sk_test_4eC39HqLyjWDarjtT1zdp7dc\n";
    host_.state_dir = dir_.string();
    host_.settings = {{"secret_key_file", "stripe.key"},
                      {"base_url", "https://stripe.example/"},
                      {"stripe_version", "2023-08-16"}};
    host_.http = [this](const sdk::HttpRequest& r) -> sdk::HttpResponse {
      if (r.method == "GET") return {200, {}, customer_};
      return {status_, {}, answer_};
    };
  }
  void TearDown() override { fs::remove_all(dir_); }

  Answer charge(testing::FakeHost::Started& p, int64_t micros, const char* currency = "USD",
                const std::string& customer = "cus_NffrFeUfNV2Hib") {
    tg_billing_charge c{};
    c.struct_size = sizeof c;
    c.customer_ref = sdk::str(customer);
    c.amount.amount_micros = micros;
    std::strcpy(c.amount.currency, currency);
    c.idempotency_key = sdk::lit("topup:tn_1:k1");
    c.description = sdk::lit("Wallet top-up & more");
    return call(p, [&](const tg_billing_vtable* vt, tg_billing_result_sink s, tg_error* e) {
      return vt->charge(p.instance, host_.ctx("tn_1"), &c, s, e);
    });
  }
  template <class Fn>
  Answer call(testing::FakeHost::Started& p, Fn fn) {
    Answer a;
    tg_error err{};
    a.status = fn(p.vtable<tg_billing_vtable>(),
                  tg_billing_result_sink{&a,
                                         [](void* ctx, const tg_billing_result* r) {
                                           auto* out = static_cast<Answer*>(ctx);
                                           out->state = r->state;
                                           out->ref = std::string(sdk::view(r->provider_ref));
                                           out->micros = r->amount.amount_micros;
                                           out->currency = r->amount.currency;
                                           out->failure = std::string(sdk::view(r->failure));
                                         }},
                  &err);
    a.message = err.message;
    return a;
  }

  fs::path dir_;
  testing::FakeHost host_;
  std::string customer_ = kCustomer;
  int status_ = 200;
  std::string answer_ = paymentIntent("succeeded", 2000);
};

TEST_F(BillingStripeTest, ChargesTheDefaultPaymentMethodOffSessionWithTheKey) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  const Answer a = charge(p, 20'000'000);
  ASSERT_EQ(a.status, TG_OK) << a.message;
  EXPECT_EQ(a.state, TG_PAYMENT_SUCCEEDED);
  EXPECT_EQ(a.ref, "pi_3MtwBwLkdIwHu7ix28a3tqPa");
  EXPECT_EQ(a.micros, 20'000'000);
  EXPECT_EQ(a.currency, "USD");

  ASSERT_EQ(host_.http_requests.size(), 2u);
  const auto& get = host_.http_requests[0];
  EXPECT_EQ(get.method, "GET");
  EXPECT_EQ(get.url, "https://stripe.example/v1/customers/cus_NffrFeUfNV2Hib");
  const auto& post = host_.http_requests[1];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "https://stripe.example/v1/payment_intents");
  EXPECT_EQ(post.body,
            "amount=2000&currency=usd&customer=cus_NffrFeUfNV2Hib"
            "&payment_method=pm_1MqLiJLkdIwHu7ixUEgbFdYF&confirm=true&off_session=true"
            "&description=Wallet%20top-up%20%26%20more&metadata[tenant_id]=tn_1"
            "&metadata[tollgate_key]=topup%3Atn_1%3Ak1");
  const sdk::Headers want = {{"Authorization", "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc"},
                             {"Accept", "application/json"},
                             {"Content-Type", "application/x-www-form-urlencoded"},
                             {"Idempotency-Key", "topup:tn_1:k1"},
                             {"Stripe-Version", "2023-08-16"}};
  EXPECT_EQ(post.headers, want);
}

TEST_F(BillingStripeTest, ADeclineIsAFailedPaymentWithStripesReason) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  status_ = 402;
  answer_ = R"({"error":{"type":"card_error","code":"card_declined",
      "decline_code":"insufficient_funds","message":"Your card has insufficient funds.",
      "payment_intent":{"id":"pi_3Decline","status":"requires_payment_method"}}})";
  const Answer a = charge(p, 20'000'000);
  ASSERT_EQ(a.status, TG_OK) << a.message;
  EXPECT_EQ(a.state, TG_PAYMENT_FAILED);
  EXPECT_EQ(a.ref, "pi_3Decline");
  EXPECT_EQ(a.failure, "card_declined/insufficient_funds: Your card has insufficient funds.");
}

TEST_F(BillingStripeTest, MapsEveryPaymentIntentStatus) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  answer_ = paymentIntent("requires_action", 0);
  EXPECT_EQ(charge(p, 20'000'000).state, TG_PAYMENT_PENDING);
  answer_ = paymentIntent("processing", 0);
  EXPECT_EQ(charge(p, 20'000'000).state, TG_PAYMENT_PENDING);
  answer_ = paymentIntent("requires_payment_method", 0,
                          R"({"code":"card_declined","decline_code":"lost_card","message":"x"})");
  const Answer failed = charge(p, 20'000'000);
  EXPECT_EQ(failed.state, TG_PAYMENT_FAILED);
  EXPECT_EQ(failed.failure, "requires_payment_method: card_declined/lost_card: x");
  customer_ = R"({"id":"cus_1","invoice_settings":{"default_payment_method":null}})";
  const Answer none = charge(p, 20'000'000);
  EXPECT_EQ(none.state, TG_PAYMENT_FAILED);
  EXPECT_EQ(none.failure, "the customer has no default payment method");
}

TEST_F(BillingStripeTest, ErrorsSayWhetherARetryWithTheSameKeyIsSafe) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  for (const auto& [status, want] :
       std::vector<std::pair<int, tg_status>>{{429, TG_ERR_UNAVAILABLE},
                                              {500, TG_ERR_UNAVAILABLE},
                                              {401, TG_ERR_INTERNAL},
                                              {400, TG_ERR_INVALID_ARGUMENT},
                                              {409, TG_ERR_CONFLICT}}) {
    status_ = status;
    answer_ = R"({"error":{"type":"api_error","message":"boom"}})";
    const Answer a = charge(p, 20'000'000);
    EXPECT_EQ(a.status, want) << status;
    EXPECT_EQ(a.message, "Stripe answered " + std::to_string(status) + ": boom");
  }
  // The host could not tell whether the request reached Stripe: the status passes through, and
  // the core retries with the same key (Stripe answers a repeat with the first answer).
  host_.http = [](const sdk::HttpRequest& r) -> sdk::HttpResponse {
    if (r.method == "GET") return {200, {}, kCustomer};
    throw sdk::Error(TG_ERR_OUTCOME_UNKNOWN, "sent, no whole response");
  };
  EXPECT_EQ(charge(p, 20'000'000).status, TG_ERR_OUTCOME_UNKNOWN);
}

TEST_F(BillingStripeTest, AmountsInTheCurrencysMinorUnitExactly) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  const Answer cents = charge(p, 12'345);
  EXPECT_EQ(cents.status, TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cents.message,
            "amount_micros: 12345 is not a positive whole number of USD's minor unit");
  EXPECT_EQ(charge(p, 0).status, TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(charge(p, 20'000'000, "USD", "acct_1").status, TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sdk::toMinorUnits(1'500'000'000, "JPY"), 1500);
  EXPECT_EQ(sdk::toMinorUnits(1'500'500'000, "JPY"), std::nullopt);
  EXPECT_EQ(sdk::toMinorUnits(1'230'000, "KWD"), 1230);
  EXPECT_EQ(sdk::toMinorUnits(1'234'000, "KWD"), std::nullopt) << "three decimals: multiples of 10";
  EXPECT_EQ(sdk::fromMinorUnits(2000, "usd"), 20'000'000);
  EXPECT_EQ(sdk::fromMinorUnits(1500, "jpy"), 1'500'000'000);
  EXPECT_EQ(sdk::fromMinorUnits(INT64_MAX / 100, "USD"), std::nullopt);
}

TEST_F(BillingStripeTest, RefundsAPaymentIntentWithTheKey) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  answer_ = R"({"id":"re_1Nispe2eZvKYlo2Cd31jOCgZ","object":"refund","amount":500,
                "currency":"usd","payment_intent":"pi_1","status":"succeeded"})";
  tg_money m{.amount_micros = 5'000'000, .currency = "USD"};
  const Answer a = call(p, [&](const tg_billing_vtable* vt, tg_billing_result_sink s, tg_error* e) {
    return vt->refund(p.instance, host_.ctx("tn_1"), sdk::lit("pi_1"), m, sdk::lit("refund:k9"), s,
                      e);
  });
  ASSERT_EQ(a.status, TG_OK) << a.message;
  EXPECT_EQ(a.state, TG_PAYMENT_SUCCEEDED);
  EXPECT_EQ(a.ref, "re_1Nispe2eZvKYlo2Cd31jOCgZ");
  EXPECT_EQ(a.micros, 5'000'000);
  EXPECT_EQ(host_.http_requests.back().body,
            "payment_intent=pi_1&amount=500&metadata[tenant_id]=tn_1"
            "&metadata[tollgate_key]=refund%3Ak9");
}

TEST_F(BillingStripeTest, InitNamesTheSettingThatIsWrong) {
  std::ofstream(dir_ / "pk.key") << "pk_test_publishable\n";
  for (const auto& [file, says] : std::vector<std::pair<std::string, std::string>>{
           {"missing.key", "settings.secret_key_file: cannot read"},
           {"pk.key", "does not hold a Stripe secret or restricted key"}}) {
    host_.settings["secret_key_file"] = file;
    try {
      host_.start(tollgate_plugin_entry_v1());
      ADD_FAILURE() << file << " accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}

TEST(StripeFormTest, EncodesAsStripesLibrariesDo) {
  EXPECT_EQ(formEncode({{"metadata[note]", "a b&c=d+e/é"}, {"email", "x@y.z"}}),
            "metadata[note]=a%20b%26c%3Dd%2Be%2F%C3%A9&email=x%40y.z");
}

}  // namespace
}  // namespace tollgate::plugins::billing
