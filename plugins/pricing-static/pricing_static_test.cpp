// pricing-static through its entry symbol and the C ABI, on the SDK's fake host.
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "price_table.hpp"

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace tollgate::plugins::pricing {
namespace {

constexpr const char* kTable =
    "# country,number_type,product,price\n"
    "US,local,sms_out,0.0079\n"
    "US,*,sms_out,0.0083\n"
    "US,*,voice_in_minute,0.0085\n"
    "*,*,sms_out,0.05\n"
    "GB,mobile,number_month,1.00\r\n"
    "\n";

struct Price {
  tg_status status = TG_OK;
  int64_t micros = 0;
  std::string currency, message;
};

class PricingStaticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("pricing-static-" + std::to_string(::getpid()) + ".csv");
    writeTable(kTable);
    host_.settings["table"] = path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void writeTable(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }

  Price ask(testing::FakeHost::Started& p, tg_product product, const char* country,
            const std::string& type = "", const char* currency = "USD") {
    tg_price_query q{};
    q.struct_size = sizeof q;
    q.product = product;
    std::strncpy(q.country, country, sizeof q.country - 1);
    q.number_type = tg_str{type.data(), type.size()};
    std::strncpy(q.currency, currency, sizeof q.currency - 1);
    tg_money out{};
    tg_error err{};
    Price r;
    r.status = p.vtable<tg_pricing_vtable>()->price(p.instance, host_.ctx("tn_1"), &q, &out, &err);
    r.micros = out.amount_micros;
    r.currency = std::string(out.currency, strnlen(out.currency, 4));
    r.message = err.message;
    return r;
  }

  testing::FakeHost host_;
  std::filesystem::path path_;
};

TEST_F(PricingStaticTest, TheMostSpecificRowWinsAndNothingIsMadeUp) {
  auto p = host_.start(tollgate_plugin_entry_v1());
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local").micros, 7900);
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "toll-free").micros, 8300);  // US, *
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US").micros, 8300);
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "FR", "mobile").micros, 50000);  // *, *
  EXPECT_EQ(ask(p, TG_PRODUCT_NUMBER_MONTH, "GB", "mobile").micros, 1000000);
  EXPECT_EQ(ask(p, TG_PRODUCT_NUMBER_MONTH, "GB", "mobile").currency, "USD");
  // No row, no price: the caller decides, the plugin does not guess.
  EXPECT_EQ(ask(p, TG_PRODUCT_NUMBER_MONTH, "GB", "local").status, TG_ERR_NOT_FOUND);
  EXPECT_EQ(ask(p, TG_PRODUCT_VOICE_MINUTE_OUT, "US").status, TG_ERR_NOT_FOUND);
  // Another currency: no exchange rates here.
  const Price eur = ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local", "EUR");
  EXPECT_EQ(eur.status, TG_ERR_NOT_FOUND);
  EXPECT_NE(eur.message.find("prices are in USD"), std::string::npos) << eur.message;
}

TEST_F(PricingStaticTest, TheMarkupIsAPercentageRoundedUpThenAFixedAmount) {
  host_.settings["markup_percent"] = "12.5";
  host_.settings["markup_micros"] = "100";
  auto p = host_.start(tollgate_plugin_entry_v1());
  // 7900 * 1.125 = 8887.5 -> 8888, + 100.
  EXPECT_EQ(ask(p, TG_PRODUCT_SMS_SEGMENT_OUT, "US", "local").micros, 8988);
  // 1,000,000 * 1.125 = 1,125,000 exactly, + 100.
  EXPECT_EQ(ask(p, TG_PRODUCT_NUMBER_MONTH, "GB", "mobile").micros, 1125100);
}

TEST_F(PricingStaticTest, ABadTableOrSettingStopsInitNamingIt) {
  const auto refused = [&](const std::string& want) {
    try {
      host_.start(tollgate_plugin_entry_v1());
      ADD_FAILURE() << "init accepted it; wanted: " << want;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  writeTable("US,local,sms_out,0.0079\nUS,local,sms_out,0.0080\n");
  refused("line 2: the same country");
  writeTable("US,local,sms_out,-1\n");
  refused("line 1: price");
  writeTable("US,local,sms_out,0.00000001\n");
  refused("line 1: price");
  writeTable("usa,local,sms_out,1\n");
  refused("line 1: country");
  writeTable("US,local,mms_out,1\n");
  refused("line 1: product");
  writeTable("US,local,sms_out\n");
  refused("line 1: want country,number_type,product,price");
  writeTable(kTable);
  host_.settings["markup_percent"] = "1e3";
  refused("settings.markup_percent");
  host_.settings["markup_percent"] = "0";
  host_.settings["currency"] = "usd";
  refused("settings.currency");
  host_.settings["currency"] = "USD";
  host_.settings["table"] = path_.string() + ".missing";
  refused("settings.table: cannot read");
}

TEST(PriceArithmetic, DecimalsAreExactIntegers) {
  EXPECT_EQ(parseMicros("0.0079"), 7900);
  EXPECT_EQ(parseMicros("12"), 12000000);
  EXPECT_EQ(parseMicros("0.000001"), 1);
  EXPECT_FALSE(parseMicros("0.0000001"));
  EXPECT_FALSE(parseMicros("1."));
  EXPECT_FALSE(parseMicros(".5"));
  EXPECT_FALSE(parseMicros("1e-3"));
  EXPECT_EQ(parsePercentPpm("12.5"), 125000);
  EXPECT_EQ(parsePercentPpm("0.0001"), 1);
  EXPECT_FALSE(parsePercentPpm("1000.0001"));
  // Rounded up, never down: a markup never makes a price cheaper than its percentage says.
  EXPECT_EQ((Markup{.percent_ppm = 1, .fixed_micros = 0}.apply(1)), 2);
  EXPECT_EQ((Markup{.percent_ppm = 0, .fixed_micros = 0}.apply(7900)), 7900);
}

}  // namespace
}  // namespace tollgate::plugins::pricing
