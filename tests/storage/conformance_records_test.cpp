// Storage conformance for ABI 1.1: message and call records, their forward-only statuses and
// their newest-first logs. Same tests on every backend (see conformance_fixture.hpp).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <latch>
#include <random>
#include <thread>
#include <utility>

#include "conformance_records.hpp"
#include "storage/unit.hpp"

namespace tollgate::testing {
namespace {

using storage::Call;
using storage::LogQuery;
using storage::Message;

class MessagesTest : public RecordsTest {};
class CallsTest : public RecordsTest {};

// ---- messages ----

TEST_P(MessagesTest, MessageInsertAndGet) {
  Message m{"SM0001",
            "tn_a",
            TG_DIRECTION_OUTBOUND,
            "+14155550100",
            "+14155550001",
            "Zoë says ✓",
            "queued",
            2,
            0,
            3,
            -7500,
            "USD",
            kT0,
            kT0 + 1};
  store().insertMessage(m);
  const auto got = store().message("tn_a", "SM0001");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->sid, "SM0001");
  EXPECT_EQ(got->tenant_id, "tn_a");
  EXPECT_EQ(got->direction, TG_DIRECTION_OUTBOUND);
  EXPECT_EQ(got->from_number, "+14155550100");
  EXPECT_EQ(got->to_number, "+14155550001");
  EXPECT_EQ(got->body, "Zoë says ✓");
  EXPECT_EQ(got->status, "queued");
  EXPECT_EQ(got->status_rank, 2);
  EXPECT_EQ(got->error_code, 0);
  EXPECT_EQ(got->num_segments, 3);
  EXPECT_EQ(got->price_micros, -7500);
  EXPECT_EQ(got->currency, "USD");
  EXPECT_EQ(got->created_at_ms, kT0);
  EXPECT_EQ(got->updated_at_ms, kT0 + 1);

  store().insertMessage(message("tn_a", "SM0002"));  // unpriced, inbound
  const auto in = store().message("tn_a", "SM0002");
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->direction, TG_DIRECTION_INBOUND);
  EXPECT_EQ(in->price_micros, 0);
  EXPECT_EQ(in->currency, "");

  EXPECT_EQ(statusOf([&] { store().insertMessage(message("tn_a", "SM0001")); }), TG_ERR_CONFLICT);
  // Sids are Twilio's, unique everywhere: another tenant's duplicate conflicts too, and does
  // not get to see the row.
  EXPECT_EQ(statusOf([&] { store().insertMessage(message("tn_b", "SM0001")); }), TG_ERR_CONFLICT);
  EXPECT_FALSE(store().message("tn_b", "SM0001").has_value());
  EXPECT_FALSE(store().message("tn_a", "SM9999").has_value());
  EXPECT_EQ(store().message("tn_a", "SM0001")->status, "queued");
  EXPECT_EQ(statusOf([&] { store().insertMessage(message("tn_nobody", "SM0003")); }),
            TG_ERR_NOT_FOUND);
}

