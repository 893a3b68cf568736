// The outbox worker over the real storage-sqlite plugin, sending to a scripted server that
// answers in Twilio's wire format: each outcome of a send recorded as docs/adr/0014 says, and
// never a second POST where the first may have reached Twilio.
#include "messaging/outbox_worker.hpp"

#include <gtest/gtest.h>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <atomic>
#include <thread>

#include "storage/unit.hpp"
#include "support/scripted_server.hpp"
#include "support/sqlite_store.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::testing {
namespace {

using storage::OutboxMessage;

constexpr const char* kAccountSid = "AC0123456789abcdef0123456789abcdef";

std::string reply(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

std::string accepted(const std::string& sid) {
  return R"({"sid":")" + sid + R"(","account_sid":")" + kAccountSid +
         R"(","status":"queued","to":"+14155550111","from":"+14155550100","body":"hi",)"
         R"("num_segments":"1","num_media":"0","error_code":null,"price":null})";
}

std::string twilioError(int status, int code, const std::string& text) {
  return R"({"code":)" + std::to_string(code) + R"(,"message":")" + text +
         R"(","more_info":"https://www.twilio.com/docs/errors/)" + std::to_string(code) +
         R"(","status":)" + std::to_string(status) + "}";
}

class OutboxWorkerTest : public SqliteStoreTest {
 protected:
  void serve(ScriptedServer::Answer answer) {
    server_ = std::make_unique<ScriptedServer>(std::move(answer));
    rest_ = std::make_unique<twilio::RestClient>(
        http_, twilio::RestClient::Options{
                   .api_base_url = "http://127.0.0.1:" + std::to_string(server_->port()),
                   .timeout = std::chrono::seconds(20),
                   .max_attempts = 2,
                   .first_backoff = std::chrono::milliseconds(1),
                   .max_backoff = std::chrono::milliseconds(5)});
    rest_->setSleep([](std::chrono::milliseconds) {});
    worker_ = makeWorker(options_);
  }
  std::unique_ptr<messaging::OutboxWorker> makeWorker(messaging::OutboxWorker::Options options) {
    return std::make_unique<messaging::OutboxWorker>(
        *store_, *rest_,
        [](const OutboxMessage&) {
          return twilio::Credentials{.account_sid = kAccountSid, .auth_token = "token"};
        },
        [](const OutboxMessage& m) { return "https://gw.example/twilio/sms/status?m=" + m.id; },
        std::move(options));
  }
  void enqueue(const std::string& id, int64_t due = tenancy::nowMs() - 1) {
    storage::Unit u("tn_a");
    u.addToOutbox(OutboxMessage{.id = id,
                                .tenant_id = "tn_a",
                                .from_number = "+14155550100",
                                .to_number = "+14155550111",
                                .body = "hi " + id,
                                .media_urls = "https://example.com/a.png",
                                .segments = 1,
                                .state = TG_OUTBOX_QUEUED,
                                .next_attempt_at_ms = due,
                                .created_at_ms = tenancy::nowMs()});
    store_->apply(u);
  }
  OutboxMessage stored(const std::string& id) {
    auto m = store_->outboxMessage("tn_a", id);
    EXPECT_TRUE(m.has_value());
    return m.value_or(OutboxMessage{});
  }
  size_t posts() {
    size_t n = 0;
    for (const std::string& r : server_->requests()) n += r.rfind("POST ", 0) == 0 ? 1 : 0;
    return n;
  }

  // Destroyed in reverse: the client's kept-alive connections close before the server stops.
  std::unique_ptr<ScriptedServer> server_;
  net::HttpClient http_;
  std::unique_ptr<twilio::RestClient> rest_;
  std::unique_ptr<messaging::OutboxWorker> worker_;
  messaging::OutboxWorker::Options options_{.owner = "daemon-1",
                                            .lease = std::chrono::seconds(30),
                                            .batch = 16,
                                            .senders = 4,
                                            .max_attempts = 3,
                                            .first_backoff = std::chrono::milliseconds(1000),
                                            .max_backoff = std::chrono::milliseconds(4000),
                                            .poll = std::chrono::milliseconds(1000),
                                            .reconcile_after = std::chrono::milliseconds(0),
                                            .reconcile_grace = std::chrono::hours(1)};
};

