// pricing-twilio loaded from its .so by the daemon's plugin host, whose http_request asks Prism
// serving Twilio's official Pricing OpenAPI files (tests/prism/prism.sh, started by
// scripts/test.sh). Prism refuses what the files do not allow (a missing Authorization, a
// wrong path), and answers with the files' examples, so a price from those examples is a
// request Twilio's contract accepts, read the way Twilio writes it.
#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plugins/plugin_host.hpp"

namespace tollgate::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string prism(const char* name) {
  const char* url = std::getenv(name);
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << name << " is not set: start Prism with `source tests/prism/prism.sh; "
                  << "prism_start` (scripts/test.sh does)";
    return "http://127.0.0.1:9";
  }
  return url;
}

struct Price {
  tg_status status = TG_OK;
  int64_t micros = 0;
  std::string message;
};

class PricingTwilioContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pricing-contract-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "token") << "contract-test-token\n";
    std::ofstream(dir_ / "prices.csv") << "*,*,sms_out,0.04\n";
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  void TearDown() override {
    host_.reset();
    fs::remove_all(dir_);
  }
  plugins::Plugin* load(const std::string& v1, const std::string& v2,
                        const std::string& fetch_timeout_ms = "1500") {
    plugins::PluginSpec spec;
    spec.config_file = "plugins.d/pricing-twilio.ini";
    spec.file = fs::path(TOLLGATE_PLUGIN_BUILD_DIR) / "pricing-twilio.so";
    spec.settings = {{"account_sid", "AC0123456789abcdef0123456789abcdef"},
                     {"auth_token_file", "token"},
                     {"base_url_v1", v1},
                     {"base_url_v2", v2},
                     {"fallback_table", "prices.csv"},
                     {"fetch_timeout_ms", fetch_timeout_ms}};
    host_ = std::make_unique<plugins::PluginHost>(dir_.string());
    const auto failure = host_->load(spec);
    if (failure) ADD_FAILURE() << failure->message;
    return host_->find("pricing-twilio");
  }
  Price ask(plugins::Plugin* p, tg_product product, const std::string& type,
            const std::string& number = "", int64_t deadline_ms = 5000) {
    tg_price_query q{};
    q.struct_size = sizeof q;
    q.product = product;
    std::strcpy(q.country, "US");
    q.number_type = tg_str{type.data(), type.size()};
    std::strcpy(q.currency, "USD");
    q.number = tg_str{number.data(), number.size()};
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const tg_call_ctx ctx{.struct_size = sizeof(tg_call_ctx),
                          .tenant_id = {"tn_1", 4},
                          .request_id = {"contract", 8},
                          .deadline_unix_ms = now + deadline_ms};
    tg_money out{};
    tg_error err{};
    Price r;
    r.status = p->vtable<tg_pricing_vtable>()->price(p->instance(), &ctx, &q, &out, &err);
    r.micros = out.amount_micros;
    r.message = err.message;
    return r;
  }

  fs::path dir_;
  std::ostringstream log_;
  std::unique_ptr<plugins::PluginHost> host_;
};

TEST_F(PricingTwilioContractTest, PricesFromTwilioPricingApiAsPrismServesIt) {
  auto* p = load(prism("TOLLGATE_TEST_PRISM_PRICING_V1"), prism("TOLLGATE_TEST_PRISM_PRICING_V2"));
  ASSERT_NE(p, nullptr);
  // The examples of twilio_pricing_v1.json and twilio_pricing_v2.json.
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "mobile").micros, 50000) << log_.str();
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_IN, "mobile").micros, 50000);
  EXPECT_EQ(ask(p, TG_PRODUCT_NUMBER_MONTH, "toll-free").micros, 2000000);
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_IN, "local").micros, 8500);
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_OUT, "", "+19075550100").micros, 90000);
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_OUT, "", "+18005550100").micros, 13000);
  EXPECT_EQ(log_.str().find("warn"), std::string::npos) << log_.str();
  EXPECT_EQ(p->metrics()["fetches"], 3);
}

TEST_F(PricingTwilioContractTest, FallsBackWhenTwilioIsUnreachable) {
  uint16_t closed = 0;
  {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    closed = s.address().port();
  }
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(closed);
  auto* p = load(nowhere, nowhere);
  ASSERT_NE(p, nullptr);
  const Price r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "mobile");
  EXPECT_EQ(r.status, TG_OK) << r.message;
  EXPECT_EQ(r.micros, 40000);
  EXPECT_NE(log_.str().find("warning [pricing-twilio] Twilio messaging prices for US: Twilio could "
                            "not be asked: http://127.0.0.1:" +
                            std::to_string(closed) + ": Connection refused"),
            std::string::npos)
      << log_.str();
}

// A Twilio that accepts the connection and never answers costs the call its own deadline, not
// the plugin's fetch timeout (10 s here): the host bounds the request by the call's deadline.
TEST_F(PricingTwilioContractTest, ASilentTwilioCostsNoMoreThanTheCallsDeadline) {
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));  // never accepts
  const std::string url = "http://127.0.0.1:" + std::to_string(silent.address().port());
  auto* p = load(url, url, "10000");
  ASSERT_NE(p, nullptr);
  const auto started = Clock::now();
  const Price r = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "mobile", "", 300);
  const auto took = Clock::now() - started;
  EXPECT_EQ(r.micros, 40000) << r.message;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(5)) << "bounded by the call, not the fetch timeout";
  EXPECT_NE(log_.str().find("sent, no whole response"), std::string::npos) << log_.str();
}

}  // namespace
}  // namespace tollgate::testing
