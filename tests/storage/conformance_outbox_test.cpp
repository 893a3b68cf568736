// Storage conformance: the outbox (ABI 1.8): messages added by the send API's unit, claimed in
// batches under a lease by any number of daemons, changed only by guarded transitions, and a
// lease that runs out while sending made UNKNOWN, never QUEUED; statuses Twilio reports, in a
// status callback's unit (ABI 1.9). Same tests on every backend
// (see conformance_fixture.hpp).
#include <algorithm>
#include <latch>
#include <set>
#include <thread>

#include "conformance_records.hpp"
#include "storage/unit.hpp"

namespace tollgate::testing {
namespace {

using storage::OutboxMessage;
using storage::OutboxTransition;
using storage::Unit;

constexpr int64_t kLease = 30'000;

class OutboxTest : public RecordsTest {
 protected:
  static OutboxMessage message(const std::string& tenant, const std::string& id,
                               int64_t due = kT0) {
    return OutboxMessage{.id = id,
                         .tenant_id = tenant,
                         .from_number = "+14155550100",
                         .to_number = "+14155550111",
                         .body = "Hello " + id,
                         .media_urls = "https://example.com/a.png\nhttps://example.com/b.png",
                         .status_callback = "https://app.example/status",
                         .segments = 1,
                         .currency = "USD",
                         .hold_id = "send:" + id,
                         .state = TG_OUTBOX_QUEUED,
                         .next_attempt_at_ms = due,
                         .created_at_ms = kT0 - 1000};
  }
  // What the send API's unit writes: the idempotency claim, the message, the answer.
  int32_t send(const OutboxMessage& m) {
    Unit u(m.tenant_id);
    u.claim(storage::IdempotencyRecord{
        .tenant_id = m.tenant_id, .scope = "send", .key = m.id, .created_at_ms = kT0});
    const auto added = u.addToOutbox(m);
    u.complete(storage::Completion{
        .scope = "send", .key = m.id, .response_status = 202, .response_body = "{}"});
    return store().apply(u).result(added);
  }
  OutboxMessage stored(const std::string& tenant, const std::string& id) {
    const auto m = store().outboxMessage(tenant, id);
    EXPECT_TRUE(m.has_value()) << id;
    return m.value_or(OutboxMessage{});
  }
  static OutboxTransition accept(const OutboxMessage& m, const std::string& owner,
                                 int64_t now = kT0 + 10) {
    return OutboxTransition{.tenant_id = m.tenant_id,
                            .id = m.id,
                            .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING),
                            .lease_owner = owner,
                            .to_state = TG_OUTBOX_ACCEPTED,
                            .twilio_sid = "SM" + std::string(32, 'a'),
                            .twilio_status = "queued",
                            .status_rank = 1,
                            .now_ms = now};
  }
};

TEST_P(OutboxTest, TheSendUnitAddsAMessageOnceAndItReadsBackAsWritten) {
  ASSERT_TRUE(store().hasOutbox());
  EXPECT_EQ(send(message("tn_a", "om_1")), TG_UNIT_CHANGED);
  Unit again("tn_a");
  const auto i = again.addToOutbox(message("tn_a", "om_1", kT0 + 5));
  EXPECT_EQ(store().apply(again).result(i), TG_UNIT_UNCHANGED);
  const OutboxMessage m = stored("tn_a", "om_1");
  EXPECT_EQ(m.tenant_id, "tn_a");
  EXPECT_EQ(m.body, "Hello om_1");
  EXPECT_EQ(m.media_urls, "https://example.com/a.png\nhttps://example.com/b.png");
  EXPECT_EQ(m.status_callback, "https://app.example/status");
  EXPECT_EQ(m.segments, 1);
  EXPECT_EQ(m.currency, "USD");
  EXPECT_EQ(m.hold_id, "send:om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_QUEUED);
  EXPECT_EQ(m.attempts, 0);
  EXPECT_EQ(m.next_attempt_at_ms, kT0) << "the first stays";
  EXPECT_EQ(m.created_at_ms, kT0 - 1000);
  EXPECT_FALSE(store().outboxMessage("tn_b", "om_1").has_value()) << "another tenant's";
  // A message enters QUEUED, or the unit fails.
  OutboxMessage bad = message("tn_a", "om_2");
  bad.state = TG_OUTBOX_ACCEPTED;
  Unit u("tn_a");
  u.addToOutbox(bad);
  EXPECT_EQ(statusOf([&] { store().apply(u); }), TG_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(store().outboxMessage("tn_a", "om_2").has_value());
}

TEST_P(OutboxTest, AClaimTakesDueMessagesOldestFirstUnderALease) {
  send(message("tn_a", "om_late", kT0 + 60'000));  // not due yet
  send(message("tn_a", "om_2", kT0 - 10));
  send(message("tn_b", "om_1", kT0 - 20));
  send(message("tn_a", "om_3", kT0));
  const auto first = store().claimOutbox(kT0, kLease, "daemon-1", 2);
  ASSERT_EQ(first.size(), 2u);
  std::set<std::string> ids;
  for (const OutboxMessage& m : first) {
    ids.insert(m.id);
    EXPECT_EQ(m.state, TG_OUTBOX_SENDING);
    EXPECT_EQ(m.lease_owner, "daemon-1");
    EXPECT_EQ(m.lease_until_ms, kT0 + kLease);
    EXPECT_EQ(m.attempts, 1);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"om_1", "om_2"}));
  const auto rest = store().claimOutbox(kT0, kLease, "daemon-1", 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, "om_3");
  EXPECT_TRUE(store().claimOutbox(kT0, kLease, "daemon-2", 10).empty()) << "none due";
  EXPECT_EQ(store().claimOutbox(kT0 + 60'000, kLease, "daemon-2", 10).size(), 1u);
  EXPECT_EQ(store().outboxMessages("", TG_OUTBOX_SENDING, 10).size(), 4u);
  EXPECT_EQ(store().outboxMessages("tn_b", TG_OUTBOX_SENDING, 10).size(), 1u);
}

TEST_P(OutboxTest, TransitionsApplyOnlyFromTheirStatesAndTheLeasesOwner) {
  send(message("tn_a", "om_1"));
  const auto claimed = store().claimOutbox(kT0, kLease, "daemon-1", 10);
  ASSERT_EQ(claimed.size(), 1u);
  const OutboxMessage& m = claimed[0];
  // Another daemon's, and one from the wrong state, change nothing.
  EXPECT_EQ(store().transitionOutbox({accept(m, "daemon-2")}), std::vector<bool>{false});
  OutboxTransition wrong = accept(m, "daemon-1");
  wrong.from_states = TG_OUTBOX_IN(TG_OUTBOX_QUEUED);
  EXPECT_EQ(store().transitionOutbox({wrong}), std::vector<bool>{false});
  EXPECT_EQ(stored("tn_a", "om_1").state, TG_OUTBOX_SENDING);

  EXPECT_EQ(store().transitionOutbox({accept(m, "daemon-1")}), std::vector<bool>{true});
  OutboxMessage now = stored("tn_a", "om_1");
  EXPECT_EQ(now.state, TG_OUTBOX_ACCEPTED);
  EXPECT_EQ(now.twilio_sid, "SM" + std::string(32, 'a'));
  EXPECT_EQ(now.twilio_status, "queued");
  EXPECT_EQ(now.lease_owner, "") << "leaving SENDING clears the lease";
  EXPECT_EQ(now.lease_until_ms, 0);
  // Callbacks: statuses only move forward; a late 'sent' after 'delivered' changes nothing.
  const auto status = [&](const std::string& s, int rank, tg_outbox_state to) {
    return OutboxTransition{
        .tenant_id = "tn_a",
        .id = "om_1",
        .from_states = TG_OUTBOX_IN(TG_OUTBOX_ACCEPTED) | TG_OUTBOX_IN(TG_OUTBOX_DELIVERED),
        .to_state = to,
        .twilio_status = s,
        .status_rank = rank,
        .now_ms = kT0 + 20};
  };
  EXPECT_EQ(store().transitionOutbox({status("delivered", 4, TG_OUTBOX_DELIVERED),
                                      status("sent", 3, TG_OUTBOX_DELIVERED)}),
            (std::vector<bool>{true, true}));
  now = stored("tn_a", "om_1");
  EXPECT_EQ(now.state, TG_OUTBOX_DELIVERED);
  EXPECT_EQ(now.twilio_status, "delivered");
  EXPECT_EQ(now.status_rank, 4);
  // A final state is left by nothing that does not name it.
  EXPECT_EQ(store().transitionOutbox({accept(m, "daemon-1")}), std::vector<bool>{false});
  // Unknown ids are not applied; a bad transition fails the call, naming its field.
  OutboxTransition missing = accept(m, "daemon-1");
  missing.id = "om_missing";
  EXPECT_EQ(store().transitionOutbox({missing}), std::vector<bool>{false});
  OutboxTransition bad = accept(m, "daemon-1");
  bad.from_states = 0;
  std::string why;
  EXPECT_EQ(statusOf([&] { store().transitionOutbox({bad}); }, &why), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(why.find("from_states"), std::string::npos) << why;
}

// What a status callback's unit writes: its idempotency claim, the status, the answer.
int32_t reportStatus(storage::Store& store, const std::string& tenant, const std::string& id,
                     const std::string& status, int rank, tg_outbox_state to) {
  Unit u(tenant);
  const std::string key = id + ":" + status;
  u.claim(storage::IdempotencyRecord{
      .tenant_id = tenant, .scope = "sms-status", .key = key, .created_at_ms = kT0});
  const auto changed = u.setOutboxStatus(OutboxTransition{
      .tenant_id = tenant,
      .id = id,
      .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING) | TG_OUTBOX_IN(TG_OUTBOX_ACCEPTED) |
                     TG_OUTBOX_IN(TG_OUTBOX_UNKNOWN),
      .lease_owner = {},
      .to_state = to,
      .twilio_sid = "SM" + std::string(32, 'b'),
      .twilio_status = status,
      .status_rank = rank,
      .error_code = to == TG_OUTBOX_FAILED ? 30008 : 0,
      .error = {},
      .next_attempt_at_ms = 0,
      .now_ms = kT0 + 50});
  u.complete(storage::Completion{
      .scope = "sms-status", .key = key, .response_status = 204, .response_body = ""});
  return store.apply(u).result(changed);
}

TEST_P(OutboxTest, StatusesTwilioReportsWinOverASendInFlightAndOnlyMoveForward) {
  ASSERT_TRUE(store().takesOutboxStatus());
  send(message("tn_a", "om_1"));
  const auto claimed = store().claimOutbox(kT0, kLease, "daemon-1", 10);
  ASSERT_EQ(claimed.size(), 1u);
  // Twilio's callback can come before the worker records Twilio's answer: it applies from
  // SENDING, whoever holds the lease, and the worker's own record then finds it gone.
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_1", "sent", 4, TG_OUTBOX_ACCEPTED), TG_UNIT_CHANGED);
  OutboxMessage now = stored("tn_a", "om_1");
  EXPECT_EQ(now.state, TG_OUTBOX_ACCEPTED);
  EXPECT_EQ(now.twilio_sid, "SM" + std::string(32, 'b'));
  EXPECT_EQ(now.twilio_status, "sent");
  EXPECT_EQ(now.lease_owner, "");
  EXPECT_EQ(store().transitionOutbox({accept(claimed[0], "daemon-1")}), std::vector<bool>{false});
  // An older status, or one as new, changes nothing.
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_1", "queued", 2, TG_OUTBOX_ACCEPTED),
            TG_UNIT_UNCHANGED);
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_1", "sent", 4, TG_OUTBOX_ACCEPTED),
            TG_UNIT_UNCHANGED);
  EXPECT_EQ(stored("tn_a", "om_1").twilio_status, "sent");
  // A final state is final: a later final status (same rank) does not replace it.
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_1", "delivered", 10, TG_OUTBOX_DELIVERED),
            TG_UNIT_CHANGED);
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_1", "undelivered", 10, TG_OUTBOX_UNDELIVERED),
            TG_UNIT_UNCHANGED);
  now = stored("tn_a", "om_1");
  EXPECT_EQ(now.state, TG_OUTBOX_DELIVERED);
  EXPECT_EQ(now.twilio_status, "delivered");
  EXPECT_EQ(now.error_code, 0);
  // A message whose send went UNKNOWN is reconciled by its callback.
  send(message("tn_a", "om_2"));
  ASSERT_EQ(store().claimOutbox(kT0, kLease, "daemon-1", 10).size(), 1u);
  ASSERT_EQ(store().reclaimOutbox(kT0 + kLease + 1, 10), 1u);
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_2", "failed", 10, TG_OUTBOX_FAILED), TG_UNIT_CHANGED);
  now = stored("tn_a", "om_2");
  EXPECT_EQ(now.state, TG_OUTBOX_FAILED);
  EXPECT_EQ(now.error_code, 30008);
  // Still QUEUED: not a state a callback starts from. Unknown ids, and another tenant's, are
  // missing.
  send(message("tn_a", "om_3"));
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_3", "sent", 4, TG_OUTBOX_ACCEPTED),
            TG_UNIT_UNCHANGED);
  EXPECT_EQ(stored("tn_a", "om_3").state, TG_OUTBOX_QUEUED);
  EXPECT_EQ(reportStatus(store(), "tn_a", "om_missing", "sent", 4, TG_OUTBOX_ACCEPTED),
            TG_UNIT_MISSING);
  EXPECT_EQ(reportStatus(store(), "tn_b", "om_1", "sent", 4, TG_OUTBOX_ACCEPTED), TG_UNIT_MISSING);
}

