// Storage conformance: billing profiles and the auto-recharge lease (ABI 1.6). Same tests on
// every backend (see conformance_fixture.hpp).
#include <atomic>
#include <latch>
#include <thread>

#include <cstddef>

#include "conformance_fixture.hpp"
#include "plugins/plugin_host.hpp"

namespace tollgate::testing {
namespace {

using storage::BillingProfile;
using storage::RechargeEnd;

constexpr int64_t kLease = 60'000;

class BillingProfileTest : public StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    createTenant("tn_a");
    createWallet("tn_a");
  }
  static BillingProfile profile(int64_t amount, int64_t threshold = 5'000'000) {
    return BillingProfile{.tenant_id = "tn_a",
                          .currency = "USD",
                          .provider = "billing-stripe",
                          .customer_ref = "cus_123",
                          .recharge_threshold_micros = threshold,
                          .recharge_amount_micros = amount,
                          .created_at_ms = kT0,
                          .updated_at_ms = kT0};
  }
  BillingProfile stored() {
    const auto p = store().billingProfile("tn_a", "USD");
    EXPECT_TRUE(p.has_value());
    return p.value_or(BillingProfile{});
  }
  bool end(int64_t started, bool failed, int64_t now, int64_t retry_at = 0,
           const std::string& error = "") {
    return store().endRecharge("tn_a", RechargeEnd{.currency = "USD",
                                                   .started_at_ms = started,
                                                   .failed = failed,
                                                   .error = error,
                                                   .retry_at_ms = retry_at,
                                                   .now_ms = now});
  }
};

TEST_P(BillingProfileTest, PutKeepsTheRechargeStateAndGetReadsItBack) {
  EXPECT_FALSE(store().billingProfile("tn_a", "USD").has_value());
  store().putBillingProfile(profile(20'000'000));
  BillingProfile p = stored();
  EXPECT_EQ(p.tenant_id, "tn_a");
  EXPECT_EQ(p.currency, "USD");
  EXPECT_EQ(p.provider, "billing-stripe");
  EXPECT_EQ(p.customer_ref, "cus_123");
  EXPECT_EQ(p.recharge_threshold_micros, 5'000'000);
  EXPECT_EQ(p.recharge_amount_micros, 20'000'000);
  EXPECT_FALSE(p.recharge_in_flight);
  EXPECT_EQ(p.created_at_ms, kT0);

  const int64_t started = store().beginRecharge("tn_a", "USD", kT0 + 10, kLease);
  EXPECT_EQ(started, kT0 + 10);
  // New settings leave the lease alone, and the creation time.
  BillingProfile changed = profile(30'000'000, 1'000'000);
  changed.customer_ref = "cus_456";
  changed.created_at_ms = kT0 + 20;
  changed.updated_at_ms = kT0 + 20;
  store().putBillingProfile(changed);
  p = stored();
  EXPECT_EQ(p.customer_ref, "cus_456");
  EXPECT_EQ(p.recharge_amount_micros, 30'000'000);
  EXPECT_EQ(p.recharge_threshold_micros, 1'000'000);
  EXPECT_TRUE(p.recharge_in_flight);
  EXPECT_EQ(p.recharge_started_at_ms, kT0 + 10);
  EXPECT_EQ(p.created_at_ms, kT0);
  EXPECT_EQ(p.updated_at_ms, kT0 + 20);
}

