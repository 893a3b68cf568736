// Storage conformance for ABI 1.1: numbers, Twilio accounts and the opt-out registry. Same
// tests on every backend (see conformance_fixture.hpp).
#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>

#include <atomic>
#include <latch>
#include <thread>
#include <tuple>

#include "conformance_records.hpp"

namespace tollgate::testing {
namespace {

namespace kw = Poco::Data::Keywords;
using storage::Number;
using storage::TwilioAccount;

class NumbersTest : public RecordsTest {};
class OptOutTest : public RecordsTest {};

// ---- numbers ----

TEST_P(NumbersTest, NumberPutAndGetWithinAndAcrossTenants) {
  EXPECT_EQ(store().missingCallback(), nullptr);
  store().putNumber(number("tn_a", "+14155550100"));

  // Routing a webhook: no tenant yet, found across tenants.
  const auto routed = store().number("", "+14155550100");
  ASSERT_TRUE(routed.has_value());
  EXPECT_EQ(routed->e164, "+14155550100");
  EXPECT_EQ(routed->tenant_id, "tn_a");
  EXPECT_EQ(routed->account_sid, "ACtn_a");
  EXPECT_EQ(routed->twilio_sid, "PN14155550100");
  EXPECT_EQ(routed->voice_plugin, "voicemail");
  EXPECT_EQ(routed->sms_plugin, "keywords");
  EXPECT_EQ(routed->settings_json, R"({"greeting":"Hello"})");
  EXPECT_EQ(routed->created_at_ms, kT0);
  EXPECT_EQ(routed->updated_at_ms, kT0);

  EXPECT_TRUE(store().number("tn_a", "+14155550100").has_value());
  // A tenant-scoped lookup does not see another tenant's number.
  EXPECT_FALSE(store().number("tn_b", "+14155550100").has_value());
  EXPECT_FALSE(store().number("", "+14155550199").has_value());
  EXPECT_FALSE(store().number("tn_a", "+14155550199").has_value());

  // Optional fields may be empty.
  Number bare{"+442071838750", "tn_b", "ACmaster", "", "", "", "{}", kT0, kT0};
  store().putNumber(bare);
  const auto b = store().number("", "+442071838750");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->tenant_id, "tn_b");
  EXPECT_EQ(b->twilio_sid, "");
  EXPECT_EQ(b->voice_plugin, "");
  EXPECT_EQ(b->settings_json, "{}");
}

TEST_P(NumbersTest, NumberPutUpdatesTheTenantsOwnNumber) {
  store().putNumber(number("tn_a", "+14155550100"));
  Number changed{"+14155550100",      "tn_a",  "ACsub", "PN2", "ivr", "",
                 R"({"menu":[1,2]})", kT0 + 5, kT0 + 5};
  store().putNumber(changed);
  const auto n = store().number("tn_a", "+14155550100");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->account_sid, "ACsub");
  EXPECT_EQ(n->twilio_sid, "PN2");
  EXPECT_EQ(n->voice_plugin, "ivr");
  EXPECT_EQ(n->sms_plugin, "");
  EXPECT_EQ(n->settings_json, R"({"menu":[1,2]})");
  EXPECT_EQ(n->created_at_ms, kT0);  // attached then; updated now
  EXPECT_EQ(n->updated_at_ms, kT0 + 5);
  EXPECT_EQ(store().numbers("tn_a").size(), 1u);
}

TEST_P(NumbersTest, NumberOfAnotherTenantConflictsAndStaysUnchanged) {
  store().putNumber(number("tn_a", "+14155550100"));
  std::string msg;
  EXPECT_EQ(statusOf([&] { store().putNumber(number("tn_b", "+14155550100", kT0 + 1)); }, &msg),
            TG_ERR_CONFLICT);
  EXPECT_NE(msg.find("+14155550100"), std::string::npos) << msg;
  const auto n = store().number("", "+14155550100");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->tenant_id, "tn_a");
  EXPECT_EQ(n->account_sid, "ACtn_a");
  EXPECT_EQ(n->updated_at_ms, kT0);
  EXPECT_TRUE(store().numbers("tn_b").empty());
}

