// billing-stripe through its entry symbol and the C ABI, on the SDK's fake host, which answers
// its HTTP requests as Stripe does (bodies shaped as in Stripe's API reference).
// tests/contract/billing_stripe_contract_test.cpp sends them to Prism serving Stripe's OpenAPI.
#include <gtest/gtest.h>
#include <tollgate/sdk/money.hpp>
#include <tollgate/testing/fake_host.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

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

// ---- a customer's saved payment methods (ABI 1.6) ----

std::string card(const std::string& id, const std::string& customer, const std::string& brand,
                 const std::string& last4, int month, int year) {
  return R"({"id":")" + id + R"(","object":"payment_method","type":"card","customer":)" +
         (customer.empty() ? std::string("null") : "\"" + customer + "\"") +
         R"(,"card":{"brand":")" + brand + R"(","country":"US","exp_month":)" +
         std::to_string(month) + R"(,"exp_year":)" + std::to_string(year) + R"(,"funding":"credit",
         "last4":")" +
         last4 + R"("}})";
}

// Stripe, answering by method and path; anything else is Stripe's 404.
class PaymentMethodsTest : public BillingStripeTest {
 protected:
  void SetUp() override {
    BillingStripeTest::SetUp();
    host_.http = [this](const sdk::HttpRequest& r) -> sdk::HttpResponse {
      const std::string path = r.url.substr(std::strlen("https://stripe.example"));
      const auto it = stripe_.find(r.method + " " + path);
      if (it != stripe_.end()) return it->second;
      return {404, {}, R"({"error":{"type":"invalid_request_error","code":"resource_missing",
                       "message":"No such thing"}})"};
    };
  }
  testing::PaymentMethodsAnswer methods(testing::FakeHost::Started& p, tg_payment_method_action a,
                                        const std::string& method = "",
                                        const std::string& key = "pm:tn_1:k1",
                                        bool make_default = false) {
    testing::PaymentMethodsCall c;
    c.action = a;
    c.customer_ref = "cus_NffrFeUfNV2Hib";
    c.method_ref = method;
    c.make_default = make_default;
    c.idempotency_key = key;
    return testing::callPaymentMethods(host_, p, c, "tn_1");
  }
  std::vector<std::string> posts() const {
    std::vector<std::string> out;
    for (const auto& r : host_.http_requests) {
      if (r.method == "POST") out.push_back(r.url);
    }
    return out;
  }
  static std::string key(const sdk::HttpRequest& r) {
    for (const auto& [n, v] : r.headers) {
      if (n == "Idempotency-Key") return v;
    }
    return {};
  }

  std::map<std::string, sdk::HttpResponse> stripe_ = {
      {"GET /v1/customers/cus_NffrFeUfNV2Hib", {200, {}, kCustomer}},
      {"GET /v1/payment_methods/pm_1MqLiJLkdIwHu7ixUEgbFdYF",
       {200,
        {},
        card("pm_1MqLiJLkdIwHu7ixUEgbFdYF", "cus_NffrFeUfNV2Hib", "visa", "4242", 8, 2031)}},
      {"GET /v1/payment_methods/pm_Other",
       {200, {}, card("pm_Other", "cus_SomeoneElse", "visa", "1881", 1, 2030)}},
      {"GET /v1/payment_methods/pm_Loose",
       {200, {}, card("pm_Loose", "", "visa", "0005", 1, 2030)}},
  };
};

