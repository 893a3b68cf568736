// Storage conformance: queued usage (ABI 1.7): queued by a webhook's unit, read oldest first,
// settled once per key however many daemons settle it. Same tests on every backend (see
// conformance_fixture.hpp).
#include <tollgate/abi/pricing.h>

#include <algorithm>
#include <latch>
#include <thread>

#include "conformance_records.hpp"
#include "storage/unit.hpp"

namespace tollgate::testing {
namespace {

using storage::Unit;
using storage::UnitResult;
using storage::Usage;
using storage::UsageCharge;

class UsageQueueTest : public RecordsTest {
 protected:
  void SetUp() override {
    RecordsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    createWallet("tn_a");
    createWallet("tn_b");
  }

  static Usage usage(const std::string& tenant, const std::string& sid, int64_t at = kT0,
                     int32_t segments = 1) {
    return Usage{.tenant_id = tenant,
                 .key = "usage:sms:" + sid,
                 .currency = "USD",
                 .product = TG_PRODUCT_SMS_SEGMENT_IN,
                 .sid = sid,
                 .number = "+14155550100",
                 .counterpart = "+14155550001",
                 .quantity = segments,
                 .created_at_ms = at};
  }
  // An inbound SMS webhook's unit, with its usage queued; returns the queue op's result.
  int32_t receive(const std::string& tenant, const std::string& sid, int64_t at = kT0) {
    Unit u(tenant);
    u.claim(storage::IdempotencyRecord{
        .tenant_id = tenant, .scope = "sms", .key = sid, .created_at_ms = at});
    u.insertMessage(message(tenant, sid, at));
    const auto queued = u.queueUsage(usage(tenant, sid, at));
    u.complete(storage::Completion{
        .scope = "sms", .key = sid, .response_status = 200, .response_body = "<Response/>"});
    const UnitResult r = store().apply(u);
    EXPECT_FALSE(r.duplicate);
    return r.result(queued);
  }
  static UsageCharge charge(const Usage& u, int64_t amount) {
    return UsageCharge{.tenant_id = u.tenant_id,
                       .key = u.key,
                       .currency = u.currency,
                       .amount_micros = amount,
                       .kind = TG_ENTRY_SMS_USAGE,
                       .reference = u.sid,
                       .description = "inbound SMS",
                       .country = "US",
                       .now_ms = kT0 + 1000};
  }
  std::vector<std::string> queuedKeys() {
    std::vector<std::string> keys;
    for (const Usage& u : store().queuedUsage(100)) keys.push_back(u.tenant_id + "/" + u.key);
    return keys;
  }
};

TEST_P(UsageQueueTest, AWebhooksUnitQueuesItsUsageOnceAndItIsReadBackOldestFirst) {
  ASSERT_TRUE(store().queuesUsage());
  EXPECT_EQ(receive("tn_a", "SM2", kT0 + 2), TG_UNIT_CHANGED);
  EXPECT_EQ(receive("tn_b", "SM1", kT0 + 1), TG_UNIT_CHANGED);
  EXPECT_EQ(receive("tn_a", "SM3", kT0 + 3), TG_UNIT_CHANGED);
  // The same key queued again (another unit) is left as it is.
  Unit again("tn_a");
  const auto i = again.queueUsage(usage("tn_a", "SM2", kT0 + 9, 3));
  EXPECT_EQ(store().apply(again).result(i), TG_UNIT_UNCHANGED);

  const std::vector<Usage> q = store().queuedUsage(100);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].tenant_id, "tn_b");
  EXPECT_EQ(q[0].key, "usage:sms:SM1");
  EXPECT_EQ(q[1].key, "usage:sms:SM2");
  EXPECT_EQ(q[1].quantity, 1) << "the first queued stays";
  EXPECT_EQ(q[1].created_at_ms, kT0 + 2);
  EXPECT_EQ(q[1].currency, "USD");
  EXPECT_EQ(q[1].product, TG_PRODUCT_SMS_SEGMENT_IN);
  EXPECT_EQ(q[1].sid, "SM2");
  EXPECT_EQ(q[1].number, "+14155550100");
  EXPECT_EQ(q[1].counterpart, "+14155550001");
  EXPECT_EQ(q[2].key, "usage:sms:SM3");
  EXPECT_EQ(store().queuedUsage(1).size(), 1u);
}

