// pricing-twilio through its entry symbol and the C ABI, on the SDK's fake host, which answers
// the plugin's HTTP requests with Twilio's documents (the examples of Twilio's OpenAPI files).
// tests/plugins/pricing_twilio_contract_test.cpp asks Prism serving those files through the
// daemon's real host instead.
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "twilio_prices.hpp"

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace tollgate::plugins::pricing {
namespace {

namespace fs = std::filesystem;
constexpr const char* kSid = "AC0123456789abcdef0123456789abcdef";

// Twilio's documents for US, as in the OpenAPI files' examples, with a second carrier.
const std::map<std::string, std::string> kDocs = {
    {"/v1/Messaging/Countries/US",
     R"({"country":"United States","iso_country":"US","price_unit":"USD",
        "inbound_sms_prices":[{"number_type":"local","base_price":"0.0079","current_price":"0.0079"},
                              {"number_type":"toll free","base_price":"0.0079","current_price":"0.0075"}],
        "outbound_sms_prices":[
          {"carrier":"att","mcc":"310","mnc":"410","prices":[
             {"number_type":"local","base_price":"0.0079","current_price":"0.0079"},
             {"number_type":"toll free","base_price":"0.0079","current_price":"0.0079"}]},
          {"carrier":"tmobile","mcc":"310","mnc":"260","prices":[
             {"number_type":"local","base_price":"0.0083","current_price":"0.0083"}]}],
        "url":"https://pricing.twilio.com/v1/Messaging/Countries/US"})"},
    {"/v2/Voice/Countries/US",
     R"({"country":"United States","iso_country":"US","price_unit":"USD",
        "inbound_call_prices":[{"base_price":"0.0085","current_price":"0.0085","number_type":"local"},
                               {"base_price":"0.022","current_price":"0.022","number_type":"toll free"}],
        "outbound_prefix_prices":[
          {"base_price":"0.090","current_price":"0.090","destination_prefixes":["1907"],
           "friendly_name":"Alaska","origination_prefixes":["ALL"]},
          {"base_price":"0.013","current_price":"0.013","destination_prefixes":["1"],
           "friendly_name":"United States & Canada","origination_prefixes":["ALL"]}],
        "url":"https://pricing.twilio.com/v2/Voice/Countries/US"})"},
    {"/v1/PhoneNumbers/Countries/US",
     R"({"country":"United States","iso_country":"US","price_unit":"USD",
        "phone_number_prices":[{"number_type":"local","base_price":"1.15","current_price":"1.15"},
                               {"number_type":"toll free","base_price":2.15,"current_price":2.15}],
        "url":"https://pricing.twilio.com/v1/PhoneNumbers/Countries/US"})"},
};

struct Price {
  tg_status status = TG_OK;
  int64_t micros = 0;
  std::string currency, message;
};

class PricingTwilioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pricing-twilio-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "token") << "secret-token\n";
    std::ofstream(dir_ / "prices.csv") << "US,*,sms_out,0.05\n*,*,number_month,3.00\n";
    host_.state_dir = dir_.string();
    host_.settings = {{"account_sid", kSid},
                      {"auth_token_file", "token"},
                      {"base_url_v1", "https://pricing.example/"},
                      {"base_url_v2", "https://pricing2.example"},
                      {"fallback_table", "prices.csv"}};
    host_.http = [this](const sdk::HttpRequest& r) { return twilio(r); };
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Twilio, as the fake host's network: kDocs by path, unless a test says otherwise.
  sdk::HttpResponse twilio(const sdk::HttpRequest& r) {
    if (down_) throw sdk::Error(TG_ERR_UNAVAILABLE, "connection refused");
    if (status_ != 200) return sdk::HttpResponse{status_, {}, R"({"code":20500})"};
    const auto path = r.url.substr(r.url.find('/', 8));
    auto it = kDocs.find(path);
    if (it == kDocs.end()) return sdk::HttpResponse{404, {}, R"({"code":20404})"};
    return sdk::HttpResponse{200, {{"Content-Type", "application/json"}}, it->second};
  }

  Price ask(testing::FakeHost::Started& p, tg_product product, const char* country,
            const std::string& type = "", const std::string& number = "",
            const char* currency = "USD") {
    tg_price_query q{};
    q.struct_size = sizeof q;
    q.product = product;
    std::strncpy(q.country, country, sizeof q.country - 1);
    q.number_type = tg_str{type.data(), type.size()};
    std::strncpy(q.currency, currency, sizeof q.currency - 1);
    q.number = tg_str{number.data(), number.size()};
    tg_money out{};
    tg_error err{};
    Price r;
    r.status = p.vtable<tg_pricing_vtable>()->price(p.instance, host_.ctx("tn_1"), &q, &out, &err);
    r.micros = out.amount_micros;
    r.currency = std::string(out.currency, strnlen(out.currency, 4));
    r.message = err.message;
    return r;
  }
  size_t fetches() const { return host_.http_requests.size(); }
  std::vector<std::string> logs(int32_t level) const {
    std::vector<std::string> out;
    for (const auto& l : host_.logs) {
      if (l.level == level) out.push_back(l.message);
    }
    return out;
  }

  fs::path dir_;
  testing::FakeHost host_;
  bool down_ = false;
  int status_ = 200;
};

