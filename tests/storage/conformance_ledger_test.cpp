// Storage conformance: the ledger. Same tests on every backend (see conformance_fixture.hpp).
#include <Poco/Data/Statement.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "conformance_fixture.hpp"

namespace tollgate::testing {
namespace {

namespace kw = Poco::Data::Keywords;
using storage::ApplyResult;
using storage::LedgerEntryIn;

class LedgerTest : public StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    createTenant("tn_a");
    createWallet("tn_a");
  }
};

TEST_P(LedgerTest, ApplyOnceThenReplayTheSameResult) {
  const ApplyResult first = apply("tn_a", "topup-1", {1000000});
  EXPECT_EQ(first.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(first.balance_micros, 1000000);
  EXPECT_GT(first.first_seq, 0);

  const ApplyResult debit = apply("tn_a", "sms-1", {-25000});
  EXPECT_EQ(debit.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(debit.balance_micros, 975000);
  EXPECT_GT(debit.first_seq, first.first_seq);

  // A repeat answers with the first apply's result and appends nothing, even with other
  // amounts: the key, not the content, identifies the apply.
  const ApplyResult again = apply("tn_a", "topup-1", {1000000});
  EXPECT_EQ(again.outcome, TG_APPLY_ALREADY_APPLIED);
  EXPECT_EQ(again.balance_micros, 1000000);
  EXPECT_EQ(again.first_seq, first.first_seq);
  EXPECT_EQ(apply("tn_a", "topup-1", {5}).outcome, TG_APPLY_ALREADY_APPLIED);

  const auto entries = allEntries("tn_a");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].kind, TG_ENTRY_TOPUP);
  EXPECT_EQ(entries[0].idempotency_key, "topup-1");
  EXPECT_EQ(entries[0].reference, "ref-topup-1");
  EXPECT_EQ(entries[0].description, "test entry");
  EXPECT_EQ(entries[0].created_at_ms, kT0);
  EXPECT_EQ(entries[1].kind, TG_ENTRY_CHARGE);
  EXPECT_EQ(entries[1].amount_micros, -25000);
  EXPECT_EQ(entries[1].balance_after_micros, 975000);
  EXPECT_EQ(balance("tn_a"), 975000);
  expectConsistent("tn_a");
}

// ABI 1.13: the entries applied under one key, whatever else was applied around them.
TEST_P(LedgerTest, TheEntriesOfOneKeyAreQueriedByIt) {
  apply("tn_a", "topup", {10000});
  apply("tn_a", "usage:call:CA1", {-300, -200});
  apply("tn_a", "usage:call:CA2", {-50});
  apply("tn_a", "price:CA1", {100});
  const auto byKey = [&](const std::string& key, const std::string& tenant = "tn_a") {
    std::vector<int64_t> amounts;
    for (const auto& e : store().queryLedger(tenant, storage::LedgerQuery{.currency = "USD",
                                                     .after_seq = 999999,
                                                     .limit = 100,
                                                     .kind = 0,
                                                     .from_ms = 0,
                                                     .to_ms = 0,
                                                     .bucket_ms = 0,
                                                     .by_country = false,
                                                     .idempotency_key = key})) {
      EXPECT_EQ(e.idempotency_key, key);
      amounts.push_back(e.amount_micros);
    }
    return amounts;
  };
  EXPECT_EQ(byKey("usage:call:CA1"), (std::vector<int64_t>{-300, -200}));
  EXPECT_EQ(byKey("usage:call:CA2"), (std::vector<int64_t>{-50}));
  EXPECT_TRUE(byKey("usage:call:CA9").empty());
  createTenant("tn_b");
  createWallet("tn_b");
  EXPECT_TRUE(byKey("usage:call:CA1", "tn_b").empty()) << "another tenant's key";
}