TEST_P(UsageQueueTest, AUnitThatFailsQueuesNothing) {
  Unit u("tn_a");
  u.queueUsage(usage("tn_a", "SM1"));
  Usage bad = usage("tn_a", "SM2");
  bad.quantity = 0;
  u.queueUsage(bad);
  EXPECT_EQ(statusOf([&] { store().apply(u); }), TG_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(queuedKeys().empty());
}

TEST_P(UsageQueueTest, SettlingChargesEachKeyOnceAndEmptiesTheQueue) {
  for (int i = 0; i < 40; ++i) receive(i % 2 ? "tn_a" : "tn_b", "SM" + std::to_string(i));
  std::vector<UsageCharge> charges;
  for (const Usage& u : store().queuedUsage(100)) charges.push_back(charge(u, 7'500));
  ASSERT_EQ(charges.size(), 40u);
  const std::vector<tg_status> st = store().settleUsage(charges);
  EXPECT_EQ(std::count(st.begin(), st.end(), TG_OK), 40);
  EXPECT_TRUE(queuedKeys().empty());
  EXPECT_EQ(balance("tn_a"), -20 * 7'500);
  EXPECT_EQ(balance("tn_b"), -20 * 7'500);
  // Settled again (another daemon that read the queue before): nothing charged twice.
  const std::vector<tg_status> again = store().settleUsage(charges);
  EXPECT_EQ(std::count(again.begin(), again.end(), TG_OK), 40);
  EXPECT_EQ(balance("tn_a"), -20 * 7'500);
  const auto entries = allEntries("tn_a");
  ASSERT_EQ(entries.size(), 20u);
  EXPECT_EQ(entries[0].kind, TG_ENTRY_SMS_USAGE);
  EXPECT_EQ(entries[0].amount_micros, -7'500);
  EXPECT_EQ(entries[0].idempotency_key.rfind("usage:sms:SM", 0), 0u);
  expectConsistent("tn_a");
  expectConsistent("tn_b");
}

TEST_P(UsageQueueTest, UsageIsChargedBelowTheCreditLimitAsDebt) {
  receive("tn_a", "SM1");
  const auto q = store().queuedUsage(10);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(store().settleUsage({charge(q[0], 50'000'000)}), std::vector<tg_status>{TG_OK});
  EXPECT_EQ(balance("tn_a"), -50'000'000);
}

TEST_P(UsageQueueTest, NothingToChargeOnlyDequeuesAndAMissingWalletStaysQueued) {
  receive("tn_a", "SM1");
  receive("tn_a", "SM2");
  auto q = store().queuedUsage(10);
  ASSERT_EQ(q.size(), 2u);
  UsageCharge unpriced = charge(q[0], 0);
  UsageCharge no_wallet = charge(q[1], 1'000);
  no_wallet.currency = "EUR";
  const std::vector<tg_status> st = store().settleUsage({unpriced, no_wallet});
  EXPECT_EQ(st, (std::vector<tg_status>{TG_OK, TG_ERR_NOT_FOUND}));
  EXPECT_EQ(queuedKeys(), std::vector<std::string>{"tn_a/usage:sms:SM2"});
  EXPECT_TRUE(allEntries("tn_a").empty());
  // A bad charge fails alone, naming its field; the others in the call settle.
  UsageCharge bad = charge(q[1], -5);
  const std::vector<tg_status> st2 = store().settleUsage({bad, charge(q[1], 1'000)});
  EXPECT_EQ(st2, (std::vector<tg_status>{TG_ERR_INVALID_ARGUMENT, TG_OK}));
  EXPECT_TRUE(queuedKeys().empty());
  EXPECT_EQ(balance("tn_a"), -1'000);
}

TEST_P(UsageQueueTest, TwoDaemonsSettlingTheSameQueueChargeEachUsageOnce) {
  for (int i = 0; i < 200; ++i) receive("tn_a", "SM" + std::to_string(i));
  OtherDaemon other = loadAnotherDaemon();
  ASSERT_NE(other.store, nullptr);
  std::latch go(2);
  auto settle = [&](storage::Store& s) {
    std::vector<UsageCharge> charges;
    for (const Usage& u : s.queuedUsage(500)) charges.push_back(charge(u, 100));
    go.arrive_and_wait();
    s.settleUsage(charges);
  };
  std::thread a([&] { settle(store()); });
  std::thread b([&] { settle(*other.store); });
  a.join();
  b.join();
  EXPECT_TRUE(queuedKeys().empty());
  EXPECT_EQ(balance("tn_a"), -200 * 100);
  EXPECT_EQ(allEntries("tn_a").size(), 200u);
  expectConsistent("tn_a");
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, UsageQueueTest, ::testing::Values("sqlite", "postgres"),
                         backendName);

}  // namespace tollgate::testing