TEST_P(NumbersTest, NumberDetach) {
  store().putNumber(number("tn_a", "+14155550100"));
  // Another tenant cannot detach it, and trying leaves it attached.
  EXPECT_EQ(statusOf([&] { store().detachNumber("tn_b", "+14155550100"); }), TG_ERR_NOT_FOUND);
  EXPECT_TRUE(store().number("", "+14155550100").has_value());

  store().detachNumber("tn_a", "+14155550100");
  EXPECT_FALSE(store().number("", "+14155550100").has_value());
  EXPECT_FALSE(store().number("tn_a", "+14155550100").has_value());
  EXPECT_TRUE(store().numbers("tn_a").empty());
  EXPECT_EQ(statusOf([&] { store().detachNumber("tn_a", "+14155550100"); }), TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().detachNumber("tn_a", "+14155550199"); }), TG_ERR_NOT_FOUND);

  // Free again: another tenant may attach it.
  store().putNumber(number("tn_b", "+14155550100", kT0 + 9));
  const auto n = store().number("", "+14155550100");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->tenant_id, "tn_b");
  EXPECT_EQ(n->created_at_ms, kT0 + 9);
}

TEST_P(NumbersTest, NumberListIsTheTenantsOrderedByE164) {
  for (const char* e : {"+4930901820", "+14155550100", "+33142685300", "+14155550099",
                        "+819012345678", "+1415555010"}) {
    store().putNumber(number("tn_a", e));
  }
  store().putNumber(number("tn_b", "+14155550000"));
  std::vector<std::string> listed;
  for (const auto& n : store().numbers("tn_a")) {
    EXPECT_EQ(n.tenant_id, "tn_a");
    listed.push_back(n.e164);
  }
  // Byte-wise, as text: "+14155550099" < "+1415555010".
  EXPECT_EQ(listed, (std::vector<std::string>{"+14155550099", "+1415555010", "+14155550100",
                                              "+33142685300", "+4930901820", "+819012345678"}));
  ASSERT_EQ(store().numbers("tn_b").size(), 1u);
  EXPECT_EQ(store().numbers("tn_b")[0].e164, "+14155550000");
  EXPECT_TRUE(store().numbers("tn_c").empty());
}

