// Storage conformance for ABI 1.3: units of work. All of a unit or none of it; a claim that
// finds its key applies nothing; one failing unit never undoes another, though both backends
// commit many units in one transaction (group commit; on PostgreSQL in pipelined rounds).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "conformance_records.hpp"
#include "storage/unit.hpp"

namespace tollgate::testing {
namespace {

using storage::Completion;
using storage::IdempotencyRecord;
using storage::OptOutChange;
using storage::StatusChange;
using storage::Unit;
using storage::UnitResult;

class UnitsTest : public RecordsTest {
 protected:

  static IdempotencyRecord claim(const std::string& tenant, const std::string& key) {
    return IdempotencyRecord{.tenant_id = tenant, .scope = "sms", .key = key, .created_at_ms = kT0};
  }
  static Completion answer(const std::string& key, const std::string& body = "<Response/>") {
    return Completion{.scope = "sms", .key = key, .response_status = 200, .response_body = body};
  }
  // PostgreSQL: whether some session waits for an advisory lock (a unit on a registry lock the
  // test holds). Polled, with a generous bound, never slept on as a guess.
  bool someoneWaitsForAnAdvisoryLock(int waiters = 1) {
    Poco::Data::Session watch = rawSession();
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         std::chrono::steady_clock::now() < end;) {
      int n = 0;
      watch << "SELECT COUNT(*)::int FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
          Poco::Data::Keywords::into(n), Poco::Data::Keywords::now;
      if (n >= waiters) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // What one inbound SMS webhook writes.
  static Unit webhook(const std::string& tenant, const std::string& sid) {
    Unit u(tenant);
    u.claim(claim(tenant, sid));
    u.insertMessage(message(tenant, sid));
    u.complete(answer(sid, "<Response>" + sid + "</Response>"));
    return u;
  }
};

TEST_P(UnitsTest, AppliesEveryOperationTogetherAndReportsEach) {
  Unit u("tn_a");
  const auto claimed = u.claim(claim("tn_a", "SM1"));
  const auto inserted = u.insertMessage(message("tn_a", "SM1"));
  const auto stop = u.setOptOut(OptOutChange{.phone = "+14155550001",
                                             .opted_out = true,
                                             .keyword = "STOP",
                                             .message_sid = "SM1",
                                             .now_ms = kT0});
  const auto answered = u.complete(answer("SM1"));
  const UnitResult r = store().apply(u);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.result(claimed), TG_UNIT_CHANGED);
  EXPECT_EQ(r.result(inserted), TG_UNIT_CHANGED);
  EXPECT_EQ(r.result(stop), TG_UNIT_CHANGED);
  EXPECT_EQ(r.result(answered), TG_UNIT_CHANGED);