// Twilio's message list holding `messages` (JSON objects), as its first page.
std::string listPage(const std::vector<std::string>& messages) {
  std::string items;
  for (const std::string& m : messages) items += (items.empty() ? "" : ",") + m;
  return R"({"end":0,"first_page_uri":"/x","next_page_uri":null,"page":0,"page_size":50,)"
         R"("previous_page_uri":null,"start":0,"uri":"/x","messages":[)" +
         items + "]}";
}

// A message as Twilio lists it, created now.
std::string listed(const std::string& sid, const std::string& body, const std::string& status) {
  std::string now =
      Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::RFC1123_FORMAT);
  now.replace(now.find("GMT"), 3, "+0000");  // as Twilio writes it
  return R"({"sid":")" + sid + R"(","account_sid":")" + kAccountSid + R"(","status":")" + status +
         R"(","to":"+14155550111","from":"+14155550100","body":")" + body +
         R"(","num_segments":"1","num_media":"1","error_code":null,"price":null,)"
         R"("date_created":")" +
         now + "\"}";
}

TEST_F(OutboxWorkerTest, AnAcceptedSendIsRecordedWithTwiliosSidAndItsCallbackCarriesOurId) {
  std::atomic<int> n{0};
  serve([&](const std::string&) {
    const std::string sid = "SM" + std::string(31, '0') + std::to_string(n.fetch_add(1) % 10);
    return ScriptedServer::Reply{reply(201, accepted(sid))};
  });
  for (int i = 0; i < 20; ++i) enqueue("om_" + std::to_string(i));
  EXPECT_EQ(worker_->runOnce(), 16u);
  EXPECT_EQ(worker_->runOnce(), 4u);
  EXPECT_EQ(worker_->runOnce(), 0u);
  EXPECT_EQ(posts(), 20u) << "one POST per message";
  const OutboxMessage m = stored("om_3");
  EXPECT_EQ(m.state, TG_OUTBOX_ACCEPTED);
  EXPECT_EQ(m.twilio_sid.size(), 34u);
  EXPECT_EQ(m.twilio_status, "queued");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(worker_->accepted.load(), 20u);
  bool carried = false;
  for (const std::string& r : server_->requests()) {
    carried = carried || r.find(
                             "StatusCallback=https%3A%2F%2Fgw.example%2Ftwilio%2Fsms%2Fstatus%"
                             "3Fm%3Dom_3") != std::string::npos;
  }
  EXPECT_TRUE(carried);
}

TEST_F(OutboxWorkerTest, ARefusalFailsWithTwiliosCodeAndIsNotSentAgain) {
  serve([](const std::string&) {
    return ScriptedServer::Reply{
        reply(400, twilioError(400, 21211, "The 'To' number is not a valid phone number."))};
  });
  enqueue("om_1");
  EXPECT_EQ(worker_->runOnce(), 1u);
  EXPECT_EQ(worker_->runOnce(), 0u);
  const OutboxMessage m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_FAILED);
  EXPECT_EQ(m.error_code, 21211);
  EXPECT_EQ(m.error, "The 'To' number is not a valid phone number.");
  EXPECT_EQ(posts(), 1u);
}

// 429s beyond the client's own retries: back to the queue with backoff, then failed for good
// after max_attempts claims.
TEST_F(OutboxWorkerTest, RateLimitedSendsGoBackToTheQueueUntilTheyGiveUp) {
  serve([](const std::string&) {
    return ScriptedServer::Reply{reply(429, twilioError(429, 20429, "Too Many Requests"))};
  });
  enqueue("om_1");
  const int64_t before = tenancy::nowMs();
  EXPECT_EQ(worker_->runOnce(), 1u);
  OutboxMessage m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_QUEUED);
  EXPECT_EQ(m.error_code, 20429);
  EXPECT_GE(m.next_attempt_at_ms, before + 1000);
  EXPECT_EQ(worker_->runOnce(), 0u) << "not due before its backoff";
  // Due again twice more (the test moves the time along with transitions of its own).
  for (int attempt = 2; attempt <= 3; ++attempt) {
    store_->transitionOutbox(
        {storage::OutboxTransition{.tenant_id = "tn_a",
                                   .id = "om_1",
                                   .from_states = TG_OUTBOX_IN(TG_OUTBOX_QUEUED),
                                   .to_state = TG_OUTBOX_QUEUED,
                                   .next_attempt_at_ms = tenancy::nowMs() - 1,
                                   .now_ms = tenancy::nowMs()}});
    EXPECT_EQ(worker_->runOnce(), 1u);
  }
  m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_FAILED);
  EXPECT_EQ(m.attempts, 3);
  EXPECT_NE(m.error.find("gave up after 3 attempts"), std::string::npos) << m.error;
  EXPECT_EQ(posts(), 6u) << "3 claims x the client's 2 attempts, each answered 429";
}

