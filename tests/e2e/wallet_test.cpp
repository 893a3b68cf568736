// The prepaid wallet end to end: created with the tenant from [billing], moved by admin credits
// and debits through tollgatectl, seen by the tenant, and audited by `tollgatectl ledger verify`,
// which must catch a ledger tampered with behind the daemon's back.
#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/fixture.hpp"

namespace tollgate::testing {
namespace {

using WalletTest = DaemonFixture;

std::string tenantCreated(const Ran& r) {
  EXPECT_EQ(r.code, 0) << r.err;
  return json(r.out)->getValue<std::string>("id");
}

TEST_F(WalletTest, TopUpDebitAndAuditThroughTollgatectl) {
  start();
  waitReady();
  const std::string acme = tenantCreated(ctl({"tenant", "create", "Acme"}));

  // The wallet comes with the tenant: empty, in the configured currency (USD by default).
  Ran shown = ctl({"wallet", "show", acme});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(json(shown.out)->getValue<std::string>("currency"), "USD");
  EXPECT_EQ(json(shown.out)->getValue<int64_t>("balance_micros"), 0);

  // A top-up, then its retry: applied once, and the retry answers exactly as the first did.
  const Ran credit = ctl({"wallet", "credit", acme, "50.00", "--reason", "prepaid", "--key", "k1"});
  ASSERT_EQ(credit.code, 0) << credit.err;
  EXPECT_EQ(json(credit.out)->getValue<int64_t>("balance_after_micros"), 50'000'000);
  const Ran again = ctl({"wallet", "credit", acme, "50.00", "--reason", "prepaid", "--key", "k1"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, credit.out);
  // The same key for another amount is refused, naming the key.
  const Ran reused = ctl({"wallet", "credit", acme, "60", "--reason", "prepaid", "--key", "k1"});
  EXPECT_EQ(reused.code, 1);
  EXPECT_NE(reused.err.find("409"), std::string::npos) << reused.err;

  // A debit to the micro-unit; one past the balance is refused (402) and writes nothing.
  const Ran debit =
      ctl({"wallet", "debit", acme, "12.345678", "--reason", "correction", "--key", "d1"});
  ASSERT_EQ(debit.code, 0) << debit.err;
  EXPECT_EQ(json(debit.out)->getValue<int64_t>("balance_after_micros"), 37'654'322);
  const Ran over =
      ctl({"wallet", "debit", acme, "37.654323", "--reason", "too much", "--key", "d2"});
  EXPECT_EQ(over.code, 1);
  EXPECT_NE(over.err.find("402"), std::string::npos) << over.err;

  // Bad input: a clear 400 naming the field.
  const auto bad =
      http(port_, "POST", "/admin/v1/tenants/" + acme + "/wallet/credits",
           R"({"amount_micros": 1.5, "reason": "x", "idempotency_key": "b1"})", bearer(adminKey()));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json(bad.body)->getObject("error")->getValue<std::string>("field"), "amount_micros");
  for (const std::string body :
       {R"({"amount_micros": 9223372036854775807, "reason": "x", "idempotency_key": "b2"})",
        R"({"amount_micros": 1e30, "reason": "x", "idempotency_key": "b3"})",
        R"({"amount_micros": 100, "reason": "", "idempotency_key": "b4"})",
        R"({"amount_micros": 100, "reason": "x"})", R"({"amount_micros": 100)"}) {
    const auto r = http(port_, "POST", "/admin/v1/tenants/" + acme + "/wallet/credits", body,
                        bearer(adminKey()));
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }

  // The tenant sees its own wallet and entries with its key.
  const std::string key = json(ctl({"key", "issue", acme}).out)->getValue<std::string>("key");
  const auto mine = http(port_, "GET", "/v1/wallet", "", bearer(key));
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(json(mine.body)->getValue<int64_t>("balance_micros"), 37'654'322);
  const auto entries = http(port_, "GET", "/v1/wallet/entries", "", bearer(key));
  ASSERT_EQ(entries.status, 200) << entries.body;
  auto list = json(entries.body)->getArray("entries");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("type"), "topup");
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("type"), "adjustment");
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("description"), "correction");

  // The audit is clean...
  const Ran clean = ctl({"ledger", "verify"});
  EXPECT_EQ(clean.code, 0) << clean.out << clean.err;
  EXPECT_TRUE(json(clean.out)->getValue<bool>("consistent"));
  EXPECT_EQ(json(clean.out)->getValue<int64_t>("entries_checked"), 2);

  // ...until the balance is changed behind the daemon's back,
  ASSERT_EQ(sql("UPDATE wallets SET balance_micros = balance_micros + 1").code, 0);
  const Ran balance = ctl({"ledger", "verify", acme});
  EXPECT_EQ(balance.code, 3) << balance.out << balance.err;
  EXPECT_NE(balance.out.find("its entries sum to 37654322"), std::string::npos) << balance.out;
  ASSERT_EQ(sql("UPDATE wallets SET balance_micros = balance_micros - 1").code, 0);
  // or an entry's balance_after.
  ASSERT_EQ(sql("UPDATE ledger_entries SET balance_after_micros = 1 WHERE amount_micros > 0").code,
            0);
  const Ran entry = ctl({"ledger", "verify"});
  EXPECT_EQ(entry.code, 3) << entry.out << entry.err;
  EXPECT_NE(entry.out.find("balance_after is 1;"), std::string::npos) << entry.out;
}