TEST_P(BillingProfileTest, RefusesWhatIsNotAProfileOfAWallet) {
  std::string message;
  BillingProfile no_wallet = profile(1);
  no_wallet.currency = "EUR";
  EXPECT_EQ(statusOf([&] { store().putBillingProfile(no_wallet); }, &message), TG_ERR_NOT_FOUND);
  EXPECT_NE(message.find("no EUR wallet"), std::string::npos) << message;
  BillingProfile negative = profile(-1);
  EXPECT_EQ(statusOf([&] { store().putBillingProfile(negative); }, &message),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("recharge_amount_micros"), std::string::npos) << message;
  EXPECT_EQ(statusOf([&] { store().beginRecharge("tn_a", "USD", kT0, kLease); }), TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { end(kT0, false, kT0); }), TG_ERR_NOT_FOUND);
  store().putBillingProfile(profile(1));
  EXPECT_EQ(statusOf([&] { store().beginRecharge("tn_a", "USD", kT0, 0); }, &message),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("lease_ms"), std::string::npos) << message;
  EXPECT_EQ(statusOf([&] { end(kT0, true, kT0, kT0 + 1, ""); }, &message), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("error"), std::string::npos) << message;
}

TEST_P(BillingProfileTest, OneLeaseAtATimeEachWithItsOwnStart) {
  store().putBillingProfile(profile(0));
  EXPECT_EQ(store().beginRecharge("tn_a", "USD", kT0, kLease), 0) << "auto-recharge is off";
  store().putBillingProfile(profile(20'000'000));
  const int64_t first = store().beginRecharge("tn_a", "USD", kT0, kLease);
  EXPECT_EQ(first, kT0);
  EXPECT_EQ(store().beginRecharge("tn_a", "USD", kT0 + 1, kLease), 0) << "one in flight";
  EXPECT_FALSE(end(first + 1, false, kT0 + 2)) << "not that lease";
  EXPECT_TRUE(end(first, false, kT0 + 2));
  EXPECT_FALSE(end(first, false, kT0 + 2)) << "ended already";
  // The next lease in the same millisecond still gets a start of its own.
  const int64_t second = store().beginRecharge("tn_a", "USD", kT0, kLease);
  EXPECT_EQ(second, kT0 + 1);
  EXPECT_TRUE(stored().recharge_in_flight);
  // A lease whose daemon died is taken over once it is lease_ms old, and the old one can no
  // longer end it.
  EXPECT_EQ(store().beginRecharge("tn_a", "USD", second + kLease - 1, kLease), 0);
  const int64_t third = store().beginRecharge("tn_a", "USD", second + kLease, kLease);
  EXPECT_EQ(third, second + kLease);
  EXPECT_FALSE(end(second, false, third + 1));
  EXPECT_TRUE(end(third, false, third + 1));
}

TEST_P(BillingProfileTest, FailuresCountUpAndHoldBackTheNextLeaseUntilASuccess) {
  store().putBillingProfile(profile(20'000'000));
  int64_t started = store().beginRecharge("tn_a", "USD", kT0, kLease);
  ASSERT_TRUE(end(started, true, kT0 + 5, kT0 + 1000, "card_declined: Your card was declined."));
  BillingProfile p = stored();
  EXPECT_FALSE(p.recharge_in_flight);
  EXPECT_EQ(p.recharge_failures, 1);
  EXPECT_EQ(p.recharge_retry_at_ms, kT0 + 1000);
  EXPECT_EQ(p.recharge_last_error, "card_declined: Your card was declined.");
  EXPECT_EQ(store().beginRecharge("tn_a", "USD", kT0 + 999, kLease), 0) << "backing off";
  started = store().beginRecharge("tn_a", "USD", kT0 + 1000, kLease);
  ASSERT_NE(started, 0);
  ASSERT_TRUE(end(started, true, kT0 + 1001, kT0 + 3000, "again"));
  EXPECT_EQ(stored().recharge_failures, 2);
  started = store().beginRecharge("tn_a", "USD", kT0 + 3000, kLease);
  ASSERT_TRUE(end(started, false, kT0 + 3001));
  p = stored();
  EXPECT_EQ(p.recharge_failures, 0);
  EXPECT_EQ(p.recharge_retry_at_ms, 0);
  EXPECT_EQ(p.recharge_last_error, "");
}