// Sent, and no answer: the message may be at Twilio. UNKNOWN, and never POSTed again.
TEST_F(OutboxWorkerTest, ASendWithoutAnAnswerIsUnknownAndNotSentAgain) {
  serve([](const std::string&) { return ScriptedServer::Reply{.bytes = "", .close = true}; });
  enqueue("om_1");
  EXPECT_EQ(worker_->runOnce(), 1u);
  EXPECT_EQ(stored("om_1").state, TG_OUTBOX_UNKNOWN);
  EXPECT_EQ(worker_->runOnce(), 0u);
  EXPECT_EQ(posts(), 1u);
  EXPECT_EQ(worker_->unknown.load(), 1u);
}

// A daemon that died holding messages: once their lease ends, the next round makes them
// UNKNOWN, and sends nothing for them.
TEST_F(OutboxWorkerTest, AnotherDaemonsExpiredLeaseIsReclaimedAsUnknown) {
  serve([](const std::string&) {
    return ScriptedServer::Reply{reply(201, accepted("SM" + std::string(32, 'b')))};
  });
  enqueue("om_1", tenancy::nowMs() - 120'000);
  const auto taken = store_->claimOutbox(tenancy::nowMs() - 60'000, 1'000, "dead-daemon", 10);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(worker_->runOnce(), 0u);
  EXPECT_EQ(worker_->reclaimed.load(), 1u);
  EXPECT_EQ(stored("om_1").state, TG_OUTBOX_UNKNOWN);
  EXPECT_EQ(posts(), 0u);
}

// Behind a slow Twilio (here 2.5 s an answer, one POST at a time), a message whose turn comes
// in the second half of its lease is not POSTed: it goes back to the queue, so no outcome is
// left to land after the lease ran out.
TEST_F(OutboxWorkerTest, NoMessageIsPostedInTheSecondHalfOfItsLease) {
  options_.lease = std::chrono::seconds(4);
  options_.senders = 1;
  std::atomic<int> n{0};
  serve([&](const std::string& request) {
    if (request.rfind("POST ", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the slow Twilio
    }
    return ScriptedServer::Reply{
        reply(201, accepted("SM" + std::string(31, 'd') + std::to_string(n.fetch_add(1) % 10)))};
  });
  for (int i = 0; i < 3; ++i) enqueue("om_" + std::to_string(i));
  EXPECT_EQ(worker_->runOnce(), 3u);
  EXPECT_EQ(posts(), 1u);
  int accepted_now = 0, queued = 0;
  for (int i = 0; i < 3; ++i) {
    const OutboxMessage m = stored("om_" + std::to_string(i));
    if (m.state == TG_OUTBOX_ACCEPTED) ++accepted_now;
    if (m.state == TG_OUTBOX_QUEUED) {
      ++queued;
      EXPECT_NE(m.error.find("half its lease"), std::string::npos) << m.error;
    }
  }
  EXPECT_EQ(accepted_now, 1);
  EXPECT_EQ(queued, 2);
}

// Twilio answers after this daemon's lease ran out (it stalled; another round made the message
// UNKNOWN meanwhile): the answer itself reconciles it, with Twilio's SID.
TEST_F(OutboxWorkerTest, AnAnswerAfterTheLeaseRanOutReconcilesTheUnknownMessage) {
  serve([&](const std::string&) {
    EXPECT_EQ(store_->reclaimOutbox(tenancy::nowMs() + 60'000, 10), 1u);
    return ScriptedServer::Reply{reply(201, accepted("SM" + std::string(32, 'c')))};
  });
  enqueue("om_1");
  EXPECT_EQ(worker_->runOnce(), 1u);
  const OutboxMessage m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_ACCEPTED);
  EXPECT_EQ(m.twilio_sid, "SM" + std::string(32, 'c'));
  EXPECT_EQ(posts(), 1u);
}

// Twilio's status callback can arrive before the worker records Twilio's answer: what the
// callback recorded stands.
TEST_F(OutboxWorkerTest, ACallbackThatCameBeforeTheAnswerIsNotOverwritten) {
  const std::string sid = "SM" + std::string(32, 'd');
  serve([&](const std::string&) {
    storage::Unit callback("tn_a");
    callback.setOutboxStatus(
        storage::OutboxTransition{.tenant_id = "tn_a",
                                  .id = "om_1",
                                  .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING),
                                  .lease_owner = {},
                                  .to_state = TG_OUTBOX_DELIVERED,
                                  .twilio_sid = sid,
                                  .twilio_status = "delivered",
                                  .status_rank = 10,
                                  .error_code = 0,
                                  .error = {},
                                  .next_attempt_at_ms = 0,
                                  .now_ms = tenancy::nowMs()});
    EXPECT_EQ(store_->apply(callback).result(0), TG_UNIT_CHANGED);
    return ScriptedServer::Reply{reply(201, accepted(sid))};
  });
  enqueue("om_1");
  EXPECT_EQ(worker_->runOnce(), 1u);
  const OutboxMessage m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_DELIVERED);
  EXPECT_EQ(m.twilio_status, "delivered");
  EXPECT_EQ(m.twilio_sid, sid);
}

// A send answered with a 5xx may have reached Twilio: it is UNKNOWN, then found in Twilio's list
// (same sender, recipient and text, created since it was queued) and takes Twilio's SID and
// status. One POST in all.
TEST_F(OutboxWorkerTest, AnUnknownSendFoundInTwiliosListTakesItsSidWithoutASecondPost) {
  const std::string sid = "SM" + std::string(32, 'e');
  serve([&](const std::string& request) {
    if (request.rfind("POST ", 0) == 0) {
      return ScriptedServer::Reply{reply(500, twilioError(500, 20500, "Internal Server Error"))};
    }
    EXPECT_NE(request.find("To=%2B14155550111&From=%2B14155550100"), std::string::npos) << request;
    return ScriptedServer::Reply{
        reply(200, listPage({listed("SM" + std::string(32, '1'), "another text", "delivered"),
                             listed(sid, "hi om_1", "delivered")}))};
  });
  enqueue("om_1");
  EXPECT_EQ(worker_->runOnce(), 1u);
  EXPECT_EQ(stored("om_1").state, TG_OUTBOX_UNKNOWN);
  EXPECT_EQ(worker_->reconcileOnce(), 1u);
  const OutboxMessage m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_DELIVERED);
  EXPECT_EQ(m.twilio_sid, sid);
  EXPECT_EQ(m.twilio_status, "delivered");
  EXPECT_EQ(worker_->reconciled.load(), 1u);
  EXPECT_EQ(worker_->runOnce(), 0u);
  EXPECT_EQ(posts(), 1u);
}

