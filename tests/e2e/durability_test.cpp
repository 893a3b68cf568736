// Durability under kill -9: the daemon is killed 20 times under load and started again. Every
// webhook that got a 200 is stored, each once, and a retry after the restarts gets the answer
// that was given, not a new one. Every webhook that got no answer (the daemon died under it) is
// stored once Twilio delivers it again, so nothing is lost that Twilio redelivers
// (docs/adr/0006). Runs on SQLite and, as durability_test/postgres, on PostgreSQL.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "e2e/webhook_support.hpp"

namespace tollgate::testing {
namespace {

class DurabilityTest : public WebhookFixture {};

TEST_F(DurabilityTest, EveryAnsweredWebhookSurvivesKillNine) {
  constexpr int kKills = 20, kSenders = 4;
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  attach(createTenant("Acme"), kNumber, "\"sms_plugin\":\"test-sms\"");

  std::mutex mu;
  std::condition_variable progress;
  std::map<std::string, std::string> answered;  // MessageSid -> the body of its 200
  std::set<std::string> unanswered;             // sent, but the daemon died before answering
  int sent = 0;
  for (int round = 0; round < kKills; ++round) {
    if (round > 0) {
      start();
      waitReady();
    }
    const size_t answered_before = answered.size();
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    for (int t = 0; t < kSenders; ++t) {
      senders.emplace_back([&, t] {
        for (int i = 0; !stop.load(); ++i) {
          const std::string sid =
              "SM" + std::to_string(round) + "r" + std::to_string(t) + "t" + std::to_string(i);
          {
            std::lock_guard lock(mu);
            ++sent;
          }
          try {
            const HttpReply r =
                post("/twilio/sms", smsParams(sid, "+14155550111", kNumber, "hello " + sid));
            {
              std::lock_guard lock(mu);
              if (r.status == 200) {
                answered[sid] = r.body;
              } else {
                unanswered.insert(sid);
              }
            }
            progress.notify_all();
          } catch (const std::exception&) {
            // The daemon died under this request: no answer, so Twilio would retry it.
            std::lock_guard lock(mu);
            unanswered.insert(sid);
            return;
          }
        }
      });
    }
    // Kill it in the middle of the load: once this round has had some answers (a few more
    // each round, so the kill lands at varying points of the daemon's work).
    {
      std::unique_lock lock(mu);
      const bool loaded = progress.wait_for(lock, std::chrono::seconds(30), [&] {
        return answered.size() >= answered_before + 5 + static_cast<size_t>(round);
      });
      ASSERT_TRUE(loaded) << "round " << round << ": no load\n" << daemon_->err();
    }
    daemon_->signal(SIGKILL);
    ASSERT_EQ(daemon_->wait(), 128 + SIGKILL);
    stop = true;
    for (auto& s : senders) s.join();
  }
  start();
  waitReady();
  ASSERT_GT(answered.size(), 100u) << "too little load to mean anything";
  RecordProperty("answered", static_cast<int>(answered.size()));
  RecordProperty("unanswered", static_cast<int>(unanswered.size()));

  // Twilio's retry of an answered webhook after the restarts gets the answer it got before.
  int checked = 0;
  for (const auto& [sid, body] : answered) {
    if (++checked > 50) break;
    const HttpReply again =
        post("/twilio/sms", smsParams(sid, "+14155550111", kNumber, "hello " + sid));
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.body, body) << sid;
  }
  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_webhook_replayed_total 50\n"), std::string::npos) << metrics;
  if (!onPostgres()) {
    // One unit, one commit each (sent one at a time: no two share a commit), counted by the
    // storage plugin and shown in /metrics.
    EXPECT_NE(metrics.find("tollgate_plugin_counter_total{plugin=\"storage-sqlite\",name=\"group_"
                           "commits\"} 50\n"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("name=\"group_commits_of_1\"} 50\n"), std::string::npos) << metrics;
  }

  // Twilio delivers again what got no answer: each is processed (or, if its unit committed
  // just before the kill, answered from storage), and stored.
  for (const std::string& sid : unanswered) {
    const HttpReply again =
        post("/twilio/sms", smsParams(sid, "+14155550111", kNumber, "hello " + sid));
    EXPECT_EQ(again.status, 200) << sid << ": " << again.body;
  }

  // Every webhook is stored, each once (the sid is the key), and nothing else is.
  const Ran rows = sql("SELECT sid FROM messages");
  ASSERT_EQ(rows.code, 0) << rows.err;
  std::set<std::string> stored;
  std::istringstream lines(rows.out);
  size_t row_count = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++row_count;
    stored.insert(line);
  }
  EXPECT_EQ(row_count, stored.size()) << "a message stored twice";
  for (const auto& [sid, body] : answered) {
    EXPECT_TRUE(stored.count(sid)) << sid << " got a 200 but is not stored";
  }
  for (const std::string& sid : unanswered) {
    EXPECT_TRUE(stored.count(sid)) << sid << " was delivered again but is not stored";
  }
  EXPECT_EQ(stored.size(), answered.size() + unanswered.size()) << "stored, but never sent";
  EXPECT_EQ(static_cast<size_t>(sent), answered.size() + unanswered.size());
}

}  // namespace
}  // namespace tollgate::testing