TEST_P(MessagesTest, MessageInputIsValidated) {
  const auto rejects = [&](Message m, const std::string& field) {
    std::string msg;
    EXPECT_EQ(statusOf([&] { store().insertMessage(m); }, &msg), TG_ERR_INVALID_ARGUMENT) << field;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
  };
  Message m = message("tn_a", "SM1");
  m.sid = "";
  rejects(m, "sid");
  m = message("tn_a", "SM1");
  m.direction = 3;
  rejects(m, "direction");
  m = message("tn_a", "SM1");
  m.status = "";
  rejects(m, "status");
  m = message("tn_a", "SM1");
  m.status_rank = -1;
  rejects(m, "status_rank");
  m = message("tn_a", "SM1");
  m.from_number = "";
  rejects(m, "from_number");
  m = message("tn_a", "SM1");
  m.price_micros = 100;  // a price without its currency
  rejects(m, "currency");
  m = message("tn_a", "SM1");
  m.currency = "usd";
  rejects(m, "currency");
  m = message("tn_a", "SM1");
  m.body = "bad \xC3\x28 utf8";
  rejects(m, "body");
  EXPECT_FALSE(store().message("tn_a", "SM1").has_value());

  std::string msg;
  store().insertMessage(message("tn_a", "SM1"));
  EXPECT_EQ(statusOf([&] { store().updateMessageStatus("tn_a", "SM1", "sent", -1, 0, kT0); }, &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("status_rank"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { store().updateMessageStatus("tn_a", "SM1", "", 5, 0, kT0); }, &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("status"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { store().updateMessageStatus("tn_a", "", "sent", 5, 0, kT0); }, &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("sid"), std::string::npos) << msg;
}

TEST_P(MessagesTest, MessageStatusOnlyMovesForward) {
  store().insertMessage(message("tn_a", "SM1", kT0, "queued", 1));

  EXPECT_TRUE(store().updateMessageStatus("tn_a", "SM1", "sent", 3, 0, kT0 + 10));
  auto m = store().message("tn_a", "SM1");
  EXPECT_EQ(m->status, "sent");
  EXPECT_EQ(m->status_rank, 3);
  EXPECT_EQ(m->updated_at_ms, kT0 + 10);

  // An out-of-order callback (lower rank) or a repeat (equal rank) changes nothing.
  EXPECT_FALSE(store().updateMessageStatus("tn_a", "SM1", "sending", 2, 0, kT0 + 20));
  EXPECT_FALSE(store().updateMessageStatus("tn_a", "SM1", "other", 3, 30001, kT0 + 21));
  m = store().message("tn_a", "SM1");
  EXPECT_EQ(m->status, "sent");
  EXPECT_EQ(m->status_rank, 3);
  EXPECT_EQ(m->error_code, 0);
  EXPECT_EQ(m->updated_at_ms, kT0 + 10);

  // A failure with its error code.
  EXPECT_TRUE(store().updateMessageStatus("tn_a", "SM1", "undelivered", 5, 30003, kT0 + 30));
  m = store().message("tn_a", "SM1");
  EXPECT_EQ(m->status, "undelivered");
  EXPECT_EQ(m->error_code, 30003);
  EXPECT_EQ(m->updated_at_ms, kT0 + 30);
  // A late lower status keeps the final state and its error code.
  EXPECT_FALSE(store().updateMessageStatus("tn_a", "SM1", "sent", 3, 0, kT0 + 40));
  EXPECT_FALSE(store().updateMessageStatus("tn_a", "SM1", "failed", 4, 30008, kT0 + 41));
  m = store().message("tn_a", "SM1");
  EXPECT_EQ(m->status, "undelivered");
  EXPECT_EQ(m->status_rank, 5);
  EXPECT_EQ(m->error_code, 30003);
  EXPECT_EQ(m->updated_at_ms, kT0 + 30);
  // A higher status that reports no error code (0) keeps the one stored.
  EXPECT_TRUE(store().updateMessageStatus("tn_a", "SM1", "read", 6, 0, kT0 + 50));
  m = store().message("tn_a", "SM1");
  EXPECT_EQ(m->status, "read");
  EXPECT_EQ(m->error_code, 30003);
  // The other fields are never touched.
  EXPECT_EQ(m->body, "hello");
  EXPECT_EQ(m->created_at_ms, kT0);

  // Unknown sid, or another tenant's: NOT_FOUND, and the message is unchanged.
  EXPECT_EQ(statusOf([&] { store().updateMessageStatus("tn_a", "SM404", "sent", 9, 0, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().updateMessageStatus("tn_b", "SM1", "failed", 9, 1, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(store().message("tn_a", "SM1")->status, "read");
}

TEST_P(MessagesTest, MessageListFiltersAndPagesNewestFirst) {
  // 30 messages over 6 milliseconds, so pages end in the middle of a millisecond; sids of mixed
  // case, so the tie-break must be byte-wise on both engines.
  const std::vector<std::string> statuses = {"received", "delivered", "failed"};
  const std::vector<std::string> numbers = {"+14155550001", "+14155550002", "+14155550003"};
  std::vector<std::pair<int64_t, std::string>> all;
  for (int i = 0; i < 30; ++i) {
    const std::string sid = std::string(i % 4 < 2 ? "SMa" : "SMB") + std::to_string(100 + i);
    const int64_t at = kT0 + (i * 7 % 6);
    Message m = message("tn_a", sid, at, statuses[i % 3], 1, numbers[i % 3], "+14155550100");
    if (i % 5 == 0) std::swap(m.from_number, m.to_number);  // outbound to that number
    store().insertMessage(m);
    all.emplace_back(at, sid);
  }
  // Another tenant's messages at the same times are never listed for tn_a.
  for (int i = 0; i < 5; ++i) {
    store().insertMessage(message("tn_b", "SMz" + std::to_string(i), kT0 + i, "received"));
  }
  const auto list = [&](const LogQuery& q) { return store().messages("tn_a", q); };

  // One page with everything, then pages of 4 following the cursor: the same order.
  const std::vector<std::string> expected = expectedOrder(all);
  std::vector<std::string> one;
  for (const auto& m : list(query(1000))) one.push_back(m.sid);
  EXPECT_EQ(one, expected);
  int pages = 0;
  EXPECT_EQ(allPages<Message>(list, query(), 4, &pages), expected);
  EXPECT_EQ(pages, 8);  // 7 full pages, then 2 rows

  // The limit.
  EXPECT_EQ(list(query(1)).size(), 1u);
  EXPECT_EQ(list(query(1))[0].sid, expected[0]);

  // Date range: from_ms inclusive, to_ms exclusive, alone or together, paged.
  LogQuery q = query();
  q.from_ms = kT0 + 2;
  q.to_ms = kT0 + 4;
  std::vector<std::pair<int64_t, std::string>> in_range;
  for (const auto& r : all) {
    if (r.first >= kT0 + 2 && r.first < kT0 + 4) in_range.push_back(r);
  }
  ASSERT_FALSE(in_range.empty());
  EXPECT_EQ(allPages<Message>(list, q, 3), expectedOrder(in_range));
  q = query();
  q.from_ms = kT0 + 5;
  for (const auto& m : list(q)) EXPECT_EQ(m.created_at_ms, kT0 + 5);
  q = query();
  q.to_ms = kT0 + 1;
  for (const auto& m : list(q)) EXPECT_EQ(m.created_at_ms, kT0);
  EXPECT_EQ(list(q).size(), 5u);

  // Status, and number (sender or recipient), each with paging.
  q = query();
  q.status = "failed";
  std::vector<std::pair<int64_t, std::string>> failed;
  for (int i = 0; i < 30; ++i) {
    if (i % 3 == 2) failed.push_back(all[i]);
  }
  EXPECT_EQ(allPages<Message>(list, q, 4), expectedOrder(failed));
  q = query();
  q.number = "+14155550002";
  std::vector<std::pair<int64_t, std::string>> with_number;
  for (int i = 0; i < 30; ++i) {
    if (i % 3 == 1) with_number.push_back(all[i]);
  }
  const auto by_number = allPages<Message>(list, q, 3);
  EXPECT_EQ(by_number, expectedOrder(with_number));
  bool saw_from = false, saw_to = false;
  for (const auto& m : list(q)) {
    saw_from = saw_from || m.from_number == "+14155550002";
    saw_to = saw_to || m.to_number == "+14155550002";
  }
  EXPECT_TRUE(saw_from && saw_to) << "the number filter matches sender and recipient";
  q.number = "+14155550100";
  EXPECT_EQ(list(q).size(), 30u);
  q.number = "+19999999999";
  EXPECT_TRUE(list(q).empty());

  // All filters at once.
  q = query();
  q.status = "delivered";
  q.number = "+14155550002";
  q.from_ms = kT0 + 1;
  for (const auto& m : list(q)) {
    EXPECT_EQ(m.status, "delivered");
    EXPECT_GE(m.created_at_ms, kT0 + 1);
  }

  // Tenant isolation.
  std::vector<std::string> b;
  for (const auto& m : store().messages("tn_b", query())) b.push_back(m.sid);
  EXPECT_EQ(b, (std::vector<std::string>{"SMz4", "SMz3", "SMz2", "SMz1", "SMz0"}));
  EXPECT_TRUE(store().messages("tn_c", query()).empty());

  // Bad queries.
  std::string msg;
  EXPECT_EQ(statusOf([&] { list(query(0)); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("limit"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { list(query(1001)); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("limit"), std::string::npos) << msg;
  q = query();
  q.from_ms = -1;
  EXPECT_EQ(statusOf([&] { list(q); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("from_ms"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { store().messages("", query()); }), TG_ERR_INVALID_ARGUMENT);
}

TEST_P(MessagesTest, SixteenThreadsUpdatingOneMessageLeaveTheHighestRank) {
  constexpr int kThreads = 16;
  constexpr int kUpdates = 20;
  store().insertMessage(message("tn_a", "SMrace", kT0, "queued", 0));
  std::latch start(kThreads);
  std::atomic<int> applied{0};
  std::vector<int32_t> maxima(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::minstd_rand rng(static_cast<unsigned>(t) * 7919u + 1u);
      std::uniform_int_distribution<int32_t> rank(1, 100000);
      start.arrive_and_wait();
      for (int i = 0; i < kUpdates; ++i) {
        const int32_t r = rank(rng);
        maxima[t] = std::max(maxima[t], r);
        try {
          if (store().updateMessageStatus("tn_a", "SMrace", "s" + std::to_string(r), r, r,
                                          kT0 + r)) {
            applied.fetch_add(1);
          }
        } catch (const storage::StorageError& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const int32_t max = *std::max_element(maxima.begin(), maxima.end());
  const auto m = store().message("tn_a", "SMrace");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->status_rank, max);
  EXPECT_EQ(m->status, "s" + std::to_string(max));  // status, rank and the rest move together
  EXPECT_EQ(m->error_code, max);
  EXPECT_EQ(m->updated_at_ms, kT0 + max);
  EXPECT_GE(applied.load(), 1);
  EXPECT_LE(applied.load(), kThreads * kUpdates);
}

// ---- calls ----

TEST_P(CallsTest, CallInsertGetAndStatus) {
  Call c{"CA1", "tn_a", TG_DIRECTION_INBOUND, "+14155550001", "+14155550100", "ringing", 1, 0, "",
         kT0,   kT0};
  store().insertCall(c);
  auto got = store().call("tn_a", "CA1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->sid, "CA1");
  EXPECT_EQ(got->tenant_id, "tn_a");
  EXPECT_EQ(got->direction, TG_DIRECTION_INBOUND);
  EXPECT_EQ(got->from_number, "+14155550001");
  EXPECT_EQ(got->to_number, "+14155550100");
  EXPECT_EQ(got->status, "ringing");
  EXPECT_EQ(got->status_rank, 1);
  EXPECT_EQ(got->duration_s, 0);
  EXPECT_EQ(got->recording_url, "");
  EXPECT_EQ(got->created_at_ms, kT0);
  EXPECT_FALSE(store().call("tn_b", "CA1").has_value());
  EXPECT_EQ(statusOf([&] { store().insertCall(c); }), TG_ERR_CONFLICT);
  EXPECT_EQ(statusOf([&] { store().insertCall(call("tn_b", "CA1")); }), TG_ERR_CONFLICT);
  EXPECT_EQ(statusOf([&] { store().insertCall(call("tn_nobody", "CA2")); }), TG_ERR_NOT_FOUND);

  // duration_s -1 keeps the stored duration.
  EXPECT_TRUE(store().updateCallStatus("tn_a", "CA1", "in-progress", 2, -1, kT0 + 1));
  got = store().call("tn_a", "CA1");
  EXPECT_EQ(got->status, "in-progress");
  EXPECT_EQ(got->duration_s, 0);
  EXPECT_EQ(got->updated_at_ms, kT0 + 1);
  EXPECT_TRUE(store().updateCallStatus("tn_a", "CA1", "completed", 5, 42, kT0 + 2));
  got = store().call("tn_a", "CA1");
  EXPECT_EQ(got->status, "completed");
  EXPECT_EQ(got->duration_s, 42);
  // Late or repeated callbacks change nothing, the duration included.
  EXPECT_FALSE(store().updateCallStatus("tn_a", "CA1", "in-progress", 2, 7, kT0 + 3));
  EXPECT_FALSE(store().updateCallStatus("tn_a", "CA1", "completed", 5, 43, kT0 + 4));
  got = store().call("tn_a", "CA1");
  EXPECT_EQ(got->status, "completed");
  EXPECT_EQ(got->status_rank, 5);
  EXPECT_EQ(got->duration_s, 42);
  EXPECT_EQ(got->updated_at_ms, kT0 + 2);
  // A higher rank with -1 keeps the duration.
  EXPECT_TRUE(store().updateCallStatus("tn_a", "CA1", "archived", 6, -1, kT0 + 5));
  EXPECT_EQ(store().call("tn_a", "CA1")->duration_s, 42);

  EXPECT_EQ(statusOf([&] { store().updateCallStatus("tn_a", "CA404", "busy", 9, 0, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().updateCallStatus("tn_b", "CA1", "failed", 9, 0, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(store().call("tn_a", "CA1")->status, "archived");
  std::string msg;
  EXPECT_EQ(statusOf([&] { store().updateCallStatus("tn_a", "CA1", "x", -2, 0, kT0); }, &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("status_rank"), std::string::npos) << msg;
  Call bad = call("tn_a", "CA3");
  bad.duration_s = -1;
  EXPECT_EQ(statusOf([&] { store().insertCall(bad); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("duration_s"), std::string::npos) << msg;
  bad = call("tn_a", "CA3");
  bad.direction = 0;
  EXPECT_EQ(statusOf([&] { store().insertCall(bad); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("direction"), std::string::npos) << msg;
}

// ABI 1.13: a call's final status, written in its webhook's unit, asks for Twilio's price; due
// calls are listed soonest first, across tenants; a lookup's outcome is stored once, while the
// price is pending.
TEST_P(CallsTest, ACallsPriceIsAskedForWithItsStatusAndStoredOnce) {
  if (!store().pricesCalls()) GTEST_SKIP() << "calls' prices travel in units (ABI 1.13)";
  store().insertCall(call("tn_a", "CA1"));
  store().insertCall(call("tn_a", "CA2"));
  store().insertCall(call("tn_b", "CA3"));
  const auto status = [&](const std::string& tenant, const std::string& sid, int64_t check_at,
                          int32_t rank = 5) {
    storage::Unit u(tenant);
    const auto i = u.updateCallStatus(storage::StatusChange{
        .sid = sid,
        .status = "completed",
        .status_rank = rank,
        .error_code = 0,
        .duration_s = 75,
        .now_ms = kT0 + 1,
        .price_state = check_at == 0 ? TG_OUTBOX_PRICE_NONE : TG_OUTBOX_PRICE_PENDING,
        .price_check_at_ms = check_at});
    return store().apply(u).result(i);
  };
  EXPECT_EQ(status("tn_a", "CA1", kT0 + 100), TG_UNIT_CHANGED);
  EXPECT_EQ(status("tn_a", "CA2", 0), TG_UNIT_CHANGED);
  EXPECT_EQ(status("tn_b", "CA3", kT0 + 50), TG_UNIT_CHANGED);
  // A repeated final status changes nothing, its check time included.
  EXPECT_EQ(status("tn_a", "CA1", kT0 + 1), TG_UNIT_UNCHANGED);

  const auto due = [&](int64_t now) {
    std::vector<std::string> sids;
    for (const Call& c : store().callPriceDue(now, 10)) sids.push_back(c.tenant_id + "/" + c.sid);
    return sids;
  };
  EXPECT_TRUE(due(kT0 + 49).empty());
  EXPECT_EQ(due(kT0 + 100), (std::vector<std::string>{"tn_b/CA3", "tn_a/CA1"}));
  const std::vector<Call> listed = store().callPriceDue(kT0 + 100, 1);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].price_state, TG_OUTBOX_PRICE_PENDING);
  EXPECT_EQ(listed[0].price_check_at_ms, kT0 + 50);
  EXPECT_EQ(listed[0].duration_s, 75);
  EXPECT_EQ(store().call("tn_a", "CA2")->price_state, TG_OUTBOX_PRICE_NONE);

  // Not yet: looked up again later.
  EXPECT_TRUE(
      store().setCallPrice("tn_a", storage::CallPrice{.sid = "CA1",
                                                      .price_state = TG_OUTBOX_PRICE_PENDING,
                                                      .charged_micros = 0,
                                                      .price_micros = 0,
                                                      .price_check_at_ms = kT0 + 500,
                                                      .now_ms = kT0 + 100}));
  EXPECT_EQ(due(kT0 + 100), (std::vector<std::string>{"tn_b/CA3"}));
  const storage::CallPrice priced{.sid = "CA1",
                                  .price_state = TG_OUTBOX_PRICED,
                                  .charged_micros = 20000,
                                  .price_micros = 17000,
                                  .price_check_at_ms = 0,
                                  .now_ms = kT0 + 500};
  EXPECT_TRUE(store().setCallPrice("tn_a", priced));
  EXPECT_FALSE(store().setCallPrice("tn_a", priced)) << "stored once";
  const auto got = store().call("tn_a", "CA1");
  EXPECT_EQ(got->price_state, TG_OUTBOX_PRICED);
  EXPECT_EQ(got->charged_micros, 20000);
  EXPECT_EQ(got->price_micros, 17000);
  EXPECT_EQ(got->status, "completed");
  EXPECT_EQ(due(kT0 + 1000), (std::vector<std::string>{"tn_b/CA3"}));

  std::string msg;
  EXPECT_EQ(statusOf([&] { store().setCallPrice("tn_b", priced); }), TG_ERR_NOT_FOUND);
  storage::CallPrice bad = priced;
  bad.price_state = 9;
  EXPECT_EQ(statusOf([&] { store().setCallPrice("tn_a", bad); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("price_state"), std::string::npos) << msg;
  bad = priced;
  bad.price_micros = -1;
  EXPECT_EQ(statusOf([&] { store().setCallPrice("tn_a", bad); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("price_micros"), std::string::npos) << msg;
}

TEST_P(CallsTest, CallRecording) {
  store().insertCall(call("tn_a", "CA1"));
  const std::string url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1";
  store().setCallRecording("tn_a", "CA1", url, kT0 + 60);
  auto got = store().call("tn_a", "CA1");
  EXPECT_EQ(got->recording_url, url);
  EXPECT_EQ(got->updated_at_ms, kT0 + 60);
  EXPECT_EQ(got->status, "ringing");  // nothing else changes

  EXPECT_EQ(statusOf([&] { store().setCallRecording("tn_b", "CA1", "https://evil", kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().setCallRecording("tn_a", "CA404", url, kT0); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(store().call("tn_a", "CA1")->recording_url, url);
  std::string msg;
  EXPECT_EQ(statusOf([&] { store().setCallRecording("tn_a", "CA1", "", kT0); }, &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("recording_url"), std::string::npos) << msg;
}

TEST_P(CallsTest, CallListFiltersAndPagesNewestFirst) {
  std::vector<std::pair<int64_t, std::string>> all;
  for (int i = 0; i < 17; ++i) {
    const std::string sid = std::string(i % 3 == 0 ? "CAb" : "CAC") + std::to_string(10 + i);
    const int64_t at = kT0 + 1000 * (i % 4);
    store().insertCall(call("tn_a", sid, at, i % 4 == 0 ? "busy" : "completed", 1,
                            i % 2 == 0 ? "+14155550001" : "+14155550100",
                            i % 2 == 0 ? "+14155550100" : "+14155550009"));
    all.emplace_back(at, sid);
  }
  store().insertCall(call("tn_b", "CAother", kT0 + 1000));
  const auto list = [&](const LogQuery& q) { return store().calls("tn_a", q); };

  int pages = 0;
  EXPECT_EQ(allPages<Call>(list, query(), 3, &pages), expectedOrder(all));
  EXPECT_EQ(pages, 6);

  LogQuery q = query();
  q.from_ms = kT0 + 1000;
  q.to_ms = kT0 + 3000;
  std::vector<std::pair<int64_t, std::string>> in_range;
  for (const auto& r : all) {
    if (r.first >= kT0 + 1000 && r.first < kT0 + 3000) in_range.push_back(r);
  }
  EXPECT_EQ(allPages<Call>(list, q, 2), expectedOrder(in_range));

  q = query();
  q.status = "busy";
  std::vector<std::pair<int64_t, std::string>> busy;
  for (int i = 0; i < 17; ++i) {
    if (i % 4 == 0) busy.push_back(all[i]);
  }
  EXPECT_EQ(allPages<Call>(list, q, 2), expectedOrder(busy));

  q = query();
  q.number = "+14155550009";  // the recipient of the odd ones
  std::vector<std::pair<int64_t, std::string>> odd;
  for (int i = 0; i < 17; ++i) {
    if (i % 2 == 1) odd.push_back(all[i]);
  }
  EXPECT_EQ(allPages<Call>(list, q, 3), expectedOrder(odd));
  q.number = "+14155550001";  // the sender of the even ones
  EXPECT_EQ(list(q).size(), 9u);
  q.number = "+14155550100";  // both
  EXPECT_EQ(list(q).size(), 17u);

  EXPECT_EQ(list(query(5)).size(), 5u);
  ASSERT_EQ(store().calls("tn_b", query()).size(), 1u);
  EXPECT_EQ(store().calls("tn_b", query())[0].sid, "CAother");
  EXPECT_EQ(statusOf([&] { list(query(0)); }), TG_ERR_INVALID_ARGUMENT);
}

// ---- straight through the ABI: what Store cannot express ----

TEST_P(MessagesTest, AQueryFromAnOlderLayoutIsRefused) {
  plugins::Plugin& plugin = store().plugin();
  const auto* vt = plugin.vtable<tg_storage_vtable>();
  const std::string tenant = "tn_a";
  const tg_call_ctx ctx{sizeof(tg_call_ctx), {tenant.data(), tenant.size()}, {"t", 1}, 0};
  tg_log_query q{};
  q.struct_size = offsetof(tg_log_query, limit);  // too short to hold the limit
  q.limit = 10;
  tg_error err{};
  const tg_message_sink sink{nullptr, [](void*, const tg_message_row*) {}};
  EXPECT_EQ(vt->message_list(plugin.instance(), &ctx, &q, sink, &err), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("struct_size"), std::string::npos) << err.message;
  q.struct_size = sizeof(tg_log_query);
  EXPECT_EQ(vt->message_list(plugin.instance(), &ctx, &q, sink, &err), TG_OK) << err.message;
}

INSTANTIATE_TEST_SUITE_P(Backends, MessagesTest, ::testing::Values("sqlite", "postgres"),
                         backendName);
INSTANTIATE_TEST_SUITE_P(Backends, CallsTest, ::testing::Values("sqlite", "postgres"), backendName);

}  // namespace
}  // namespace tollgate::testing