TEST_F(PricingTwilioTest, PricesEachProductFromTwilioWithTheMarkup) {
  host_.settings["markup_percent"] = "10";
  host_.settings["markup_micros"] = "100";
  auto p = host_.start(tollgate_plugin_entry_v1());
  // Outbound SMS: the dearest carrier for the sender's type (the carrier is not known yet).
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local").micros, 8300 + 830 + 100);
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "toll-free").micros, 7900 + 790 + 100);
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_IN, "US", "toll-free").micros, 7500 + 750 + 100);
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_IN, "US").micros, 7900 + 790 + 100) << "the dearest";
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_IN, "US", "local").micros, 8500 + 850 + 100);
  // Outbound voice by the longest destination prefix; the dearest without a number.
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_OUT, "US", "", "+19075550100").micros,
            90000 + 9000 + 100);
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_OUT, "US", "", "+14155550100").micros,
            13000 + 1300 + 100);
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_OUT, "US").micros, 90000 + 9000 + 100);
  // A price sent as a JSON number is read as its decimal text: 2.15 is 2,150,000 exactly.
  const Price number = ask(p, TG_PRODUCT_NUMBER_MONTH, "US", "toll-free");
  EXPECT_EQ(number.micros, 2150000 + 215000 + 100);
  EXPECT_EQ(number.currency, "USD");

  ASSERT_EQ(fetches(), 3u) << "one request per document";
  std::set<std::string> urls;
  for (const auto& r : host_.http_requests) {
    urls.insert(r.url);
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.timeout_ms, 1500);
    // "AC0123456789abcdef0123456789abcdef:secret-token", base64.
    EXPECT_NE(
        std::find(r.headers.begin(), r.headers.end(),
                  std::pair<std::string, std::string>{
                      "Authorization",
                      "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzZWNyZXQtdG9rZW4="}),
        r.headers.end());
  }
  EXPECT_EQ(urls, (std::set<std::string>{"https://pricing.example/v1/Messaging/Countries/US",
                                         "https://pricing2.example/v2/Voice/Countries/US",
                                         "https://pricing.example/v1/PhoneNumbers/Countries/US"}));
}

TEST_F(PricingTwilioTest, KeepsEachDocumentForTheTtlThenAsksAgain) {
  host_.settings["cache_ttl_s"] = "3600";
  auto p = host_.start(tollgate_plugin_entry_v1());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local").micros, 8300);
  EXPECT_EQ(fetches(), 1u);
  host_.now_ms += 3599 * 1000;
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_IN, "US", "local").micros, 7900);
  EXPECT_EQ(fetches(), 1u);
  host_.now_ms += 1000;
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_IN, "US", "local").micros, 7900);
  EXPECT_EQ(fetches(), 2u);
  EXPECT_TRUE(logs(TG_LOG_WARN).empty());
}

// Twilio down before anything was fetched: the fallback table answers, the log says so once,
// and Twilio is asked again only after retry_after_failure_s; when it answers, the log says so.
TEST_F(PricingTwilioTest, FallsBackToTheTableWhileTwilioIsDownAndSaysSoOnce) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  down_ = true;
  for (int i = 0; i < 3; ++i) {
    const Price r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local");
    EXPECT_EQ(r.status, TG_OK) << r.message;
    EXPECT_EQ(r.micros, 50000);
  }
  EXPECT_EQ(fetches(), 1u) << "no request per call during an outage";
  ASSERT_EQ(logs(TG_LOG_WARN).size(), 1u);
  EXPECT_EQ(logs(TG_LOG_WARN)[0],
            "Twilio messaging prices for US: Twilio could not be asked: connection refused; "
            "using the fallback table");
  EXPECT_EQ(host_.metrics["fallback_answers"], 3);
  EXPECT_EQ(host_.metrics["fetch_failures"], 1);

  down_ = false;
  host_.now_ms += 60 * 1000;
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local").micros, 8300);
  EXPECT_EQ(fetches(), 2u);
  EXPECT_EQ(logs(TG_LOG_INFO).back(), "Twilio messaging prices for US: Twilio answers again");
}

