// The outbox worker and the Twilio REST client against the simulator: two independent
// implementations of Twilio's wire format meeting (the simulator is itself checked against
// Twilio's OpenAPI file, twilio_sim_prism_test.cpp). What the simulator counts is what matters:
// one POST per message, however many 429s came in between.
#include <gtest/gtest.h>

#include "messaging/outbox_worker.hpp"
#include "sim/sim_support.hpp"
#include "storage/unit.hpp"
#include "support/sqlite_store.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::testing {
namespace {

using storage::OutboxMessage;

class OutboxSimTest : public SqliteStoreTest {
 protected:
  void connect(const SimProcess& sim, int max_attempts) {
    rest_ = std::make_unique<twilio::RestClient>(
        http_, twilio::RestClient::Options{
                   .api_base_url = "http://127.0.0.1:" + std::to_string(sim.port()),
                   .timeout = std::chrono::seconds(20),
                   .max_attempts = 2,
                   .first_backoff = std::chrono::milliseconds(1),
                   .max_backoff = std::chrono::milliseconds(5)});
    rest_->setSleep([](std::chrono::milliseconds) {});  // Retry-After: 1 s, not waited here
    worker_ = std::make_unique<messaging::OutboxWorker>(
        *store_, *rest_,
        [](const OutboxMessage&) {
          return twilio::Credentials{.account_sid = kAccount, .auth_token = kToken};
        },
        [](const OutboxMessage&) { return std::string(); },
        messaging::OutboxWorker::Options{.owner = "daemon-1",
                                         .lease = std::chrono::seconds(60),
                                         .batch = 64,
                                         .senders = 8,
                                         .max_attempts = max_attempts,
                                         .first_backoff = std::chrono::milliseconds(1),
                                         .max_backoff = std::chrono::milliseconds(1),
                                         .poll = std::chrono::milliseconds(1000)});
  }
  void enqueue(int n) {
    for (int i = 0; i < n; ++i) {
      storage::Unit u("tn_a");
      u.addToOutbox(OutboxMessage{.id = "om_" + std::to_string(i),
                                  .tenant_id = "tn_a",
                                  .from_number = kFrom,
                                  .to_number = kTo,
                                  .body = "message " + std::to_string(i),
                                  .segments = 1,
                                  .state = TG_OUTBOX_QUEUED,
                                  .next_attempt_at_ms = tenancy::nowMs() - 1,
                                  .created_at_ms = tenancy::nowMs()});
      store_->apply(u);
    }
  }
  // Rounds until nothing is due any more (bounded).
  void drain() {
    for (int round = 0; round < 500; ++round) {
      if (worker_->runOnce() == 0 && store_->outboxMessages("", TG_OUTBOX_QUEUED, 1).empty()) {
        return;
      }
    }
    ADD_FAILURE() << "the outbox did not drain in 500 rounds";
  }
  void expectEachPostedOnce(const SimProcess& sim, size_t n) {
    EXPECT_EQ(store_->outboxMessages("", TG_OUTBOX_ACCEPTED, 4096).size(), n);
    const auto messages = sim.messages();
    ASSERT_EQ(messages->size(), n);
    for (size_t i = 0; i < messages->size(); ++i) {
      EXPECT_EQ(messages->getObject(static_cast<unsigned>(i))->getValue<int>("posts"), 1)
          << messages->getObject(static_cast<unsigned>(i))->getValue<std::string>("body");
    }
    // Every SID Twilio answered is the one recorded.
    const OutboxMessage m = store_->outboxMessage("tn_a", "om_0").value_or(OutboxMessage{});
    EXPECT_EQ(sim.fetch(m.twilio_sid).status, 200) << m.twilio_sid;
  }

  // Destroyed in reverse: the client's connections close before the test ends.
  net::HttpClient http_;
  std::unique_ptr<twilio::RestClient> rest_;
  std::unique_ptr<messaging::OutboxWorker> worker_;
};

TEST_F(OutboxSimTest, ADrainPostsEachMessageOnce) {
  SimProcess sim({"--callback-delay-ms", "0"});
  connect(sim, 3);
  enqueue(200);
  drain();
  expectEachPostedOnce(sim, 200);
  EXPECT_EQ(sim.stats()->getValue<int>("posts"), 200);
  EXPECT_EQ(worker_->accepted.load(), 200u);
}

// Half the POSTs answered 429: each such message goes back to the queue and is sent again, and
// still Twilio holds one message per message sent.
TEST_F(OutboxSimTest, A429StormIsRetriedAndEachMessageStoredOnce) {
  SimProcess sim({"--callback-delay-ms", "0", "--rate-limit-rate", "0.5", "--seed", "7"});
  connect(sim, 50);
  enqueue(100);
  drain();
  expectEachPostedOnce(sim, 100);
  const auto stats = sim.stats();
  EXPECT_GT(stats->getValue<int>("rate_limited"), 20) << "the storm happened";
  EXPECT_EQ(stats->getValue<int>("posts") - stats->getValue<int>("rate_limited"), 100);
  EXPECT_GT(worker_->retried.load(), 0u);
  EXPECT_EQ(worker_->failed.load(), 0u);
}

}  // namespace
}  // namespace tollgate::testing