// Sixteen threads of two daemons begin at once: exactly one lease.
TEST_P(BillingProfileTest, ConcurrentBeginsFromTwoDaemonsMakeOneLease) {
  auto other = loadAnotherDaemon();
  ASSERT_TRUE(other.store);
  store().putBillingProfile(profile(20'000'000));
  constexpr int kThreads = 16;
  std::latch go(kThreads);
  std::atomic<int> won{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    storage::Store& s = i % 2 == 0 ? store() : *other.store;
    threads.emplace_back([&, i, &s = s] {
      go.arrive_and_wait();
      try {
        if (s.beginRecharge("tn_a", "USD", kT0 + i, kLease) != 0) ++won;
      } catch (const std::exception& e) {
        ++failed;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(failed.load(), 0);
}

// Usage by country: each entry keeps the country it paid for, and summaries group by it.
TEST_P(BillingProfileTest, SummariesGroupEntriesByTheirCountry) {
  using storage::LedgerEntryIn;
  apply("tn_a", "topup", {1'000'000});
  auto usage = [](int64_t amount, const std::string& country) {
    return LedgerEntryIn{.kind = TG_ENTRY_SMS_USAGE,
                         .amount_micros = amount,
                         .reference = "SM" + country,
                         .description = "",
                         .country = country};
  };
  ASSERT_EQ(
      store().applyLedger("tn_a", "USD", "u1", {usage(-100, "GB"), usage(-200, "US")}, kT0).outcome,
      TG_APPLY_APPLIED);
  ASSERT_EQ(store().applyLedger("tn_a", "USD", "u2", {usage(-50, "GB")}, kT0 + 1).outcome,
            TG_APPLY_APPLIED);
  // A hold's capture carries its country into the entry.
  ASSERT_EQ(store()
                .applyHold("tn_a", storage::HoldRequest{.action = TG_HOLD_RESERVE,
                                                        .currency = "USD",
                                                        .hold_id = "h1",
                                                        .amount_micros = 1000,
                                                        .expires_at_ms = kT0 + 60'000,
                                                        .now_ms = kT0})
                .outcome,
            TG_APPLY_APPLIED);
  ASSERT_EQ(store()
                .applyHold("tn_a", storage::HoldRequest{.action = TG_HOLD_CAPTURE,
                                                        .currency = "USD",
                                                        .hold_id = "h1",
                                                        .amount_micros = 700,
                                                        .kind = TG_ENTRY_VOICE_USAGE,
                                                        .now_ms = kT0 + 2,
                                                        .country = "CA"})
                .outcome,
            TG_APPLY_APPLIED);

  const auto rows = store().summarizeLedger(
      "tn_a", storage::LedgerQuery{.currency = "USD", .bucket_ms = 86'400'000, .by_country = true});
  // One bucket; by kind, then country: the top-up (no country), SMS GB and US, voice CA.
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].kind, TG_ENTRY_TOPUP);
  EXPECT_EQ(rows[0].country, "");
  EXPECT_EQ(rows[1].country, "GB");
  EXPECT_EQ(rows[1].entry_count, 2);
  EXPECT_EQ(rows[1].total_micros, -150);
  EXPECT_EQ(rows[2].country, "US");
  EXPECT_EQ(rows[2].total_micros, -200);
  EXPECT_EQ(rows[3].kind, TG_ENTRY_VOICE_USAGE);
  EXPECT_EQ(rows[3].country, "CA");
  EXPECT_EQ(rows[3].total_micros, -700);
  // Without by_country, one row per kind as before, and no country.
  const auto plain = store().summarizeLedger(
      "tn_a", storage::LedgerQuery{.currency = "USD", .bucket_ms = 86'400'000});
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[1].entry_count, 3);
  EXPECT_EQ(plain[1].country, "");

  std::string message;
  EXPECT_EQ(
      statusOf([&] { store().applyLedger("tn_a", "USD", "u3", {usage(-1, "gb")}, kT0); }, &message),
      TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("entries[0].country"), std::string::npos) << message;
  expectConsistent("tn_a");
}

// A host of ABI 1.5 or older sends entries without a country: accepted, stored with none.
TEST_P(BillingProfileTest, EntriesOfAnOlderHostHaveNoCountry) {
  apply("tn_a", "topup", {1000});
  plugins::Plugin& p = store().plugin();
  const auto* vt = p.vtable<tg_storage_vtable>();
  const std::string tenant = "tn_a", key = "old-host";
  // An entry as a 1.5 host lays it out: the struct ends before `country`.
  struct OldEntry {
    uint32_t struct_size;
    tg_entry_kind kind;
    int64_t amount_micros;
    tg_str reference, description;
  };
  static_assert(sizeof(OldEntry) == offsetof(tg_ledger_entry_in, country));
  const OldEntry old{.struct_size = sizeof(OldEntry),
                     .kind = TG_ENTRY_SMS_USAGE,
                     .amount_micros = -10,
                     .reference = {"SM1", 3},
                     .description = {"", 0}};
  tg_ledger_apply_request req{.struct_size = sizeof(tg_ledger_apply_request),
                              .currency = "USD",
                              .idempotency_key = {key.data(), key.size()},
                              .entries = reinterpret_cast<const tg_ledger_entry_in*>(&old),
                              .entry_count = 1,
                              .now_ms = kT0};
  tg_ledger_apply_result out{};
  out.struct_size = sizeof out;
  const tg_call_ctx ctx{
      .struct_size = sizeof(tg_call_ctx),
      .tenant_id = {tenant.data(), tenant.size()},
      .request_id = {"t", 1},
      .deadline_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              (std::chrono::system_clock::now() + kDeadline).time_since_epoch())
                              .count()};
  tg_error err{};
  ASSERT_EQ(vt->ledger_apply(p.instance(), &ctx, &req, &out, &err), TG_OK) << err.message;
  EXPECT_EQ(out.outcome, TG_APPLY_APPLIED);
  const auto rows = store().summarizeLedger("tn_a", storage::LedgerQuery{.currency = "USD",
                                                                         .kind = TG_ENTRY_SMS_USAGE,
                                                                         .bucket_ms = 86'400'000,
                                                                         .by_country = true});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].country, "");
  EXPECT_EQ(rows[0].total_micros, -10);
}