TEST_F(PaymentMethodsTest, ListsEveryCardTheDefaultFirstWithBrandLastFourAndExpiry) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  // Stripe's order (newest first); the default (kCustomer's) is the second.
  stripe_["GET /v1/customers/cus_NffrFeUfNV2Hib/payment_methods?type=card&limit=100"] = {
      200,
      {},
      R"({"object":"list","url":"/v1/customers/cus_NffrFeUfNV2Hib/payment_methods","has_more":false,
          "data":[)" +
          card("pm_New", "cus_NffrFeUfNV2Hib", "mastercard", "4444", 12, 2032) + "," +
          card("pm_1MqLiJLkdIwHu7ixUEgbFdYF", "cus_NffrFeUfNV2Hib", "visa", "4242", 8, 2031) +
          R"(,{"id":"pm_NoCard","object":"payment_method","type":"card","customer":"cus_NffrFeUfNV2Hib","card":null}]})"};
  const auto a = methods(p, TG_PM_LIST, "", "");
  ASSERT_EQ(a.status, TG_OK) << a.error;
  ASSERT_EQ(a.methods.size(), 3u);
  EXPECT_EQ(a.methods[0].ref, "pm_1MqLiJLkdIwHu7ixUEgbFdYF");
  EXPECT_TRUE(a.methods[0].is_default);
  EXPECT_EQ(a.methods[0].brand, "visa");
  EXPECT_EQ(a.methods[0].last4, "4242");
  EXPECT_EQ(a.methods[0].exp_month, 8);
  EXPECT_EQ(a.methods[0].exp_year, 2031);
  EXPECT_EQ(a.methods[1].ref, "pm_New");
  EXPECT_FALSE(a.methods[1].is_default);
  EXPECT_EQ(a.methods[1].brand, "mastercard");
  EXPECT_EQ(a.methods[1].last4, "4444");
  EXPECT_EQ(a.methods[1].exp_month, 12);
  EXPECT_EQ(a.methods[1].exp_year, 2032);
  EXPECT_EQ(a.methods[2].ref, "pm_NoCard");
  EXPECT_EQ(a.methods[2].brand, "");
  EXPECT_EQ(a.methods[2].exp_year, 0);

  ASSERT_EQ(host_.http_requests.size(), 2u);
  EXPECT_EQ(host_.http_requests[0].method, "GET");
  EXPECT_EQ(host_.http_requests[0].url, "https://stripe.example/v1/customers/cus_NffrFeUfNV2Hib");
  EXPECT_EQ(host_.http_requests[1].method, "GET");
  EXPECT_EQ(host_.http_requests[1].url,
            "https://stripe.example/v1/customers/cus_NffrFeUfNV2Hib/payment_methods"
            "?type=card&limit=100");
}

TEST_F(PaymentMethodsTest, ListsPageAfterPage) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  const std::string list =
      "GET /v1/customers/cus_NffrFeUfNV2Hib/payment_methods?type=card&limit=100";
  stripe_[list] = {200,
                   {},
                   R"({"object":"list","has_more":true,"data":[)" +
                       card("pm_A", "cus_NffrFeUfNV2Hib", "visa", "1111", 1, 2030) + "]}"};
  stripe_[list + "&starting_after=pm_A"] = {
      200,
      {},
      R"({"object":"list","has_more":false,"data":[)" +
          card("pm_B", "cus_NffrFeUfNV2Hib", "amex", "0005", 2, 2031) + "]}"};
  const auto a = methods(p, TG_PM_LIST, "", "");
  ASSERT_EQ(a.status, TG_OK) << a.error;
  ASSERT_EQ(a.methods.size(), 2u);
  EXPECT_EQ(a.methods[0].ref, "pm_A");
  EXPECT_EQ(a.methods[1].ref, "pm_B");
  EXPECT_EQ(host_.http_requests.size(), 3u);
}

TEST_F(PaymentMethodsTest, AttachWithMakeDefaultSendsTwoPostsWithTheirOwnKeys) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  stripe_["POST /v1/payment_methods/pm_New/attach"] = {
      200, {}, card("pm_New", "cus_NffrFeUfNV2Hib", "mastercard", "4444", 12, 2032)};
  stripe_["POST /v1/customers/cus_NffrFeUfNV2Hib"] = {200, {}, kCustomer};
  const auto a = methods(p, TG_PM_ATTACH, "pm_New", "pm:tn_1:k1", true);
  ASSERT_EQ(a.status, TG_OK) << a.error;
  ASSERT_EQ(a.methods.size(), 1u);
  EXPECT_EQ(a.methods[0].ref, "pm_New");
  EXPECT_EQ(a.methods[0].brand, "mastercard");
  EXPECT_EQ(a.methods[0].last4, "4444");
  EXPECT_TRUE(a.methods[0].is_default);

  ASSERT_EQ(host_.http_requests.size(), 2u);
  const auto& attach = host_.http_requests[0];
  EXPECT_EQ(attach.method, "POST");
  EXPECT_EQ(attach.url, "https://stripe.example/v1/payment_methods/pm_New/attach");
  EXPECT_EQ(attach.body, "customer=cus_NffrFeUfNV2Hib");
  EXPECT_EQ(key(attach), "pm:tn_1:k1");
  const auto& make_default = host_.http_requests[1];
  EXPECT_EQ(make_default.method, "POST");
  EXPECT_EQ(make_default.url, "https://stripe.example/v1/customers/cus_NffrFeUfNV2Hib");
  EXPECT_EQ(make_default.body, "invoice_settings[default_payment_method]=pm_New");
  EXPECT_EQ(key(make_default), "pm:tn_1:k1:default");

  // Without make_default: the attach alone, and the method is not the default.
  host_.http_requests.clear();
  const auto b = methods(p, TG_PM_ATTACH, "pm_New", "pm:tn_1:k2");
  ASSERT_EQ(b.status, TG_OK) << b.error;
  EXPECT_FALSE(b.methods.at(0).is_default);
  EXPECT_EQ(posts(),
            std::vector<std::string>{"https://stripe.example/v1/payment_methods/pm_New/attach"});
}