// Missing from Twilio's list: looked up again until the grace has passed, then sent again
// (Twilio has no record of it, so the second POST cannot duplicate it).
TEST_F(OutboxWorkerTest, AnUnknownSendMissingFromTwilioIsSentAgainOnlyAfterTheGrace) {
  std::atomic<int> post{0};
  serve([&](const std::string& request) {
    if (request.rfind("POST ", 0) == 0) {
      if (post.fetch_add(1) == 0) return ScriptedServer::Reply{.bytes = "", .close = true};
      return ScriptedServer::Reply{reply(201, accepted("SM" + std::string(32, 'f')))};
    }
    return ScriptedServer::Reply{reply(200, listPage({}))};
  });
  enqueue("om_1");
  EXPECT_EQ(worker_->runOnce(), 1u);
  EXPECT_EQ(stored("om_1").state, TG_OUTBOX_UNKNOWN);
  EXPECT_EQ(worker_->reconcileOnce(), 0u) << "missing, but within the grace";
  EXPECT_EQ(stored("om_1").state, TG_OUTBOX_UNKNOWN);

  auto options = options_;
  options.reconcile_grace = std::chrono::milliseconds(0);
  const auto later = makeWorker(options);
  EXPECT_EQ(later->reconcileOnce(), 1u);
  EXPECT_EQ(later->resent.load(), 1u);
  EXPECT_EQ(stored("om_1").state, TG_OUTBOX_QUEUED);
  EXPECT_EQ(later->runOnce(), 1u);
  const OutboxMessage m = stored("om_1");
  EXPECT_EQ(m.state, TG_OUTBOX_ACCEPTED);
  EXPECT_EQ(m.attempts, 2);
  EXPECT_EQ(posts(), 2u);
}

}  // namespace
}  // namespace tollgate::testing