// Usage that has already happened is recorded even below the credit limit (as debt); any other
// debit is still refused there.
TEST_P(BillingProfileTest, UsageOwedIsRecordedBelowTheCreditLimit) {
  apply("tn_a", "topup", {100});
  const storage::LedgerEntryIn usage{.kind = TG_ENTRY_SMS_USAGE,
                                     .amount_micros = -250,
                                     .reference = "SM1",
                                     .description = "",
                                     .country = "US"};
  EXPECT_EQ(store().applyLedger("tn_a", "USD", "refused", {usage}, kT0).outcome,
            TG_APPLY_INSUFFICIENT_FUNDS);
  const storage::ApplyResult owed =
      store().applyLedger("tn_a", "USD", "owed", {usage}, kT0, storage::Overdraft::kAllow);
  EXPECT_EQ(owed.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(owed.balance_micros, -150);
  EXPECT_EQ(balance("tn_a"), -150);
  // A repeat is still a repeat, and an ordinary debit is refused in debt.
  EXPECT_EQ(
      store().applyLedger("tn_a", "USD", "owed", {usage}, kT0, storage::Overdraft::kAllow).outcome,
      TG_APPLY_ALREADY_APPLIED);
  EXPECT_EQ(store().applyLedger("tn_a", "USD", "more", {usage}, kT0).outcome,
            TG_APPLY_INSUFFICIENT_FUNDS);
  expectConsistent("tn_a");
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingProfileTest, ::testing::Values("sqlite", "postgres"),
                         backendName);

}  // namespace
}  // namespace tollgate::testing