TEST_F(PaymentMethodsTest, ADeclinedCardOnAttachIsAnInvalidMethodRef) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  stripe_["POST /v1/payment_methods/pm_Declined/attach"] = {
      402, {}, R"({"error":{"type":"card_error","code":"card_declined",
                  "decline_code":"generic_decline","message":"Your card was declined.",
                  "param":""}})"};
  const auto a = methods(p, TG_PM_ATTACH, "pm_Declined", "pm:tn_1:k1", true);
  EXPECT_EQ(a.status, TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(a.error, "method_ref: card_declined/generic_decline: Your card was declined.");
  EXPECT_EQ(posts().size(), 1u) << "not made the default";
}

TEST_F(PaymentMethodsTest, SetDefaultAndDetachChangeOnlyTheCustomersOwnMethods) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  for (const tg_payment_method_action action : {TG_PM_SET_DEFAULT, TG_PM_DETACH}) {
    for (const std::string method : {"pm_Other", "pm_Loose", "pm_Missing"}) {
      host_.http_requests.clear();
      const auto a = methods(p, action, method);
      EXPECT_EQ(a.status, TG_ERR_NOT_FOUND) << action << " " << method;
      EXPECT_TRUE(a.methods.empty());
      EXPECT_EQ(posts(), std::vector<std::string>{}) << action << " " << method;
    }
  }
  EXPECT_EQ(methods(p, TG_PM_DETACH, "pm_Other").error,
            "method_ref: pm_Other is not a payment method of cus_NffrFeUfNV2Hib");
}

TEST_F(PaymentMethodsTest, SetsTheDefault) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  stripe_["POST /v1/customers/cus_NffrFeUfNV2Hib"] = {200, {}, kCustomer};
  const auto a = methods(p, TG_PM_SET_DEFAULT, "pm_1MqLiJLkdIwHu7ixUEgbFdYF", "pm:tn_1:d1");
  ASSERT_EQ(a.status, TG_OK) << a.error;
  ASSERT_EQ(a.methods.size(), 1u);
  EXPECT_TRUE(a.methods[0].is_default);
  EXPECT_EQ(a.methods[0].last4, "4242");
  ASSERT_EQ(host_.http_requests.size(), 2u);
  EXPECT_EQ(host_.http_requests[0].url,
            "https://stripe.example/v1/payment_methods/pm_1MqLiJLkdIwHu7ixUEgbFdYF");
  EXPECT_EQ(host_.http_requests[1].body,
            "invoice_settings[default_payment_method]=pm_1MqLiJLkdIwHu7ixUEgbFdYF");
  EXPECT_EQ(key(host_.http_requests[1]), "pm:tn_1:d1");
}

TEST_F(PaymentMethodsTest, DetachesAndSaysWhatTheMethodWas) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  stripe_["POST /v1/payment_methods/pm_1MqLiJLkdIwHu7ixUEgbFdYF/detach"] = {
      200, {}, card("pm_1MqLiJLkdIwHu7ixUEgbFdYF", "", "visa", "4242", 8, 2031)};
  const auto a = methods(p, TG_PM_DETACH, "pm_1MqLiJLkdIwHu7ixUEgbFdYF", "pm:tn_1:x1");
  ASSERT_EQ(a.status, TG_OK) << a.error;
  ASSERT_EQ(a.methods.size(), 1u);
  EXPECT_TRUE(a.methods[0].is_default) << "it was the customer's default";
  EXPECT_EQ(a.methods[0].brand, "visa");
  ASSERT_EQ(posts(),
            std::vector<std::string>{
                "https://stripe.example/v1/payment_methods/pm_1MqLiJLkdIwHu7ixUEgbFdYF/detach"});
  EXPECT_EQ(key(host_.http_requests.back()), "pm:tn_1:x1");
  EXPECT_EQ(host_.http_requests.back().body, "");
}