TEST_P(LedgerTest, InsufficientFundsWritesNothingAndKeepsTheKeyFree) {
  apply("tn_a", "topup", {1000});
  const ApplyResult refused = apply("tn_a", "call-1", {-1001});
  EXPECT_EQ(refused.outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(refused.balance_micros, 1000);
  EXPECT_EQ(refused.first_seq, 0);
  EXPECT_EQ(allEntries("tn_a").size(), 1u);
  EXPECT_EQ(balance("tn_a"), 1000);

  // The refused key was not consumed: once there is money, the same key applies.
  apply("tn_a", "topup-2", {5000});
  const ApplyResult later = apply("tn_a", "call-1", {-1001});
  EXPECT_EQ(later.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(later.balance_micros, 4999);
  // Down to exactly zero is fine.
  EXPECT_EQ(apply("tn_a", "call-2", {-4999}).outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(apply("tn_a", "call-3", {-1}).outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(balance("tn_a"), 0);
  expectConsistent("tn_a");
}

TEST_P(LedgerTest, CreditLimitAllowsANegativeBalanceDownToTheLimit) {
  createWallet("tn_a", "EUR", 500);
  EXPECT_EQ(apply("tn_a", "d1", {-300}, "EUR").outcome, TG_APPLY_APPLIED);
  const ApplyResult at_limit = apply("tn_a", "d2", {-200}, "EUR");
  EXPECT_EQ(at_limit.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(at_limit.balance_micros, -500);
  const ApplyResult over = apply("tn_a", "d3", {-1}, "EUR");
  EXPECT_EQ(over.outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(over.balance_micros, -500);
  EXPECT_EQ(apply("tn_a", "t1", {700}, "EUR").balance_micros, 200);
  EXPECT_EQ(balance("tn_a", "EUR"), 200);
  expectConsistent("tn_a", "EUR");
}

TEST_P(LedgerTest, MultiEntryApplyIsAllOrNothing) {
  const ApplyResult r = apply("tn_a", "multi", {10000, -3000, -2000});
  EXPECT_EQ(r.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(r.balance_micros, 5000);
  auto entries = allEntries("tn_a");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].seq, r.first_seq);
  EXPECT_EQ(entries[0].balance_after_micros, 10000);
  EXPECT_EQ(entries[1].balance_after_micros, 7000);
  EXPECT_EQ(entries[2].balance_after_micros, 5000);
  for (const auto& e : entries) EXPECT_EQ(e.idempotency_key, "multi");

  // The sum decides: this one would end at -1, so none of its entries is written.
  EXPECT_EQ(apply("tn_a", "multi-2", {-4000, 1000, -2001}).outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(allEntries("tn_a").size(), 3u);
  EXPECT_EQ(balance("tn_a"), 5000);
  expectConsistent("tn_a");
}

TEST_P(LedgerTest, InvalidRequestsAreRejectedNamingTheField) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const auto expectInvalid = [&](const std::string& key, const std::vector<LedgerEntryIn>& in,
                                 const std::string& field) {
    std::string msg;
    EXPECT_EQ(statusOf([&] { store().applyLedger("tn_a", "USD", key, in, kT0); }, &msg),
              TG_ERR_INVALID_ARGUMENT)
        << field;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
  };
  const LedgerEntryIn ok{TG_ENTRY_TOPUP, 100, "", ""};
  expectInvalid("", {ok}, "idempotency_key");
  expectInvalid("k", {}, "entries");
  expectInvalid("k", {{TG_ENTRY_CHARGE, 0, "", ""}}, "amount_micros");
  expectInvalid("k", {{99, 100, "", ""}}, "kind");
  expectInvalid("k", {{TG_ENTRY_TOPUP, kMax, "", ""}, {TG_ENTRY_TOPUP, 1, "", ""}}, "entries");
  // No overflow in the sum, but in the balance it would produce.
  apply("tn_a", "big", {kMax - 10});
  expectInvalid("k", {{TG_ENTRY_TOPUP, 11, "", ""}}, "entries");
  EXPECT_EQ(balance("tn_a"), kMax - 10);

  EXPECT_EQ(statusOf([&] { store().applyLedger("tn_a", "GBP", "k", {ok}, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().applyLedger("tn_nobody", "USD", "k", {ok}, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().applyLedger("tn_a", "usd", "k", {ok}, kT0); }),
            TG_ERR_INVALID_ARGUMENT);
  // None of the refused keys was consumed.
  EXPECT_EQ(apply("tn_a", "k", {-1}).outcome, TG_APPLY_APPLIED);
  expectConsistent("tn_a");
}

TEST_P(LedgerTest, ListPagesInSeqOrder) {
  apply("tn_a", "topup", {1000000});
  for (int i = 0; i < 24; ++i) apply("tn_a", "c" + std::to_string(i), {-(i + 1)});
  std::vector<int64_t> amounts;
  int64_t after = 0;
  int pages = 0;
  for (;;) {
    const auto page = store().ledger("tn_a", "USD", after, 10);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 10u);
    ++pages;
    for (const auto& e : page) {
      EXPECT_GT(e.seq, after);
      amounts.push_back(e.amount_micros);
      after = e.seq;
    }
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(amounts.size(), 25u);
  EXPECT_EQ(amounts[0], 1000000);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(amounts[i + 1], -(i + 1));
  EXPECT_TRUE(store().ledger("tn_a", "USD", 0, 0).empty());
  expectConsistent("tn_a");
}

TEST_P(LedgerTest, TenantsAreIsolated) {
  apply("tn_a", "topup", {5000});
  createTenant("tn_b");
  // B has no USD wallet: it can neither see, list nor charge A's.
  EXPECT_FALSE(store().wallet("tn_b", "USD").has_value());
  EXPECT_EQ(statusOf([&] { store().ledger("tn_b", "USD", 0, 100); }), TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { apply("tn_b", "steal", {-5000}); }), TG_ERR_NOT_FOUND);
  EXPECT_EQ(balance("tn_a"), 5000);

  // With a wallet of its own, B sees only its own entries, and idempotency keys are per
  // tenant: B's "topup" is not A's.
  createWallet("tn_b");
  EXPECT_TRUE(store().ledger("tn_b", "USD", 0, 100).empty());
  EXPECT_EQ(apply("tn_b", "topup", {70}).outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(balance("tn_b"), 70);
  EXPECT_EQ(balance("tn_a"), 5000);
  const auto b_entries = allEntries("tn_b");
  ASSERT_EQ(b_entries.size(), 1u);
  EXPECT_EQ(b_entries[0].tenant_id, "tn_b");
  expectConsistent("tn_a");
  expectConsistent("tn_b");
}

// The same key sent to two wallets of one tenant at once: the wallets' locks do not order the
// two, yet the key must apply exactly once and every other attempt report ALREADY_APPLIED.
TEST_P(LedgerTest, OneKeyOnTwoWalletsAtOnceAppliesOnce) {
  createWallet("tn_a", "EUR");
  for (int round = 0; round < 5; ++round) {
    const std::string key = "dual-" + std::to_string(round);
    constexpr int kThreads = 8;
    std::latch start(kThreads);
    std::atomic<int> applied{0}, already{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          const auto r = apply("tn_a", key, {100 + round}, i % 2 == 0 ? "USD" : "EUR");
          if (r.outcome == TG_APPLY_APPLIED) applied++;
          if (r.outcome == TG_APPLY_ALREADY_APPLIED) already++;
        } catch (const storage::StorageError& e) {
          ADD_FAILURE() << e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(applied.load(), 1) << key;
    EXPECT_EQ(already.load(), kThreads - 1) << key;
  }
  EXPECT_EQ(allEntries("tn_a", "USD").size() + allEntries("tn_a", "EUR").size(), 5u);
  expectConsistent("tn_a", "USD");
  expectConsistent("tn_a", "EUR");
}

// A write stuck behind another transaction's lock gives up at the call's deadline (rather
// than at the engine's much longer configured timeout), and works once the lock is gone.
TEST_P(LedgerTest, AWriteBlockedPastItsDeadlineGivesUp) {
  apply("tn_a", "topup", {1000});
  auto impatient = loadAnotherDaemon(std::chrono::milliseconds(400));
  ASSERT_TRUE(impatient.store);
  auto blocker = rawSession();
  if (isPostgres()) {
    blocker.begin();
    Poco::Int64 b = 0;
    blocker << "SELECT balance_micros FROM wallets WHERE tenant_id = 'tn_a' FOR UPDATE",
        kw::into(b), kw::now;
  } else {
    blocker << "BEGIN IMMEDIATE", kw::now;
  }
  const auto start = std::chrono::steady_clock::now();
  std::string msg;
  const tg_status st = statusOf(
      [&] {
        impatient.store->applyLedger("tn_a", "USD", "blocked", {{TG_ENTRY_CHARGE, -1, "", ""}},
                                     kT0);
      },
      &msg);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st, TG_ERR_DEADLINE) << msg;
  EXPECT_LT(waited, std::chrono::seconds(5));
  if (isPostgres()) {
    blocker.rollback();
  } else {
    blocker << "ROLLBACK", kw::now;
  }
  EXPECT_EQ(
      impatient.store->applyLedger("tn_a", "USD", "blocked", {{TG_ENTRY_CHARGE, -1, "", ""}}, kT0)
          .outcome,
      TG_APPLY_APPLIED);
  expectConsistent("tn_a");
}

// The headline: 16 threads debit one wallet at once until the money runs out. Most keys are
// unique; every tenth debit of a thread uses a key (and amount) that all threads share, so each
// shared key is raced by 16 callers. Whatever the interleaving, money is neither created nor
// lost, the balance never goes below zero, and every key is applied at most once.
TEST_P(LedgerTest, SixteenThreadsDebitingOneWallet) {
  constexpr int kThreads = 16;
  constexpr int kDebitsPerThread = 50;
  constexpr int64_t kStart = 1000000;
  ASSERT_EQ(apply("tn_a", "initial-topup", {kStart}).outcome, TG_APPLY_APPLIED);

  struct Call {
    std::string key;
    int64_t amount;
    ApplyResult result;
  };
  // Varying amounts, 100..4999 micros: about twice the money there is.
  const auto amountOf = [](int thread, int i) -> int64_t {
    return i % 10 == 0 ? 1000 + i * 10 : 100 + ((thread * kDebitsPerThread + i) * 7919) % 4900;
  };
  std::vector<std::vector<Call>> calls(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kDebitsPerThread; ++i) {
        const std::string key = i % 10 == 0 ? "shared-" + std::to_string(i)
                                            : "t" + std::to_string(t) + "-" + std::to_string(i);
        const int64_t amount = amountOf(t, i);
        try {
          calls[t].push_back({key, amount, apply("tn_a", key, {-amount})});
        } catch (const storage::StorageError& e) {
          ADD_FAILURE() << key << ": " << e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_FALSE(HasFailure());

  // Outcomes per key.
  std::map<std::string, std::vector<Call>> by_key;
  for (const auto& per_thread : calls) {
    for (const auto& c : per_thread) by_key[c.key].push_back(c);
  }
  int64_t applied_sum = 0;
  int applied_count = 0;
  int refused = 0;
  std::set<std::string> applied_keys;
  for (const auto& [key, list] : by_key) {
    int applied = 0;
    const Call* winner = nullptr;
    for (const auto& c : list) {
      if (c.result.outcome == TG_APPLY_APPLIED) {
        ++applied;
        winner = &c;
      }
      if (c.result.outcome == TG_APPLY_INSUFFICIENT_FUNDS) ++refused;
    }
    ASSERT_LE(applied, 1) << key << " applied more than once";
    if (winner == nullptr) {
      // Never applied: then nobody may have been told it was.
      for (const auto& c : list) EXPECT_EQ(c.result.outcome, TG_APPLY_INSUFFICIENT_FUNDS) << key;
      continue;
    }
    for (const auto& c : list) {
      if (&c == winner) continue;
      // The balance only falls, so a key refused for lack of funds cannot have applied later.
      EXPECT_EQ(c.result.outcome, TG_APPLY_ALREADY_APPLIED) << key;
      EXPECT_EQ(c.result.balance_micros, winner->result.balance_micros) << key;
      EXPECT_EQ(c.result.first_seq, winner->result.first_seq) << key;
    }
    applied_sum += winner->amount;
    ++applied_count;
    applied_keys.insert(key);
  }
  EXPECT_GT(refused, 0) << "the money should have run out";
  EXPECT_GT(applied_count, 100);

  // The balance is exact, never negative, and equal to the ledger.
  const int64_t final_balance = balance("tn_a");
  EXPECT_EQ(final_balance, kStart - applied_sum);
  EXPECT_GE(final_balance, 0);
  const auto entries = allEntries("tn_a");
  ASSERT_EQ(entries.size(), static_cast<size_t>(applied_count) + 1);
  int64_t running = 0;
  std::set<std::string> entry_keys;
  for (const auto& e : entries) {
    running += e.amount_micros;
    EXPECT_EQ(e.balance_after_micros, running) << "seq " << e.seq;
    EXPECT_GE(e.balance_after_micros, 0) << "seq " << e.seq;
    EXPECT_TRUE(entry_keys.insert(e.idempotency_key).second) << e.idempotency_key << " twice";
  }
  EXPECT_EQ(running, final_balance);
  entry_keys.erase("initial-topup");
  EXPECT_EQ(entry_keys, applied_keys);

  // Every applied key has exactly one transaction record, and no other key has one.
  auto s = rawSession();
  Poco::Int64 records = 0, distinct = 0;
  s << "SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM ledger_transactions "
       "WHERE tenant_id = 'tn_a'",
      kw::into(records), kw::into(distinct), kw::now;
  EXPECT_EQ(records, applied_count + 1);
  EXPECT_EQ(distinct, applied_count + 1);
  expectConsistent("tn_a");
}

// Charges go through the write path's group commit: applies queued behind a busy writer are
// committed together, each with its own outcome (a repeated key, a refused debit) and with
// every balance_after exact.
TEST_P(LedgerTest, ChargesQueuedBehindABusyWriterShareCommits) {
  apply("tn_a", "topup", {1000});
  // Hold the writer: on PostgreSQL a first charge waits for the wallet's row lock the test
  // holds; on SQLite the writer waits for the test's write transaction.
  Poco::Data::Session holder = rawSession();
  std::future<ApplyResult> first;
  if (isPostgres()) {
    holder << "BEGIN", kw::now;
    Poco::Int64 b = 0;
    holder << "SELECT balance_micros FROM wallets WHERE tenant_id = 'tn_a' FOR UPDATE", kw::into(b),
        kw::now;
    first = std::async(std::launch::async, [&] { return apply("tn_a", "first", {-100}); });
    Poco::Data::Session watch = rawSession();
    int waiting = 0;
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         waiting == 0 && std::chrono::steady_clock::now() < end;) {
      watch << "SELECT COUNT(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
          kw::into(waiting), kw::now;
      if (waiting == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GT(waiting, 0) << "the first charge did not wait for the wallet's lock";
  } else {
    holder << "BEGIN IMMEDIATE", kw::now;
  }
  auto before = store().plugin().metrics();
  // 8 debits of 100, one of them twice (same key), and one of 5000 that must be refused.
  std::vector<std::pair<std::string, int64_t>> charges;
  for (int i = 0; i < 8; ++i) charges.emplace_back("debit-" + std::to_string(i), -100);
  charges.emplace_back("debit-3", -100);
  charges.emplace_back("too-much", -5000);
  std::latch started(static_cast<ptrdiff_t>(charges.size()) + 1);
  std::vector<std::future<ApplyResult>> results;
  for (const auto& [key, amount] : charges) {
    results.push_back(std::async(std::launch::async, [&, key = key, amount = amount] {
      started.count_down();
      return apply("tn_a", key, {amount});
    }));
  }
  started.arrive_and_wait();
  if (isPostgres()) {
    holder << "COMMIT", kw::now;
    EXPECT_EQ(first.get().outcome, TG_APPLY_APPLIED);
  } else {
    holder << "COMMIT", kw::now;
  }
  std::vector<ApplyResult> r;
  for (auto& f : results) r.push_back(f.get());
  for (int i = 0; i < 8; ++i) {
    if (i != 3) {
      EXPECT_EQ(r[i].outcome, TG_APPLY_APPLIED) << i;
    }
  }
  EXPECT_NE(r[3].outcome, r[8].outcome) << "the repeated key applies once";
  EXPECT_EQ(r[3].balance_micros, r[8].balance_micros) << "and answers both with one result";
  EXPECT_EQ(r[9].outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(balance("tn_a"), 1000 - 100 * (isPostgres() ? 9 : 8));
  expectConsistent("tn_a");
  auto after = store().plugin().metrics();
  const auto n = static_cast<int64_t>(charges.size());
  EXPECT_GE(after["group_commit_units"] - before["group_commit_units"], n);
  EXPECT_LT(after["group_commits"] - before["group_commits"], n);
}

// Blnk #183: its overdraft guard depended on the order of a transaction's legs. Here only the
// apply's sum is held against the limit, so the same legs in any order get the same answer.
TEST_P(LedgerTest, TheFundsCheckDoesNotDependOnTheOrderOfTheLegs) {
  EXPECT_EQ(apply("tn_a", "debit-first", {-500, 1000}).outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(apply("tn_a", "credit-first", {1000, -500}).outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(balance("tn_a"), 1000);
  EXPECT_EQ(apply("tn_a", "short-a", {-2500, 1000}).outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(apply("tn_a", "short-b", {1000, -2500}).outcome, TG_APPLY_INSUFFICIENT_FUNDS);
  EXPECT_EQ(balance("tn_a"), 1000);
  expectConsistent("tn_a");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, ::testing::Values("sqlite", "postgres"),
                         backendName);

}  // namespace
}  // namespace tollgate::testing