TEST_P(OutboxTest, ARetryGoesBackToTheQueueWithItsTimeAndError) {
  send(message("tn_a", "om_1"));
  const auto claimed = store().claimOutbox(kT0, kLease, "daemon-1", 10);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(
      store().transitionOutbox({OutboxTransition{.tenant_id = "tn_a",
                                                 .id = "om_1",
                                                 .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING),
                                                 .lease_owner = "daemon-1",
                                                 .to_state = TG_OUTBOX_QUEUED,
                                                 .error_code = 20429,
                                                 .error = "Too Many Requests",
                                                 .next_attempt_at_ms = kT0 + 5'000,
                                                 .now_ms = kT0 + 1}}),
      std::vector<bool>{true});
  const OutboxMessage m = stored("tn_a", "om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_QUEUED);
  EXPECT_EQ(m.next_attempt_at_ms, kT0 + 5'000);
  EXPECT_EQ(m.error_code, 20429);
  EXPECT_EQ(m.error, "Too Many Requests");
  EXPECT_TRUE(store().claimOutbox(kT0 + 4'999, kLease, "daemon-1", 10).empty());
  const auto again = store().claimOutbox(kT0 + 5'000, kLease, "daemon-1", 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 2);
}

// A daemon that died while sending: its messages may have reached Twilio. They become UNKNOWN
// (to look up), never QUEUED (to send again), and the dead daemon can no longer change them.
TEST_P(OutboxTest, ALeaseThatRunsOutWhileSendingMakesTheMessageUnknown) {
  send(message("tn_a", "om_1"));
  send(message("tn_a", "om_2"));
  const auto claimed = store().claimOutbox(kT0, kLease, "daemon-1", 1);
  ASSERT_EQ(claimed.size(), 1u);
  const auto other = store().claimOutbox(kT0 + kLease - 1, kLease, "daemon-2", 1);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(store().reclaimOutbox(kT0 + kLease - 1, 100), 0u) << "the lease still holds";
  EXPECT_EQ(store().reclaimOutbox(kT0 + kLease + 1, 100), 1u);
  EXPECT_EQ(stored("tn_a", claimed[0].id).state, TG_OUTBOX_UNKNOWN);
  EXPECT_EQ(stored("tn_a", other[0].id).state, TG_OUTBOX_SENDING) << "its lease runs on";
  EXPECT_EQ(store().transitionOutbox({accept(claimed[0], "daemon-1")}), std::vector<bool>{false});
  EXPECT_TRUE(store().claimOutbox(kT0 + 10 * kLease, kLease, "daemon-3", 10).empty());
  const auto unknown = store().outboxMessages("", TG_OUTBOX_UNKNOWN, 10);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].id, claimed[0].id);
}

// ABI 1.10: a paced claim keeps each sender to its pace. Its messages take consecutive slots of
// the sender's schedule (kept in the storage, so another daemon, or this one restarted, goes
// on from it); each is claimed when its slot is within the window, and waits until then.
TEST_P(OutboxTest, APacedClaimKeepsEachSenderToItsPaceAcrossDaemons) {
  if (!store().pacesSenders()) GTEST_SKIP() << "storage without ABI 1.10";
  constexpr int64_t kSecondUs = 1'000'000;
  const auto paced = [](const std::string& id, const std::string& from, int64_t due) {
    OutboxMessage m = message("tn_a", id, due);
    m.from_number = from;
    m.pace_us = kSecondUs;  // one a second
    return m;
  };
  const std::string a = "+14155550100", b = "+14155550101";
  for (int i = 1; i <= 4; ++i) send(paced("om_a" + std::to_string(i), a, kT0 - 10 + i));
  send(paced("om_b1", b, kT0));
  OutboxMessage unpaced = message("tn_a", "om_c1", kT0);
  unpaced.from_number = "+14155550102";
  send(unpaced);
  EXPECT_EQ(stored("tn_a", "om_a1").pace_us, kSecondUs) << "read back as written";

  const auto ids = [](const std::vector<OutboxMessage>& batch) {
    std::set<std::string> out;
    for (const OutboxMessage& m : batch) out.insert(m.id);
    return out;
  };
  // At kT0: the first of each sender, and the unpaced one; a2..a4 wait for their seconds.
  EXPECT_EQ(ids(store().claimOutbox(kT0, kLease, "daemon-1", 10, 0)),
            (std::set<std::string>{"om_a1", "om_b1", "om_c1"}));
  for (int i = 2; i <= 4; ++i) {
    const OutboxMessage m = stored("tn_a", "om_a" + std::to_string(i));
    EXPECT_EQ(m.state, TG_OUTBOX_QUEUED);
    EXPECT_EQ(m.next_attempt_at_ms, kT0 + (i - 1) * 1000) << m.id;
  }
  // Another daemon (or this one restarted) goes on from the same schedule.
  OtherDaemon other = loadAnotherDaemon();
  ASSERT_NE(other.store, nullptr);
  EXPECT_TRUE(other.store->claimOutbox(kT0 + 999, kLease, "daemon-2", 10, 0).empty());
  EXPECT_EQ(ids(other.store->claimOutbox(kT0 + 1000, kLease, "daemon-2", 10, 0)),
            (std::set<std::string>{"om_a2"}));
  // A message queued now for a goes behind those already waiting.
  send(paced("om_a5", a, kT0 + 1000));
  EXPECT_TRUE(store().claimOutbox(kT0 + 1000, kLease, "daemon-1", 10, 0).empty());
  EXPECT_EQ(stored("tn_a", "om_a5").next_attempt_at_ms, kT0 + 4000);
  // With a window of a second, newly scheduled messages are claimed up to a second ahead of
  // their slots: a3 (its slot is now), b2 (b is free now) and b3 (a second on); b4 waits
  // until a second before its slot.
  for (int i = 2; i <= 4; ++i) send(paced("om_b" + std::to_string(i), b, kT0 + 2000));
  EXPECT_EQ(ids(store().claimOutbox(kT0 + 2000, kLease, "daemon-1", 10, 1000)),
            (std::set<std::string>{"om_a3", "om_b2", "om_b3"}));
  EXPECT_EQ(stored("tn_a", "om_b4").next_attempt_at_ms, kT0 + 3000);
  // A retry goes back to the queue without its slot: scheduled again, after a4 and a5.
  const OutboxMessage a3 = stored("tn_a", "om_a3");
  OutboxTransition retry{.tenant_id = a3.tenant_id,
                         .id = a3.id,
                         .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING),
                         .lease_owner = "daemon-1",
                         .to_state = TG_OUTBOX_QUEUED,
                         .error = "429",
                         .next_attempt_at_ms = kT0 + 2100,
                         .now_ms = kT0 + 2100};
  ASSERT_EQ(store().transitionOutbox({retry}), std::vector<bool>{true});
  EXPECT_TRUE(store().claimOutbox(kT0 + 2100, kLease, "daemon-1", 10, 0).empty());
  EXPECT_EQ(stored("tn_a", "om_a3").next_attempt_at_ms, kT0 + 5000);
  EXPECT_EQ(ids(store().claimOutbox(kT0 + 3000, kLease, "daemon-1", 10, 1000)),
            (std::set<std::string>{"om_a4", "om_b4"}));
  EXPECT_EQ(ids(store().claimOutbox(kT0 + 4000, kLease, "daemon-1", 10, 0)),
            (std::set<std::string>{"om_a5"}));
  EXPECT_EQ(ids(other.store->claimOutbox(kT0 + 5000, kLease, "daemon-2", 10, 0)),
            (std::set<std::string>{"om_a3"}));
}

// ABI 1.11: a message keeps what its send reserved and Twilio's price; the pending ones are
// listed by when to look them up, and only a transition with a price state writes them.
TEST_P(OutboxTest, PricesAreKeptAndPendingOnesListedByWhenToLookThemUp) {
  if (!store().pricesMessages()) GTEST_SKIP() << "storage without ABI 1.11";
  for (const char* id : {"om_1", "om_2", "om_3"}) {
    OutboxMessage m = message("tn_a", id);
    m.estimate_micros = 7900;
    send(m);
  }
  EXPECT_EQ(stored("tn_a", "om_1").estimate_micros, 7900);
  EXPECT_EQ(stored("tn_a", "om_1").price_state, TG_OUTBOX_PRICE_NONE);
  const auto claimed = store().claimOutbox(kT0, kLease, "daemon-1", 10);
  ASSERT_EQ(claimed.size(), 3u);
  // Final, with a price to look up: om_2 sooner than om_1; om_3 asks for none.
  std::vector<OutboxTransition> final;
  for (const OutboxMessage& m : claimed) {
    OutboxTransition t = accept(m, "daemon-1");
    t.to_state = TG_OUTBOX_DELIVERED;
    if (m.id != "om_3") {
      t.price_state = TG_OUTBOX_PRICE_PENDING;
      t.price_check_at_ms = m.id == "om_1" ? kT0 + 2000 : kT0 + 1000;
    }
    final.push_back(t);
  }
  EXPECT_EQ(store().transitionOutbox(final), (std::vector<bool>{true, true, true}));
  EXPECT_TRUE(store().outboxPriceDue(kT0 + 999, 10).empty());
  const auto due = store().outboxPriceDue(kT0 + 2000, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, "om_2");
  EXPECT_EQ(due[1].id, "om_1");
  EXPECT_EQ(due[1].price_check_at_ms, kT0 + 2000);
  EXPECT_EQ(store().outboxPriceDue(kT0 + 2000, 1).size(), 1u);
  // Priced: out of the list, Twilio's price kept beside the estimate; a transition without a
  // price state leaves them alone.
  OutboxTransition priced{.tenant_id = "tn_a",
                          .id = "om_2",
                          .from_states = TG_OUTBOX_IN(TG_OUTBOX_DELIVERED),
                          .to_state = TG_OUTBOX_DELIVERED,
                          .now_ms = kT0 + 2000,
                          .price_state = TG_OUTBOX_PRICED,
                          .price_micros = 8300};
  EXPECT_EQ(store().transitionOutbox({priced}), std::vector<bool>{true});
  OutboxTransition read = priced;
  read.twilio_status = "read";
  read.status_rank = 9;
  read.price_state = TG_OUTBOX_PRICE_NONE;
  read.price_micros = 0;
  EXPECT_EQ(store().transitionOutbox({read}), std::vector<bool>{true});
  const OutboxMessage m2 = stored("tn_a", "om_2");
  EXPECT_EQ(m2.price_state, TG_OUTBOX_PRICED);
  EXPECT_EQ(m2.price_micros, 8300);
  EXPECT_EQ(m2.estimate_micros, 7900);
  EXPECT_EQ(m2.price_check_at_ms, 0);
  const auto left = store().outboxPriceDue(kT0 + 5000, 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, "om_1");
}

// Daemons claiming one sender's messages at once still take one per slot between them.
TEST_P(OutboxTest, DaemonsClaimingAPacedSenderAtOnceTakeOneMessagePerSlot) {
  if (!store().pacesSenders()) GTEST_SKIP() << "storage without ABI 1.10";
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i) {
    OutboxMessage m = message("tn_a", "om_" + std::to_string(100 + i), kT0 - kMessages + i);
    m.pace_us = 1'000'000;
    send(m);
  }
  OtherDaemon other = loadAnotherDaemon();
  ASSERT_NE(other.store, nullptr);
  std::set<std::string> all;
  for (int second = 0; second < kMessages; ++second) {
    const int64_t now = kT0 + second * 1000;
    std::vector<std::string> got[4];
    std::latch go(4);
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([&, w] {
        storage::Store& s = w % 2 ? *other.store : store();
        go.arrive_and_wait();
        for (const auto& m : s.claimOutbox(now, kLease, "worker-" + std::to_string(w), 16, 0))
          got[w].push_back(m.id);
      });
    }
    for (auto& t : workers) t.join();
    size_t claimed = 0;
    for (const auto& g : got) {
      claimed += g.size();
      all.insert(g.begin(), g.end());
    }
    EXPECT_EQ(claimed, 1u) << "second " << second;
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kMessages));
}

// Two daemons claiming the same outbox at once take every message exactly once between them.
TEST_P(OutboxTest, DaemonsClaimingAtOnceNeverTakeTheSameMessage) {
  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i)
    send(message(i % 2 ? "tn_a" : "tn_b", "om_" + std::to_string(i)));
  OtherDaemon other = loadAnotherDaemon();
  ASSERT_NE(other.store, nullptr);
  std::vector<std::string> got[4];
  std::latch go(4);
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      storage::Store& s = w % 2 ? *other.store : store();
      go.arrive_and_wait();
      for (;;) {
        const auto batch = s.claimOutbox(kT0, kLease, "worker-" + std::to_string(w), 16);
        if (batch.empty()) break;
        for (const auto& m : batch) got[w].push_back(m.id);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::vector<std::string> all;
  for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a message claimed twice";
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest, ::testing::Values("sqlite", "postgres"),
                         backendName);

}  // namespace tollgate::testing