  ASSERT_TRUE(store().message("tn_a", "SM1").has_value());
  EXPECT_TRUE(store().optedOut("tn_a", "+14155550001"));
  const auto stored = store().claimIdempotency(claim("tn_a", "SM1"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->response_status, 200);
  EXPECT_EQ(stored->response_body, "<Response/>");
}

TEST_P(UnitsTest, AClaimThatFindsItsKeyAppliesNothingAndReturnsTheStoredRecord) {
  ASSERT_FALSE(store().apply(webhook("tn_a", "SM1")).duplicate);
  Unit again("tn_a");
  again.claim(claim("tn_a", "SM1"));
  again.insertMessage(message("tn_a", "SM2"));  // would be new: must not be written
  again.setOptOut(OptOutChange{.phone = "+14155550009", .opted_out = true, .now_ms = kT0});
  again.complete(answer("SM1", "<Response>other</Response>"));
  const UnitResult r = store().apply(again);
  ASSERT_TRUE(r.duplicate);
  ASSERT_TRUE(r.existing.has_value());
  EXPECT_EQ(r.existing->response_status, 200);
  EXPECT_EQ(r.existing->response_body, "<Response>SM1</Response>");
  EXPECT_FALSE(store().message("tn_a", "SM2").has_value());
  EXPECT_FALSE(store().optedOut("tn_a", "+14155550009"));
}

TEST_P(UnitsTest, ExistingRowsAreLeftAloneAndMissingRecordsAreReported) {
  store().insertMessage(message("tn_a", "SM1", kT0, "delivered", 5));
  store().insertCall(call("tn_a", "CA1"));
  Unit u("tn_a");
  const auto again = u.insertMessage(message("tn_a", "SM1"));
  const auto older = u.updateMessageStatus(
      StatusChange{.sid = "SM1", .status = "sent", .status_rank = 3, .now_ms = kT0 + 1});
  const auto unknown = u.updateMessageStatus(
      StatusChange{.sid = "SMnone", .status = "sent", .status_rank = 3, .now_ms = kT0 + 1});
  const auto done = u.updateCallStatus(StatusChange{
      .sid = "CA1", .status = "completed", .status_rank = 10, .duration_s = 42, .now_ms = kT0 + 2});
  const auto recording = u.setCallRecording(storage::RecordingChange{
      .sid = "CA1", .recording_url = "https://api.twilio.com/rec/RE1", .now_ms = kT0 + 3});
  const auto no_call = u.setCallRecording(storage::RecordingChange{
      .sid = "CAnone", .recording_url = "https://api.twilio.com/rec/RE2", .now_ms = kT0 + 3});
  const UnitResult r = store().apply(u);
  EXPECT_EQ(r.result(again), TG_UNIT_UNCHANGED);
  EXPECT_EQ(r.result(older), TG_UNIT_UNCHANGED);
  EXPECT_EQ(r.result(unknown), TG_UNIT_MISSING);
  EXPECT_EQ(r.result(done), TG_UNIT_CHANGED);
  EXPECT_EQ(r.result(recording), TG_UNIT_CHANGED);
  EXPECT_EQ(r.result(no_call), TG_UNIT_MISSING);
  EXPECT_EQ(store().message("tn_a", "SM1")->status, "delivered");
  const auto c = store().call("tn_a", "CA1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, "completed");
  EXPECT_EQ(c->duration_s, 42);
  EXPECT_EQ(c->recording_url, "https://api.twilio.com/rec/RE1");
}

TEST_P(UnitsTest, AFailingOperationUndoesItsWholeUnit) {
  Unit u("tn_a");
  u.claim(claim("tn_a", "SM1"));
  u.insertMessage(message("tn_a", "SM1"));
  u.complete(answer("SMnever"));  // never claimed: fails the unit
  EXPECT_EQ(statusOf([&] { store().apply(u); }), TG_ERR_NOT_FOUND);
  if (withoutUnitApply()) {
    // What was written stays; the claim is released, for the retry to take over at once.
    const UnitResult again = store().apply(webhook("tn_a", "SM1"));
    ASSERT_TRUE(again.duplicate);
    EXPECT_EQ(again.existing->response_status, 0);
    EXPECT_EQ(again.existing->created_at_ms, 0);
    return;
  }
  EXPECT_FALSE(store().message("tn_a", "SM1").has_value());
  // The claim went too: the same webhook is processed afresh.
  EXPECT_FALSE(store().apply(webhook("tn_a", "SM1")).duplicate);

  Unit bad("tn_a");
  bad.insertMessage(message("tn_a", "SM2"));
  bad.insertMessage(message("tn_a", std::string(300, 'x')));  // sid too long: refused
  EXPECT_EQ(statusOf([&] { store().apply(bad); }), TG_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(store().message("tn_a", "SM2").has_value());
}

// Many threads at once, as webhooks arrive: good units interleaved with units that fail in the
// database (a row for a tenant that does not exist) and units that fail in the backend's own
// checks. Every good unit is stored whole; nothing of a failing one is; and with group commit
// the failures share transactions with the good units they must not undo.
TEST_P(UnitsTest, FailingUnitsAmongConcurrentGoodOnesFailAlone) {
  if (withoutUnitApply()) GTEST_SKIP() << "not atomic without unit_apply";
  constexpr int kThreads = 8, kPerThread = 40;
  std::latch go(kThreads);
  std::atomic<int> failed{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string sid = "SM" + std::to_string(t) + "x" + std::to_string(i);
        try {
          if (i % 4 == 1) {  // fails in the database: the message's tenant is unknown
            Unit u("tn_ghost");
            u.claim(claim("tn_ghost", sid));
            u.insertMessage(message("tn_ghost", sid));
            u.complete(answer(sid));
            store().apply(u);
            wrong.fetch_add(1);
          } else if (i % 4 == 3) {  // fails in a later operation, after good writes
            Unit u("tn_a");
            u.claim(claim("tn_a", sid));
            u.insertMessage(message("tn_a", sid));
            u.complete(answer("never-" + sid));
            store().apply(u);
            wrong.fetch_add(1);
          } else if (store().apply(webhook("tn_a", sid)).duplicate) {
            wrong.fetch_add(1);
          }
        } catch (const storage::StorageError&) {
          failed.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), kThreads * kPerThread / 2);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string sid = "SM" + std::to_string(t) + "x" + std::to_string(i);
      const bool good = i % 2 == 0;
      EXPECT_EQ(store().message("tn_a", sid).has_value(), good) << sid;
      const auto stored = store().claimIdempotency(claim("tn_a", sid + "-probe"));
      EXPECT_FALSE(stored.has_value());
      if (good) {
        const auto again = store().apply(webhook("tn_a", sid));
        ASSERT_TRUE(again.duplicate) << sid;
        EXPECT_EQ(again.existing->response_body, "<Response>" + sid + "</Response>");
      }
    }
  }
}

// Webhooks in flight together are committed together (storage-sqlite: a SAVEPOINT each;
// storage-postgres: rounds of statements sent at once), and each keeps the outcome it would
// have alone: new records; duplicates of a stored webhook and of each other; status updates
// that apply, come too late, or find no record; replies withheld by the registry or by the
// unit's own STOP, and one that stands. The writer is held while they queue, so that they
// share one batch.
TEST_P(UnitsTest, WebhooksCommittedTogetherKeepTheirOwnOutcomes) {
  if (withoutUnitApply()) GTEST_SKIP() << "no group commit without unit_apply";
  ASSERT_FALSE(store().apply(webhook("tn_a", "SMdone")).duplicate);
  store().insertMessage(message("tn_a", "SMold", kT0, "delivered", 5));
  store().insertMessage(message("tn_a", "SMlate", kT0, "queued", 1));
  store().setOptOut("tn_a", "+14155550002", true, "STOP", "SMx", kT0);

  const auto replying = [](const std::string& key, const std::string& phone) {
    Completion c = answer(key, "<Response><Message>hi</Message></Response>");
    c.reply_to = phone;
    c.no_reply_body = "<Response/>";
    return c;
  };
  const auto statusOf = [](const std::string& key, const std::string& sid, int32_t rank) {
    Unit u("tn_a");
    u.claim(claim("tn_a", key));
    u.updateMessageStatus(StatusChange{.sid = sid,
                                       .status = rank >= 5 ? "delivered" : "sent",
                                       .status_rank = rank,
                                       .now_ms = kT0 + 1});
    u.complete(answer(key));
    return u;
  };
  std::vector<Unit> units;
  units.push_back(webhook("tn_a", "SMnew1"));
  units.push_back(webhook("tn_b", "SMnew2"));
  units.push_back(webhook("tn_a", "SMdone"));
  units.push_back(webhook("tn_a", "SMtwin"));
  units.push_back(webhook("tn_a", "SMtwin"));
  units.push_back(statusOf("ST1", "SMold", 3));
  units.push_back(statusOf("ST2", "SMnone", 3));
  units.push_back(statusOf("ST3", "SMlate", 5));
  {
    Unit u("tn_a");
    u.claim(claim("tn_a", "SMr1"));
    u.complete(replying("SMr1", "+14155550002"));
    units.push_back(std::move(u));
  }
  {
    Unit u("tn_a");
    u.claim(claim("tn_a", "SMr2"));
    u.setOptOut(OptOutChange{.phone = "+14155550003", .opted_out = true, .now_ms = kT0});
    u.complete(replying("SMr2", "+14155550003"));
    units.push_back(std::move(u));
  }
  {
    Unit u("tn_a");
    u.claim(claim("tn_a", "SMr3"));
    u.complete(replying("SMr3", "+14155550004"));
    units.push_back(std::move(u));
  }

  // Hold the writers: on PostgreSQL a first unit on each writer connection (kPgWriters)
  // waits for a registry lock the test holds; on SQLite the writer waits for the test's write
  // transaction.
  Poco::Data::Session holder = rawSession();
  std::vector<std::future<UnitResult>> firsts;
  if (isPostgres()) {
    holder << "BEGIN", Poco::Data::Keywords::now;
    for (int w = 0; w < kPgWriters; ++w) {
      const std::string phone = "+1415555009" + std::to_string(w);
      holder << "SELECT 1 FROM pg_advisory_xact_lock(1952927567, hashtext('tn_a/" + phone + "'))",
          Poco::Data::Keywords::now;
      firsts.push_back(std::async(std::launch::async, [&, w, phone] {
        Unit u("tn_a");
        u.claim(claim("tn_a", "SMfirst" + std::to_string(w)));
        u.complete(replying("SMfirst" + std::to_string(w), phone));
        return store().apply(u);
      }));
      ASSERT_TRUE(someoneWaitsForAnAdvisoryLock(w + 1))
          << "first unit " << w << " did not wait for the registry lock";
    }
  } else {
    holder << "BEGIN IMMEDIATE", Poco::Data::Keywords::now;
  }
  auto before = store().plugin().metrics();
  std::latch started(static_cast<ptrdiff_t>(units.size()) + 1);
  std::vector<std::future<UnitResult>> results;
  for (Unit& u : units) {
    results.push_back(std::async(std::launch::async, [&] {
      started.count_down();
      return store().apply(u);
    }));
  }
  started.arrive_and_wait();
  holder << "COMMIT", Poco::Data::Keywords::now;
  for (auto& f : firsts) EXPECT_EQ(f.get().result(1), TG_UNIT_CHANGED);

  std::vector<UnitResult> r;
  for (auto& f : results) r.push_back(f.get());
  EXPECT_FALSE(r[0].duplicate);
  EXPECT_FALSE(r[1].duplicate);
  EXPECT_TRUE(store().message("tn_a", "SMnew1").has_value());
  EXPECT_TRUE(store().message("tn_b", "SMnew2").has_value());
  ASSERT_TRUE(r[2].duplicate);
  EXPECT_EQ(r[2].existing->response_body, "<Response>SMdone</Response>");
  EXPECT_NE(r[3].duplicate, r[4].duplicate) << "exactly one of the twins applies";
  const UnitResult& twin = r[3].duplicate ? r[3] : r[4];
  ASSERT_TRUE(twin.existing.has_value());
  EXPECT_EQ(twin.existing->response_body, "<Response>SMtwin</Response>");
  EXPECT_EQ(r[5].result(1), TG_UNIT_UNCHANGED);
  EXPECT_EQ(r[6].result(1), TG_UNIT_MISSING);
  EXPECT_EQ(r[7].result(1), TG_UNIT_CHANGED);
  EXPECT_EQ(store().message("tn_a", "SMold")->status, "delivered");
  EXPECT_EQ(store().message("tn_a", "SMlate")->status, "delivered");
  EXPECT_EQ(r[8].result(1), TG_UNIT_NO_REPLY);
  EXPECT_EQ(store().claimIdempotency(claim("tn_a", "SMr1"))->response_body, "<Response/>");
  EXPECT_EQ(r[9].result(2), TG_UNIT_NO_REPLY);
  EXPECT_TRUE(store().optedOut("tn_a", "+14155550003"));
  EXPECT_EQ(r[10].result(1), TG_UNIT_CHANGED);
  EXPECT_EQ(store().claimIdempotency(claim("tn_a", "SMr3"))->response_body,
            "<Response><Message>hi</Message></Response>");

  // They shared commits: fewer commits than units.
  auto after = store().plugin().metrics();
  const int64_t commits = after["group_commits"] - before["group_commits"];
  EXPECT_LT(commits, static_cast<int64_t>(units.size()));
}

// Of concurrent units that claim one key, exactly one applies; the others see its record.
TEST_P(UnitsTest, ConcurrentClaimsOfOneKeyApplyExactlyOnce) {
  constexpr int kThreads = 16;
  std::latch go(kThreads);
  std::atomic<int> applied{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Unit u("tn_a");
      u.claim(claim("tn_a", "SMsame"));
      u.insertMessage(message("tn_a", "SMcopy" + std::to_string(t)));
      u.complete(answer("SMsame", "<Response>" + std::to_string(t) + "</Response>"));
      go.arrive_and_wait();
      const UnitResult r = store().apply(u);
      (r.duplicate ? duplicates : applied).fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(applied.load(), 1);
  EXPECT_EQ(duplicates.load(), kThreads - 1);
  int copies = 0;
  for (int t = 0; t < kThreads; ++t) {
    copies += store().message("tn_a", "SMcopy" + std::to_string(t)).has_value() ? 1 : 0;
  }
  EXPECT_EQ(copies, 1);
}

// The reply decision is made inside the unit, by the registry as the unit leaves it.
TEST_P(UnitsTest, AReplyToAnOptedOutSenderIsWithheldInsideTheUnit) {
  const auto replying = [](const std::string& key) {
    Completion c = answer(key, "<Response><Message>hi</Message></Response>");
    c.reply_to = "+14155550001";
    c.no_reply_body = "<Response/>";
    return c;
  };
  const auto stop = [](bool opted_out) {
    return OptOutChange{.phone = "+14155550001", .opted_out = opted_out, .now_ms = kT0};
  };
  {  // never seen: the reply stands
    Unit u("tn_a");
    u.claim(claim("tn_a", "SM1"));
    const auto done = u.complete(replying("SM1"));
    EXPECT_EQ(store().apply(u).result(done), TG_UNIT_CHANGED);
  }
  {  // this unit's own STOP, before the answer
    Unit u("tn_a");
    u.claim(claim("tn_a", "SM2"));
    u.setOptOut(stop(true));
    const auto done = u.complete(replying("SM2"));
    EXPECT_EQ(store().apply(u).result(done), TG_UNIT_NO_REPLY);
    EXPECT_EQ(store().claimIdempotency(claim("tn_a", "SM2"))->response_body, "<Response/>");
  }
  {  // opted out before: withheld; another tenant's registry is its own
    Unit u("tn_a");
    u.claim(claim("tn_a", "SM3"));
    const auto done = u.complete(replying("SM3"));
    EXPECT_EQ(store().apply(u).result(done), TG_UNIT_NO_REPLY);
    Unit other("tn_b");
    other.claim(claim("tn_b", "SM3"));
    const auto done_b = other.complete(replying("SM3"));
    EXPECT_EQ(store().apply(other).result(done_b), TG_UNIT_CHANGED);
  }
  {  // a START in the unit: the reply stands
    Unit u("tn_a");
    u.claim(claim("tn_a", "SM4"));
    u.setOptOut(stop(false));
    const auto done = u.complete(replying("SM4"));
    EXPECT_EQ(store().apply(u).result(done), TG_UNIT_CHANGED);
    EXPECT_EQ(store().claimIdempotency(claim("tn_a", "SM4"))->response_body,
              "<Response><Message>hi</Message></Response>");
  }
}

// Several daemons on PostgreSQL: a reply decision waits for a registry change of the same
// sender that another connection has in flight, and then sees it; so a reply is committed
// either before a STOP or after it and withheld. (SQLite has one writer: nothing to wait for.)
TEST_P(UnitsTest, AReplyDecisionWaitsForAStopInFlightOnAnotherConnection) {
  if (!isPostgres()) GTEST_SKIP() << "one writer at a time on SQLite";
  Poco::Data::Session stop = rawSession();
  stop << "BEGIN", Poco::Data::Keywords::now;
  // What storage-postgres takes before it changes the registry (storage_postgres.cpp).
  stop << "SELECT 1 FROM pg_advisory_xact_lock(1952927567, hashtext('tn_a/+14155550001'))",
      Poco::Data::Keywords::now;
  stop << "INSERT INTO opt_outs (tenant_id, phone, opted_out, updated_at_ms) "
          "VALUES ('tn_a', '+14155550001', 1, 0)",
      Poco::Data::Keywords::now;

  std::future<int32_t> decided = std::async(std::launch::async, [&] {
    Unit u("tn_a");
    u.claim(claim("tn_a", "SM1"));
    Completion c = answer("SM1", "<Response><Message>hi</Message></Response>");
    c.reply_to = "+14155550001";
    c.no_reply_body = "<Response/>";
    const auto done = u.complete(std::move(c));
    return store().apply(u).result(done);
  });
  EXPECT_TRUE(someoneWaitsForAnAdvisoryLock())
      << "the reply decision did not wait for the STOP in flight";
  stop << "COMMIT", Poco::Data::Keywords::now;
  EXPECT_EQ(decided.get(), TG_UNIT_NO_REPLY);
}

// storage-sqlite's writer never checkpoints inside a commit (a stall for every request of its
// group); a thread of its own does, and keeps the WAL from growing without end. 1,500 units of
// 3 KB each write some 6,000 WAL pages (24 MB); checkpointed, the WAL restarts every 1,000.
TEST_P(UnitsTest, TheWalIsCheckpointedBesideTheWriter) {
  if (isPostgres()) GTEST_SKIP() << "SQLite only";
  for (int i = 0; i < 1500; ++i) {
    storage::Message m = message("tn_a", "SM" + std::to_string(i));
    m.body = std::string(3000, 'a' + static_cast<char>(i % 26));
    Unit u("tn_a");
    u.insertMessage(m);
    store().apply(u);
  }
  const auto wal = std::filesystem::file_size(sqlitePath() + "-wal");
  EXPECT_LT(wal, 16u << 20) << "the WAL grew to " << wal << " bytes: nothing checkpoints it";
}

// A plugin answering TG_ERR_UNSUPPORTED is asked once; every unit after that goes operation by
// operation.
TEST_P(UnitsTest, TheBackendAppliesUnitsItselfIfItCan) {
  EXPECT_FALSE(store().apply(webhook("tn_a", "SM1")).duplicate);
  EXPECT_EQ(store().appliesUnits(), !withoutUnitApply());
  EXPECT_TRUE(store().apply(webhook("tn_a", "SM1")).duplicate);
}

INSTANTIATE_TEST_SUITE_P(Backends, UnitsTest,
                         ::testing::Values("sqlite", "postgres", "sqlite_without_units"),
                         backendName);

}  // namespace
}  // namespace tollgate::testing