TEST_F(PricingTwilioTest, PrefersPricesFetchedBeforeToTheTable) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local").micros, 8300);
  host_.now_ms += 25 * 3600 * 1000;
  status_ = 503;
  const Price r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local");
  EXPECT_EQ(r.micros, 8300) << r.message;
  ASSERT_EQ(logs(TG_LOG_WARN).size(), 1u);
  EXPECT_EQ(logs(TG_LOG_WARN)[0],
            "Twilio messaging prices for US: Twilio answered 503: {\"code\":20500}; using the "
            "prices fetched 90000 s ago");
}

TEST_F(PricingTwilioTest, ANonsenseDocumentIsAFailureNotAPrice) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  host_.http = [](const sdk::HttpRequest&) {
    return sdk::HttpResponse{200, {}, R"({"price_unit":"USD","inbound_sms_prices":[
        {"number_type":"local","current_price":"-0.01"}]})"};
  };
  const Price r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local");
  EXPECT_EQ(r.micros, 50000) << "the fallback table";
  EXPECT_NE(
      logs(TG_LOG_WARN)
          .at(0)
          .find(
              "inbound_sms_prices[0].current_price: '-0.01' is not a price of at most 6 decimals"),
      std::string::npos)
      << logs(TG_LOG_WARN).at(0);
}

TEST_F(PricingTwilioTest, SaysWhatItHasNoPriceFor) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  Price r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "ZZ", "local");
  EXPECT_EQ(r.status, TG_ERR_NOT_FOUND);
  EXPECT_EQ(r.message, "pricing-twilio: Twilio has no prices for ZZ");
  r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "short-code");
  EXPECT_EQ(r.status, TG_ERR_NOT_FOUND);
  EXPECT_EQ(r.message, "pricing-twilio: Twilio has no price for product 1 (short-code) in US");
  r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local", "", "EUR");
  EXPECT_EQ(r.status, TG_ERR_NOT_FOUND);
  EXPECT_EQ(r.message, "pricing-twilio: Twilio's prices for US are in USD, not EUR");
  r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "us", "local");
  EXPECT_EQ(r.status, TG_ERR_INVALID_ARGUMENT);
  // Down, and the table has nothing for it either.
  down_ = true;
  r = ask(p, TG_PRODUCT_VOICE_MINUTE_IN, "GB", "local");
  EXPECT_EQ(r.status, TG_ERR_UNAVAILABLE);
  EXPECT_EQ(r.message,
            "pricing-twilio: no voice prices for GB: Twilio could not be asked: connection "
            "refused, and the fallback table has none");
}

TEST_F(PricingTwilioTest, InitNamesTheSettingThatIsWrong) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad = {
      {{{"account_sid", "AC123"}}, "settings.account_sid: 'AC123' is not an account SID"},
      {{{"auth_token_file", "missing"}}, "settings.auth_token_file: cannot read"},
      {{{"base_url_v1", "ftp://x"}}, "settings.base_url_v1: 'ftp://x' is not an http(s) URL"},
      {{{"cache_ttl_s", "0"}}, "settings.cache_ttl_s: '0' must be a whole number > 0"},
      {{{"fallback_table", "nope.csv"}}, "settings.fallback_table: cannot read"},
      {{{"markup_percent", "x"}}, "settings.markup_percent: 'x' must be from 0 to 1000"},
  };
  const auto good = host_.settings;
  for (const auto& [changes, says] : bad) {
    host_.settings = good;
    for (const auto& [k, v] : changes) host_.settings[k] = v;
    try {
      host_.start(tollgate_plugin_entry_v1());
      ADD_FAILURE() << says << ": accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}

TEST(TwilioPricesTest, ReadsTheDocumentsOfTheOpenApiExamples) {
  // The v2 voice example of twilio_pricing_v2.json, shortened.
  const CountryPrices v = parseTwilioPrices(TwilioDoc::kVoice, kDocs.at("/v2/Voice/Countries/US"));
  EXPECT_EQ(v.currency, "USD");
  ASSERT_EQ(v.prefixes.size(), 2u);
  EXPECT_EQ(v.prefixes[0].prefix, "1907");
  EXPECT_EQ(v.prefixes[0].micros, 90000);
  EXPECT_EQ(queryType("Toll Free"), "toll-free");
  EXPECT_THROW(parseTwilioPrices(TwilioDoc::kNumbers, "[]"), std::runtime_error);
  EXPECT_THROW(parseTwilioPrices(TwilioDoc::kNumbers, R"({"price_unit":"USD",
      "phone_number_prices":[{"number_type":"local","current_price":1e-7}]})"),
               std::runtime_error);
}

}  // namespace
}  // namespace tollgate::plugins::pricing