TEST_F(WalletTest, TheConfiguredCurrencyAndCreditLimitApplyAndAMissingWalletIsMadeAtStart) {
  writeMainIni("[billing]\ncurrency = EUR\ncredit_limit_micros = 1000000\n");
  start();
  waitReady();
  const std::string t = tenantCreated(ctl({"tenant", "create", "Bravo"}));
  const Ran shown = ctl({"wallet", "show", t});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(json(shown.out)->getValue<std::string>("currency"), "EUR");
  // Down to -1.00 and no further.
  EXPECT_EQ(ctl({"wallet", "debit", t, "1", "--reason", "r", "--key", "a"}).code, 0);
  EXPECT_EQ(ctl({"wallet", "debit", t, "0.000001", "--reason", "r", "--key", "b"}).code, 1);

  // A tenant left without its wallet (a crash between the two writes) gets it at the next start.
  const std::string c = tenantCreated(ctl({"tenant", "create", "Charlie"}));
  daemon_->stopCleanly();
  ASSERT_EQ(sql("DELETE FROM wallets WHERE tenant_id = '" + c + "'").code, 0);
  start();
  waitReady();
  const Ran back = ctl({"wallet", "show", c});
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(json(back.out)->getValue<int64_t>("balance_micros"), 0);
}

// Holds end to end: an admin reserves an estimate, the tenant sees it held, the actual amount
// is captured as SMS usage (the rest released), an unused hold expires by itself through the
// daemon's sweeper; entries filter by type, usage sums by month and type, and the audit
// checks the held total against the active holds.
TEST_F(WalletTest, HoldsUsageAndFiltersThroughTheApi) {
  writeMainIni("[billing]\nhold_sweep_ms = 100\n");
  start();
  waitReady();
  const std::string acme = tenantCreated(ctl({"tenant", "create", "Acme"}));
  ASSERT_EQ(ctl({"wallet", "credit", acme, "10", "--reason", "prepaid", "--key", "k1"}).code, 0);
  const std::string key = json(ctl({"key", "issue", acme}).out)->getValue<std::string>("key");
  const std::string holds = "/admin/v1/tenants/" + acme + "/wallet/holds";
  const auto admin = bearer(adminKey());

  const std::string reserve =
      R"({"hold_id": "sms-1", "amount_micros": 6000000, "expires_in_s": 3600, "reference": "x"})";
  const auto held = http(port_, "POST", holds, reserve, admin);
  ASSERT_EQ(held.status, 201) << held.body;
  EXPECT_EQ(json(held.body)->getValue<std::string>("status"), "active");
  EXPECT_EQ(json(held.body)->getValue<int64_t>("available_micros"), 4'000'000);
  const auto wallet = json(http(port_, "GET", "/v1/wallet", "", bearer(key)).body);
  EXPECT_EQ(wallet->getValue<int64_t>("balance_micros"), 10'000'000);
  EXPECT_EQ(wallet->getValue<int64_t>("held_micros"), 6'000'000);
  EXPECT_EQ(wallet->getValue<int64_t>("available_micros"), 4'000'000);
  // What is held cannot be spent twice: a debit past the available balance is refused.
  const Ran over = ctl({"wallet", "debit", acme, "4.000001", "--reason", "r", "--key", "d1"});
  EXPECT_EQ(over.code, 1);
  EXPECT_NE(over.err.find("402"), std::string::npos) << over.err;
  // The same reserve again answers the same; another amount under the id is a conflict.
  const auto again = http(port_, "POST", holds, reserve, admin);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, held.body);
  EXPECT_EQ(
      http(port_, "POST", holds,
           R"({"hold_id": "sms-1", "amount_micros": 1, "expires_in_s": 3600, "reference": "x"})",
           admin)
          .status,
      409);
  const auto bad = http(port_, "POST", holds,
                        R"({"hold_id": "sms:1", "amount_micros": 1, "expires_in_s": 60})", admin);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json(bad.body)->getObject("error")->getValue<std::string>("field"), "hold_id");

  // Capture the actual 2.50 as SMS usage: the other 3.50 goes back.
  const std::string capture = R"({"amount_micros": 2500000, "type": "sms_usage"})";
  const auto captured = http(port_, "POST", holds + "/sms-1/capture", capture, admin);
  ASSERT_EQ(captured.status, 200) << captured.body;
  EXPECT_EQ(json(captured.body)->getValue<std::string>("status"), "captured");
  EXPECT_EQ(json(captured.body)->getValue<int64_t>("balance_micros"), 7'500'000);
  EXPECT_EQ(json(captured.body)->getValue<int64_t>("available_micros"), 7'500'000);
  EXPECT_EQ(http(port_, "POST", holds + "/sms-1/capture", capture, admin).body, captured.body);
  const auto late = http(port_, "POST", holds + "/sms-1/release", "", admin);
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(json(late.body)->getObject("error")->getValue<std::string>("code"), "hold_not_active");

  // A hold nobody captures is released at its expiry by the sweeper.
  ASSERT_EQ(http(port_, "POST", holds,
                 R"({"hold_id": "call-1", "amount_micros": 1000000, "expires_in_s": 1})", admin)
                .status,
            201);
  bool expired = false;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       !expired && std::chrono::steady_clock::now() < end;) {
    const auto list =
        json(http(port_, "GET", "/v1/wallet/holds?status=expired", "", bearer(key)).body);
    expired = list->getArray("holds")->size() == 1;
    if (!expired) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(expired) << "the sweeper never released the expired hold";
  const auto all = json(http(port_, "GET", "/v1/wallet/holds", "", bearer(key)).body);
  ASSERT_EQ(all->getArray("holds")->size(), 2u);
  EXPECT_EQ(all->getValue<int64_t>("held_micros"), 0);

  // Entries by type; a type that does not exist is a 400 naming it.
  const auto sms =
      json(http(port_, "GET", "/v1/wallet/entries?type=sms_usage", "", bearer(key)).body);
  ASSERT_EQ(sms->getArray("entries")->size(), 1u);
  EXPECT_EQ(sms->getArray("entries")->getObject(0)->getValue<int64_t>("amount_micros"), -2'500'000);
  const auto wrong = http(port_, "GET", "/v1/wallet/entries?type=sms", "", bearer(key));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(json(wrong.body)->getObject("error")->getValue<std::string>("field"), "type");
  const auto future = json(
      http(port_, "GET", "/v1/wallet/entries?from=2999-01-01T00:00:00Z", "", bearer(key)).body);
  EXPECT_EQ(future->getArray("entries")->size(), 0u);

  // Usage this month: one top-up, one SMS.
  const auto usage = http(port_, "GET", "/v1/wallet/usage?period=month", "", bearer(key));
  ASSERT_EQ(usage.status, 200) << usage.body;
  const auto periods = json(usage.body)->getArray("periods");
  ASSERT_EQ(periods->size(), 1u);
  const auto by = periods->getObject(0)->getObject("by_type");
  EXPECT_EQ(by->getObject("topup")->getValue<int64_t>("total_micros"), 10'000'000);
  EXPECT_EQ(by->getObject("sms_usage")->getValue<int64_t>("count"), 1);
  EXPECT_EQ(periods->getObject(0)->getValue<int64_t>("net_micros"), 7'500'000);
  EXPECT_EQ(http(port_, "GET", "/v1/wallet/usage?period=week", "", bearer(key)).status, 400);
  const Ran usage_ctl = ctl({"wallet", "usage", acme, "--period", "month"});
  EXPECT_EQ(usage_ctl.code, 0) << usage_ctl.err;
  EXPECT_NE(usage_ctl.out.find(R"("sms_usage":{"count":1,"total_micros":-2500000})"),
            std::string::npos)
      << usage_ctl.out;

  // The audit checks the held total too.
  const Ran clean = ctl({"ledger", "verify", acme});
  EXPECT_EQ(clean.code, 0) << clean.out << clean.err;
  ASSERT_EQ(sql("UPDATE wallets SET held_micros = 5").code, 0);
  const Ran tampered = ctl({"ledger", "verify", acme});
  EXPECT_EQ(tampered.code, 3) << tampered.out << tampered.err;
  EXPECT_NE(tampered.out.find("the held total is 5; the active holds sum to 0"), std::string::npos)
      << tampered.out;
}

}  // namespace
}  // namespace tollgate::testing

