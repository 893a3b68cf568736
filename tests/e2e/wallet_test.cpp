// The prepaid wallet end to end: created with the tenant from [billing], moved by admin credits
// and debits through tollgatectl, seen by the tenant, and audited by `tollgatectl ledger verify`,
// which must catch a ledger tampered with behind the daemon's back.
#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tollgate::testing