TEST_F(PaymentMethodsTest, RefsThatWouldLeaveTheirPathAreRefusedBeforeAnyRequest) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  const auto call = [&](const std::string& customer, tg_payment_method_action action,
                        const std::string& method, const std::string& key) {
    testing::PaymentMethodsCall c;
    c.action = action;
    c.customer_ref = customer;
    c.method_ref = method;
    c.idempotency_key = key;
    return testing::callPaymentMethods(host_, p, c, "tn_1");
  };
  struct Case {
    std::string customer;
    tg_payment_method_action action;
    std::string method, key, field;
  };
  for (const Case& c : std::vector<Case>{
           {"cus_1/../../v1/charges", TG_PM_LIST, "", "", "customer_ref: "},
           {"cus_1?expand[]=sources", TG_PM_LIST, "", "", "customer_ref: "},
           {"cus_", TG_PM_LIST, "", "", "customer_ref: "},
           {"acct_1", TG_PM_LIST, "", "", "customer_ref: "},
           {"cus_1", TG_PM_ATTACH, "pm_1/detach", "k", "method_ref: "},
           {"cus_1", TG_PM_SET_DEFAULT, "pm_1?customer=cus_2", "k", "method_ref: "},
           {"cus_1", TG_PM_DETACH, "pm_1%2F", "k", "method_ref: "},
           {"cus_1", TG_PM_DETACH, "card_1", "k", "method_ref: "},
           {"cus_1", TG_PM_DETACH, "", "k", "method_ref: "},
           {"cus_1", TG_PM_ATTACH, "pm_1", "", "idempotency_key: required"},
           {"cus_1", 99, "pm_1", "k", "action: 99"},
       }) {
    const auto a = call(c.customer, c.action, c.method, c.key);
    EXPECT_EQ(a.status, TG_ERR_INVALID_ARGUMENT) << c.customer << " " << c.method;
    EXPECT_EQ(a.error.rfind(c.field, 0), 0u) << a.error;
  }
  EXPECT_TRUE(host_.http_requests.empty());
  // The same check guards the charge's GET of the customer.
  EXPECT_EQ(charge(p, 20'000'000, "USD", "cus_1/../x").status, TG_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(host_.http_requests.empty());
}

TEST_F(PaymentMethodsTest, StripesErrorsMapAsForCharges) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  stripe_.erase("GET /v1/customers/cus_NffrFeUfNV2Hib");
  const auto missing = methods(p, TG_PM_LIST, "", "");
  EXPECT_EQ(missing.status, TG_ERR_NOT_FOUND);
  EXPECT_EQ(missing.error, "Stripe answered 404: resource_missing: No such thing");
  stripe_["GET /v1/customers/cus_NffrFeUfNV2Hib"] = {
      200, {}, R"({"id":"cus_NffrFeUfNV2Hib","object":"customer","deleted":true})"};
  EXPECT_EQ(methods(p, TG_PM_LIST, "", "").status, TG_ERR_NOT_FOUND);
  stripe_["POST /v1/payment_methods/pm_New/attach"] = {
      503, {}, R"({"error":{"type":"api_error","message":"try later"}})"};
  EXPECT_EQ(methods(p, TG_PM_ATTACH, "pm_New").status, TG_ERR_UNAVAILABLE);
}

TEST(StripePaymentMethodTest, ReadsTheCardAndTheCustomerIdOrExpandedObject) {
  const StripePaymentMethod m = parsePaymentMethod(
      R"({"id":"pm_1","customer":{"id":"cus_9","object":"customer"},
          "card":{"brand":"amex","last4":"8431","exp_month":3,"exp_year":2029}})");
  EXPECT_EQ(m.id, "pm_1");
  EXPECT_EQ(m.customer, "cus_9");
  EXPECT_EQ(m.brand, "amex");
  EXPECT_EQ(m.last4, "8431");
  EXPECT_EQ(m.exp_month, 3);
  EXPECT_EQ(m.exp_year, 2029);
  const StripePaymentMethod bare = parsePaymentMethod(R"({"id":"pm_2","customer":null})");
  EXPECT_EQ(bare.customer, "");
  EXPECT_EQ(bare.brand, "");
  EXPECT_EQ(bare.exp_month, 0);
  EXPECT_THROW(parsePaymentMethodList(R"({"object":"list"})"), std::runtime_error);
}

TEST(StripeFormTest, EncodesAsStripesLibrariesDo) {
  EXPECT_EQ(formEncode({{"metadata[note]", "a b&c=d+e/é"}, {"email", "x@y.z"}}),
            "metadata[note]=a%20b%26c%3Dd%2Be%2F%C3%A9&email=x%40y.z");
}

}  // namespace
}  // namespace tollgate::plugins::billing