namespace tollgate::testing {
namespace {

// Prices through the daemon: the core takes the country from the number (libphonenumber) and
// asks pricing-twilio, which asks Prism serving Twilio's official Pricing OpenAPI files.
TEST_F(WalletTest, PricesByTheNumbersCountryFromTwilioThroughTheApiAndTollgatectl) {
  const char* v1 = std::getenv("TOLLGATE_TEST_PRISM_PRICING_V1");
  const char* v2 = std::getenv("TOLLGATE_TEST_PRISM_PRICING_V2");
  ASSERT_TRUE(v1 != nullptr && v2 != nullptr)
      << "start Prism: source tests/prism/prism.sh; prism_start (scripts/test.sh does)";
  std::ofstream(dir_ / "token") << "prism-token\n";
  addPlugin(kPluginDir / "pricing-twilio.so", "pricing-twilio",
            std::string("account_sid = AC0123456789abcdef0123456789abcdef\nauth_token_file = ") +
                (dir_ / "token").string() + "\nbase_url_v1 = " + v1 + "\nbase_url_v2 = " + v2 +
                "\nmarkup_percent = 20\n",
            true);
  start();
  waitReady();
  const std::string acme = tenantCreated(ctl({"tenant", "create", "Acme"}));
  const std::string key = json(ctl({"key", "issue", acme}).out)->getValue<std::string>("key");

  // An SMS to a UK mobile: GB, Twilio's example price 0.05 plus 20 %. The '+' arrives unencoded
  // (a space in a query) as often as encoded.
  for (const std::string number : {"%2B447700900123", "+447700900123"}) {
    const auto r =
        http(port_, "GET", "/v1/prices?product=sms_out&number=" + number + "&number_type=mobile",
             "", bearer(key));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto p = json(r.body);
    EXPECT_EQ(p->getValue<std::string>("country"), "GB");
    EXPECT_EQ(p->getValue<std::string>("number"), "+447700900123");
    EXPECT_EQ(p->getValue<int64_t>("amount_micros"), 60000);
    EXPECT_EQ(p->getValue<std::string>("currency"), "USD");
  }
  // A call to Alaska by its destination prefix; a Canadian number is CA, not US.
  const Ran alaska = ctl({"wallet", "price", acme, "voice_out_minute", "+19075550100"});
  ASSERT_EQ(alaska.code, 0) << alaska.err;
  EXPECT_EQ(json(alaska.out)->getValue<int64_t>("amount_micros"), 108000);
  EXPECT_EQ(json(alaska.out)->getValue<std::string>("country"), "US");
  const Ran toronto =
      ctl({"wallet", "price", acme, "number_month", "+14165550100", "--number-type", "toll-free"});
  ASSERT_EQ(toronto.code, 0) << toronto.err;
  EXPECT_EQ(json(toronto.out)->getValue<std::string>("country"), "CA");
  EXPECT_EQ(json(toronto.out)->getValue<int64_t>("amount_micros"), 2400000);

  // Bad input names the field; a type Twilio has no price for is a 404.
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"product=sms&number=%2B447700900123", "product"},
           {"product=sms_out", "number"},
           {"product=sms_out&number=%2B999", "number"},
           {"product=sms_out&number=%2B447700900123&number_type=Mobile", "number_type"}}) {
    const auto r = http(port_, "GET", "/v1/prices?" + query, "", bearer(key));
    EXPECT_EQ(r.status, 400) << query << " -> " << r.body;
    EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), field) << query;
  }
  const auto none =
      http(port_, "GET", "/v1/prices?product=sms_out&number=%2B447700900123&number_type=short-code",
           "", bearer(key));
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(http(port_, "GET", "/v1/prices?product=sms_out&number=%2B447700900123").status, 401);
}