TEST_P(NumbersTest, NumberInputIsValidated) {
  std::string msg;
  for (const char* bad : {"14155550100", "+04155550100", "+1", "+1234567890123456", "+1415555a100",
                          "+1 415 555 0100", ""}) {
    EXPECT_EQ(statusOf([&] { store().putNumber(number("tn_a", bad)); }, &msg),
              TG_ERR_INVALID_ARGUMENT)
        << bad;
    EXPECT_NE(msg.find("e164"), std::string::npos) << msg;
    EXPECT_EQ(statusOf([&] { store().number("", bad); }), TG_ERR_INVALID_ARGUMENT) << bad;
  }
  store().putNumber(number("tn_a", "+123456789012345"));  // 15 digits: the most E.164 allows
  store().putNumber(number("tn_a", "+12"));

  Number n = number("tn_a", "+14155550100");
  n.settings_json = "";
  EXPECT_EQ(statusOf([&] { store().putNumber(n); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("settings_json"), std::string::npos) << msg;
  n = number("tn_a", "+14155550100");
  n.account_sid = "";
  EXPECT_EQ(statusOf([&] { store().putNumber(n); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("account_sid"), std::string::npos) << msg;
  n = number("tn_a", "+14155550100");
  n.voice_plugin = std::string("vm\0x", 4);
  EXPECT_EQ(statusOf([&] { store().putNumber(n); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("voice_plugin"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { store().putNumber(number("tn_nobody", "+14155550100")); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().numbers(""); }), TG_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(store().number("", "+14155550100").has_value());
}

TEST_P(NumbersTest, TenantsRacingForOneNumberLeaveOneOwner) {
  // 16 threads, half for each tenant, attach the same new number at once. The first insert
  // decides the owner: every put of the owner's threads succeeds (an attach or an update), every
  // put of the other's conflicts, and nothing else goes wrong.
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> ok_a{0}, ok_b{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const std::string tenant = i % 2 == 0 ? "tn_a" : "tn_b";
      start.arrive_and_wait();
      const tg_status st = statusOf([&] { store().putNumber(number(tenant, "+14155550100")); });
      if (st == TG_OK) {
        (tenant == "tn_a" ? ok_a : ok_b).fetch_add(1);
      } else if (st == TG_ERR_CONFLICT) {
        conflicts.fetch_add(1);
      } else {
        ADD_FAILURE() << "status " << st;
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto n = store().number("", "+14155550100");
  ASSERT_TRUE(n.has_value());
  const bool a_won = n->tenant_id == "tn_a";
  EXPECT_EQ((a_won ? ok_a : ok_b).load(), kThreads / 2);
  EXPECT_EQ((a_won ? ok_b : ok_a).load(), 0);
  EXPECT_EQ(conflicts.load(), kThreads / 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM phone_numbers"), 1);
}

// ---- Twilio accounts ----

TEST_P(NumbersTest, TwilioAccountPutGetReplaceAndConflict) {
  std::string token;  // every byte value, NUL and 0xFF included, twice
  for (int round = 0; round < 2; ++round) {
    for (int b = 0; b < 256; ++b) token.push_back(static_cast<char>(b));
  }
  token += std::string("\0\xff\0", 3);
  store().putTwilioAccount(TwilioAccount{"ACaaa", "tn_a", token, "Acme subaccount", true, kT0});

  const auto a = store().twilioAccount("", "ACaaa");  // checking a webhook: any tenant's
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->account_sid, "ACaaa");
  EXPECT_EQ(a->tenant_id, "tn_a");
  EXPECT_EQ(a->auth_token_enc.size(), token.size());
  EXPECT_TRUE(a->auth_token_enc == token) << "the token did not round-trip byte for byte";
  EXPECT_EQ(a->friendly_name, "Acme subaccount");
  EXPECT_TRUE(a->is_subaccount);
  EXPECT_EQ(a->created_at_ms, kT0);
  EXPECT_TRUE(store().twilioAccount("tn_a", "ACaaa").has_value());
  EXPECT_FALSE(store().twilioAccount("tn_b", "ACaaa").has_value());
  EXPECT_FALSE(store().twilioAccount("", "ACnone").has_value());
  // Stored as bytes, not as text or an encoding of them.
  EXPECT_EQ(count("SELECT length(auth_token_enc) FROM twilio_accounts"),
            static_cast<int64_t>(token.size()));

  // Replaced by its tenant (a rotated token): the time it was first stored is kept.
  const std::string rotated("\xff\x00rotated\x00", 10);
  store().putTwilioAccount(TwilioAccount{"ACaaa", "tn_a", rotated, "Renamed", false, kT0 + 7});
  const auto r = store().twilioAccount("", "ACaaa");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->auth_token_enc == rotated);
  EXPECT_EQ(r->friendly_name, "Renamed");
  EXPECT_FALSE(r->is_subaccount);
  EXPECT_EQ(r->created_at_ms, kT0);

  // Another tenant cannot take it over.
  EXPECT_EQ(statusOf([&] {
              store().putTwilioAccount(TwilioAccount{"ACaaa", "tn_b", "x", "", true, kT0});
            }),
            TG_ERR_CONFLICT);
  EXPECT_TRUE(store().twilioAccount("", "ACaaa")->auth_token_enc == rotated);
  EXPECT_EQ(store().twilioAccount("", "ACaaa")->tenant_id, "tn_a");

  std::string msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().putTwilioAccount(TwilioAccount{"ACbbb", "tn_a", "", "", true, kT0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("auth_token_enc"), std::string::npos) << msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().putTwilioAccount(TwilioAccount{"", "tn_a", "x", "", true, kT0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("account_sid"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] {
              store().putTwilioAccount(TwilioAccount{"ACccc", "tn_nobody", "x", "", true, kT0});
            }),
            TG_ERR_NOT_FOUND);
}

// ---- opt-outs ----

TEST_P(OptOutTest, OptOutSetGetToggleAndAuditTrail) {
  EXPECT_FALSE(store().optedOut("tn_a", "+14155550001"));  // never seen

  store().setOptOut("tn_a", "+14155550001", true, "STOP", "SM1", kT0 + 1);
  EXPECT_TRUE(store().optedOut("tn_a", "+14155550001"));
  store().setOptOut("tn_a", "+14155550001", true, "UNSUBSCRIBE", "SM2", kT0 + 2);  // repeated
  EXPECT_TRUE(store().optedOut("tn_a", "+14155550001"));
  store().setOptOut("tn_a", "+14155550001", false, "START", "SM3", kT0 + 3);
  EXPECT_FALSE(store().optedOut("tn_a", "+14155550001"));
  store().setOptOut("tn_a", "+14155550001", true, "", "", kT0 + 4);  // e.g. by an admin
  EXPECT_TRUE(store().optedOut("tn_a", "+14155550001"));

  // Every request is in the trail, in order, with its keyword, message and time.
  using Event =
      Poco::Tuple<std::string, std::string, Poco::Int32, std::string, std::string, Poco::Int64>;
  std::vector<Event> events;
  auto s = rawSession();
  s << "SELECT tenant_id, phone, action, keyword, message_sid, created_at_ms "
       "FROM opt_out_events ORDER BY id",
      kw::into(events), kw::now;
  ASSERT_EQ(events.size(), 4u);
  const std::vector<std::tuple<int, std::string, std::string, int64_t>> want = {
      {1, "STOP", "SM1", kT0 + 1},
      {1, "UNSUBSCRIBE", "SM2", kT0 + 2},
      {0, "START", "SM3", kT0 + 3},
      {1, "", "", kT0 + 4}};
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].get<0>(), "tn_a");
    EXPECT_EQ(events[i].get<1>(), "+14155550001");
    EXPECT_EQ(events[i].get<2>(), std::get<0>(want[i])) << i;
    EXPECT_EQ(events[i].get<3>(), std::get<1>(want[i])) << i;
    EXPECT_EQ(events[i].get<4>(), std::get<2>(want[i])) << i;
    EXPECT_EQ(events[i].get<5>(), std::get<3>(want[i])) << i;
  }
  Poco::Int64 updated = 0;
  s << "SELECT updated_at_ms FROM opt_outs", kw::into(updated), kw::now;
  EXPECT_EQ(updated, kT0 + 4);
  EXPECT_EQ(count("SELECT COUNT(*) FROM opt_outs"), 1);
}

TEST_P(OptOutTest, OptOutsAreScopedToTheirTenant) {
  store().setOptOut("tn_a", "+14155550001", true, "STOP", "SM1", kT0);
  // The same sender texting another tenant's number is that tenant's business.
  EXPECT_FALSE(store().optedOut("tn_b", "+14155550001"));
  store().setOptOut("tn_b", "+14155550001", false, "START", "SM2", kT0 + 1);
  EXPECT_TRUE(store().optedOut("tn_a", "+14155550001"));
  EXPECT_FALSE(store().optedOut("tn_b", "+14155550001"));
  store().setOptOut("tn_b", "+14155550002", true, "STOP", "SM3", kT0 + 2);
  EXPECT_FALSE(store().optedOut("tn_a", "+14155550002"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM opt_out_events WHERE tenant_id = 'tn_a'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM opt_out_events WHERE tenant_id = 'tn_b'"), 2);

  std::string msg;
  EXPECT_EQ(statusOf([&] { store().setOptOut("tn_a", "4155550001", true, "STOP", "", kT0); }, &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("phone"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { store().optedOut("tn_a", ""); }), TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(statusOf([&] { store().optedOut("", "+14155550001"); }), TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(
      statusOf([&] { store().setOptOut("tn_nobody", "+14155550001", true, "STOP", "", kT0); }),
      TG_ERR_NOT_FOUND);
  EXPECT_EQ(count("SELECT COUNT(*) FROM opt_out_events"), 3);  // nothing from the refusals
}

INSTANTIATE_TEST_SUITE_P(Backends, NumbersTest, ::testing::Values("sqlite", "postgres"),
                         backendName);
INSTANTIATE_TEST_SUITE_P(Backends, OptOutTest, ::testing::Values("sqlite", "postgres"),
                         backendName);

}  // namespace
}  // namespace tollgate::testing