TEST_F(WalletTest, PricesAre503WithoutAPricingPlugin) {
  start();
  waitReady();
  const std::string acme = tenantCreated(ctl({"tenant", "create", "Acme"}));
  const auto r = http(port_, "GET",
                      "/admin/v1/tenants/" + acme + "/prices?product=sms_out&number=%2B14155550100",
                      "", bearer(adminKey()));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("no pricing plugin is enabled"), std::string::npos) << r.body;
}

// With billing-manual enabled, an admin credit is first recorded as a manual payment (logged
// with its reason and key, up to the plugin's cap) and the entry names that payment; a repeat
// credits once; a credit over the cap is refused naming the field and writes nothing.
TEST_F(WalletTest, AdminCreditsAreManualPaymentsThroughBillingManual) {
  addPlugin(kPluginDir / "billing-manual.so", "billing-manual", "max_charge_micros = 100000000\n",
            true);
  start();
  waitReady();
  const std::string acme = tenantCreated(ctl({"tenant", "create", "Acme"}));
  for (int i = 0; i < 2; ++i) {
    const Ran credit = ctl(
        {"wallet", "credit", acme, "50.00", "--reason", "bank transfer 2026-12", "--key", "t1"});
    ASSERT_EQ(credit.code, 0) << credit.err;
    EXPECT_EQ(json(credit.out)->getValue<int64_t>("balance_after_micros"), 50'000'000);
  }
  auto entriesOf = [&] {
    const auto r = http(port_, "GET", "/admin/v1/tenants/" + acme + "/wallet/entries", "",
                        bearer(adminKey()));
    EXPECT_EQ(r.status, 200) << r.body;
    return json(r.body)->getArray("entries");
  };
  const auto entries = entriesOf();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->getObject(0)->getValue<std::string>("reference"), "manual:admin-credit:t1");
  EXPECT_NE(daemon_->err().find("[billing-manual] manual payment manual:admin-credit:t1 of "
                                "50.000000 USD for tenant " +
                                acme + ": bank transfer 2026-12"),
            std::string::npos)
      << daemon_->err();

  const auto over =
      http(port_, "POST", "/admin/v1/tenants/" + acme + "/wallet/credits",
           R"({"amount_micros": 100000001, "reason": "typo", "idempotency_key": "t2"})",
           bearer(adminKey()));
  EXPECT_EQ(over.status, 400) << over.body;
  EXPECT_EQ(json(over.body)->getObject("error")->getValue<std::string>("field"), "amount_micros");
  EXPECT_EQ(entriesOf()->size(), 1u);
  // Debits stay ledger adjustments; the books balance.
  ASSERT_EQ(ctl({"wallet", "debit", acme, "1", "--reason", "fee", "--key", "d1"}).code, 0);
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

}  // namespace
}  // namespace tollgate::testing
