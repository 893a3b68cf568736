// Sending an SMS end to end (issue 26): POST /v1/messages on the real daemon, the outbox's
// worker sending through the REST client to tollgate-twilio-sim (Twilio's wire format, checked
// against Twilio's OpenAPI file by tests/sim), and what each side then holds.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include "e2e/send_support.hpp"
#include "support/scripted_server.hpp"
#include "twilio/form.hpp"

namespace tollgate::testing {
namespace {

class SendTest : public SendFixture {};

TEST_F(SendTest, AMessageIsQueuedDurablyThenSentOnceThroughTwilio) {
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  // The tenant's own endpoint for status changes.
  ScriptedServer app([](const std::string&) {
    return ScriptedServer::Reply{.bytes = "HTTP/1.1 204 No Content\r\n\r\n", .close = true};
  });
  const std::string request = R"({"to": "+14155550111", "body": "Hello from Tollgate €", )"
                              R"("status_callback": ")" +
                              app.url("/status") + "\"}";
  const auto r = send(key, request, "k1");
  ASSERT_EQ(r.status, 202) << r.body;
  const auto answer = json(r.body);
  const std::string id = answer->getValue<std::string>("id");
  EXPECT_EQ(id.rfind("om_", 0), 0u);
  EXPECT_EQ(answer->getValue<std::string>("from"), kNumber) << "the tenant's number by default";
  EXPECT_EQ(answer->getValue<int>("segments"), 1);
  EXPECT_EQ(answer->getValue<std::string>("encoding"), "GSM-7");

  // Twilio's callbacks (sent, then delivered) reach the daemon, signed, at the URL the worker
  // gave with the message.
  const auto m = outboxOnce(key, id, "delivered");
  EXPECT_EQ(m->getValue<std::string>("status"), "delivered") << m->get("error").toString();
  EXPECT_EQ(m->getValue<std::string>("twilio_status"), "delivered");
  const std::string sid = m->getValue<std::string>("twilio_sid");
  EXPECT_EQ(sid.size(), 34u);
  const auto at_twilio = simMessages();
  ASSERT_EQ(at_twilio->size(), 1u);
  const auto sent = at_twilio->getObject(0);
  EXPECT_EQ(sent->getValue<std::string>("sid"), sid);
  EXPECT_EQ(sent->getValue<std::string>("to"), "+14155550111");
  EXPECT_EQ(sent->getValue<std::string>("from"), kNumber);
  EXPECT_EQ(sent->getValue<std::string>("body"), "Hello from Tollgate €");
  EXPECT_EQ(sent->getValue<int>("posts"), 1);
  EXPECT_EQ(sent->getValue<std::string>("status_callback"),
            signed_base_ + "/twilio/sms/status?m=" + id + "&cb=1");
  // Each change reached the tenant's endpoint as the message's JSON (in any order, as Twilio's
  // own callbacks: `sent` and `delivered` are forwarded at once).
  const auto delivered = [](const std::vector<std::string>& told) {
    return std::find_if(told.begin(), told.end(), [](const std::string& r) {
      return r.find(R"("status":"delivered")") != std::string::npos;
    });
  };
  std::vector<std::string> told;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       std::chrono::steady_clock::now() < end;) {
    told = app.requests();
    if (delivered(told) != told.end()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(delivered(told), told.end()) << (told.empty() ? "nothing" : told.back());
  EXPECT_NE(delivered(told)->find(R"("id":")" + id + "\""), std::string::npos) << *delivered(told);

  // The same request again (a client's retry): the same message, nothing sent twice.
  const auto again = send(key, request, "k1");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(json(again.body)->getValue<std::string>("id"), id);
  // The key with another message is a conflict.
  EXPECT_EQ(send(key, R"({"to": "+14155550111", "body": "other"})", "k1").status, 409);
  EXPECT_EQ(simMessages()->size(), 1u);
  EXPECT_EQ(outboxOnce(key, id, "delivered")->getValue<int>("attempts"), 1);
}

TEST_F(SendTest, BadMessagesAreRefusedNamingTheField) {
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"body": "hi"})", "to"},
           {R"({"to": "555", "body": "hi"})", "to"},
           {R"({"to": "+14155550111"})", "body"},
           {R"({"to": "+14155550111", "body": "hi", "from": "+14155550199"})", "from"},
           {R"({"to": "+14155550111", "body": "hi", "media_urls": ["ftp://x"]})", "media_urls"},
           {R"({"to": "+14155550111", "body": ")" + std::string(1601, 'a') + "\"}", "body"},
           {R"({"to": "+14155550111", "body": "hi", "send_at": "tomorrow"})", "send_at"},
           {R"({"to": "+14155550111", "body": "hi", "send_at": 1893456000000})", "send_at"},
           {R"({"to": "+14155550111", "body": "hi", "send_at": "2026-12-08T09:00:00"})", "send_at"},
           {R"({"to": "+14155550111", "body": "hi", "send_at": "2020-01-01T00:00:00Z"})",
            "send_at"},
           {R"({"to": "+14155550111", "body": "hi", "send_at": "2099-01-01T00:00:00Z"})",
            "send_at"}}) {
    const auto r = send(key, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), field) << body;
  }
  EXPECT_EQ(simMessages()->size(), 0u);
}

// With a pricing plugin: segments x the sms_out price is reserved at the send, charged when
// Twilio accepts; a wallet that cannot cover it is a 402 and nothing is sent.
TEST_F(SendTest, ThePriceIsReservedAtTheSendAndChargedWhenTwilioAccepts) {
  priceSmsAt0079();
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  const std::string two_segments = std::string(161, 'a');
  const auto poor = send(key, R"({"to": "+14155550111", "body": ")" + two_segments + "\"}");
  EXPECT_EQ(poor.status, 402) << poor.body;
  credit(t, 1'000'000);
  const auto r = send(key, R"({"to": "+14155550111", "body": ")" + two_segments + "\"}");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r.body)->getValue<int>("segments"), 2);
  EXPECT_EQ(json(r.body)->getValue<int64_t>("estimate_micros"), 15800);
  const std::string id = json(r.body)->getValue<std::string>("id");
  EXPECT_EQ(outboxOnce(key, id, "delivered")->getValue<std::string>("status"), "delivered");
  Poco::JSON::Object::Ptr wallet;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       std::chrono::steady_clock::now() < end;) {
    wallet = json(http(port_, "GET", "/admin/v1/tenants/" + t + "/wallet", "", admin()).body);
    if (wallet->getValue<int64_t>("balance_micros") != 1000000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(wallet->getValue<int64_t>("balance_micros"), 1000000 - 15800);
  EXPECT_EQ(wallet->getValue<int64_t>("held_micros"), 0);
  EXPECT_EQ(simMessages()->size(), 1u) << "the refused send never reached Twilio";
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

// Once a message is final, Twilio's own price (here 0.0083 a segment, known only a second after
// the final status, as Twilio's often is) is looked up and reconciled with the estimate by one
// ledger entry; the record keeps both.
TEST_F(SendTest, TwiliosPriceIsReconciledWithTheEstimateOnceFinal) {
  priceSmsAt0079();
  outbox_config_ = "price_after_s = 0\n";
  startSim({"--price-micros", "8300", "--price-delay-ms", "1000"});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  credit(t, 1'000'000);
  const auto r = send(key, R"({"to": "+14155550111", "body": ")" + std::string(161, 'a') + "\"}");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json(r.body)->getValue<std::string>("id");
  const Poco::JSON::Object::Ptr m = outboxPriced(key, id);
  EXPECT_EQ(m->getValue<std::string>("status"), "delivered");
  ASSERT_TRUE(m->has("price_status")) << "never asked for Twilio's price";
  EXPECT_EQ(m->getValue<std::string>("price_status"), "priced");
  EXPECT_EQ(m->getValue<int64_t>("estimate_micros"), 15800);
  EXPECT_EQ(m->getValue<int64_t>("twilio_price_micros"), 16600);
  EXPECT_EQ(wallet(t, "balance_micros"), std::to_string(1'000'000 - 16'600)) << "800 more";
  EXPECT_EQ(wallet(t, "held_micros"), "0");
  const auto verify = ctl({"ledger", "verify"});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
}

// A message Twilio accepted (its hold captured) and then failed costs nothing: Twilio's price
// of 0 gives the estimate back; one it could not deliver costs Twilio's price.
TEST_F(SendTest, AMessageTwilioFailsAfterAcceptingItIsRefundedByItsPrice) {
  priceSmsAt0079();
  outbox_config_ = "price_after_s = 0\n";
  startSim({"--fail-rate", "1", "--seed", "7"});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  credit(t, 1'000'000);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    const auto r = send(key, R"({"to": "+14155550111", "body": "m)" + std::to_string(i) + "\"}");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json(r.body)->getValue<std::string>("id"));
  }
  int64_t expected = 1'000'000;
  std::set<std::string> outcomes;
  for (const std::string& id : ids) {
    const Poco::JSON::Object::Ptr m = outboxPriced(key, id);
    const std::string status = m->getValue<std::string>("status");
    outcomes.insert(status);
    ASSERT_TRUE(status == "failed" || status == "undelivered") << status;
    ASSERT_EQ(m->getValue<std::string>("price_status"), "priced") << id;
    EXPECT_EQ(m->getValue<int64_t>("twilio_price_micros"), status == "failed" ? 0 : 7900);
    expected -= status == "failed" ? 0 : 7900;
  }
  EXPECT_EQ(outcomes.size(), 2u) << "the seed gives both outcomes";
  EXPECT_EQ(wallet(t, "balance_micros"), std::to_string(expected));
  EXPECT_EQ(wallet(t, "held_micros"), "0");
  const auto verify = ctl({"ledger", "verify"});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
}

// Twilio's status callbacks never reach the daemon (its public URL leads nowhere): an accepted
// message is looked up at Twilio once final_status_after_s has passed, takes the final status
// Twilio holds, and is priced like any other.
TEST_F(SendTest, AMessageWhoseFinalCallbackIsLostIsLookedUpAtTwilio) {
  priceSmsAt0079();
  outbox_config_ = "final_status_after_s = 1\nprice_after_s = 0\n";
  signed_base_ = "http://127.0.0.1:9";  // nothing listens there: every callback is lost
  startSim({});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  credit(t, 1'000'000);
  // The tenant's own endpoint hears of the final status found at Twilio too.
  ScriptedServer app([](const std::string&) {
    return ScriptedServer::Reply{.bytes = "HTTP/1.1 204 No Content\r\n\r\n", .close = true};
  });
  const auto r = send(key, R"({"to": "+14155550111", "body": "no callback", "status_callback": ")" +
                               app.url("/status") + "\"}");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json(r.body)->getValue<std::string>("id");
  const Poco::JSON::Object::Ptr m = outboxPriced(key, id);  // priced once found final
  EXPECT_EQ(m->getValue<std::string>("status"), "delivered");
  EXPECT_EQ(m->getValue<std::string>("twilio_status"), "delivered");
  EXPECT_EQ(m->getValue<std::string>("price_status"), "priced");
  EXPECT_EQ(m->getValue<int64_t>("twilio_price_micros"), 7900);
  EXPECT_EQ(wallet(t, "balance_micros"), "992100");
  EXPECT_EQ(wallet(t, "held_micros"), "0");
  EXPECT_NE(http(port_, "GET", "/metrics").body.find("tollgate_outbox_finals_found_total 1"),
            std::string::npos);
  EXPECT_EQ(simMessages()->getObject(0)->getValue<int>("posts"), 1);
  std::vector<std::string> told;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       told.empty() && std::chrono::steady_clock::now() < end;) {
    told = app.requests();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(told.size(), 1u) << "told once, of the status found";
  EXPECT_NE(told[0].find(R"("status":"delivered")"), std::string::npos) << told[0];
  EXPECT_NE(told[0].find(R"("id":")" + id + "\""), std::string::npos) << told[0];
}

// The worker charges the hold as soon as it records Twilio's answer (with the round's other
// holds, in units of work): no status callback, no price lookup needed.
TEST_F(SendTest, TheHoldIsChargedWhenTheWorkerRecordsTwiliosAnswer) {
  priceSmsAt0079();
  signed_base_ = "http://127.0.0.1:9";  // nothing listens there: every callback is lost
  startSim({});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  credit(t, 1'000'000);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const auto r = send(key, R"({"to": "+1415555011)" + std::to_string(i) + R"(", "body": "hi"})");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json(r.body)->getValue<std::string>("id"));
  }
  for (const std::string& id : ids) {
    EXPECT_EQ(outboxOnce(key, id, "accepted")->getValue<std::string>("status"), "accepted");
  }
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       wallet(t, "held_micros") != "0" && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(wallet(t, "held_micros"), "0");
  EXPECT_EQ(wallet(t, "balance_micros"), std::to_string(1'000'000 - 3 * 7900));
  const auto verify = ctl({"ledger", "verify"});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
}

// Calls likewise (issue 26): a completed inbound call is charged by its started minutes at the
// tenant's price (pricing-static: 0.0100 a minute here); once it has ended, Twilio's price (the
// simulator's 0.0085 a started minute, known only half a second later) is looked up and the
// difference booked; the call's record keeps both.
TEST_F(SendTest, ACallsChargeIsReconciledWithTwiliosPrice) {
  std::ofstream(dir_ / "prices.csv") << "US,*,voice_in_minute,0.0100\n";
  addPlugin(kPluginDir / "pricing-static.so", "pricing-static",
            "table = " + (dir_ / "prices.csv").string() + "\n", true);
  outbox_config_ = "price_after_s = 0\n";
  startSim({"--call-price-micros", "8500", "--price-delay-ms", "500"});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  credit(t, 1'000'000);
  // The simulator places a call to the number: 75 s, two started minutes.
  const auto placed =
      http(sim_port_, "POST", "/sim/inbound-call",
           twilio::formEncode({{"Url", signed_base_ + "/twilio/voice"},
                               {"AccountSid", kAccount},
                               {"From", "+14155550111"},
                               {"To", kNumber},
                               {"StatusCallback", signed_base_ + "/twilio/voice/status"},
                               {"Duration", "75"}}),
           {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(placed.status, 200) << placed.body;
  Poco::JSON::Object::Ptr c;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < end;) {
    const auto calls =
        json(http(port_, "GET", "/v1/calls", "", bearer(key)).body)->getArray("calls");
    c = calls && calls->size() == 1 ? calls->getObject(0) : nullptr;
    if (c && c->has("price_status") && c->getValue<std::string>("price_status") == "priced") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(c) << "no call recorded";
  EXPECT_EQ(c->getValue<std::string>("status"), "completed");
  EXPECT_EQ(c->getValue<int>("duration_s"), 75);
  ASSERT_TRUE(c->has("price_status")) << "never asked for Twilio's price";
  EXPECT_EQ(c->getValue<std::string>("price_status"), "priced");
  EXPECT_EQ(c->getValue<int64_t>("charged_micros"), 20000);
  EXPECT_EQ(c->getValue<int64_t>("twilio_price_micros"), 17000);
  EXPECT_EQ(wallet(t, "balance_micros"), std::to_string(1'000'000 - 17'000)) << "3,000 back";
  EXPECT_NE(http(port_, "GET", "/metrics").body.find("tollgate_call_prices_priced_total 1"),
            std::string::npos);
  const auto verify = ctl({"ledger", "verify"});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
}

// Twilio refusing the send (here its magic number for an unroutable To) fails the message with
// Twilio's code and releases what was reserved; nothing is retried.
TEST_F(SendTest, ASendTwilioRefusesFailsAndReleasesTheReservation) {
  priceSmsAt0079();
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  credit(t, 1'000'000);
  const auto r = send(key, R"({"to": "+15005550002", "body": "hi"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r.body)->getValue<int64_t>("estimate_micros"), 7900) << "reserved";
  const std::string id = json(r.body)->getValue<std::string>("id");
  const auto m = outboxOnce(key, id, "failed");
  EXPECT_EQ(m->getValue<std::string>("status"), "failed");
  EXPECT_EQ(m->getValue<int>("error_code"), 21612);
  EXPECT_EQ(m->getValue<int>("attempts"), 1);
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       wallet(t, "held_micros") != "0" && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(wallet(t, "held_micros"), "0");
  EXPECT_EQ(wallet(t, "balance_micros"), "1000000");
  EXPECT_EQ(json(http(sim_port_, "GET", "/sim/stats").body)->getValue<int>("posts"), 1);
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

// Carrier failures reported by callback, in reverse order (the final one before 'sent'): each
// message ends in the state Twilio holds, with its error code; a late 'sent' changes nothing.
TEST_F(SendTest, CallbacksInAnyOrderLeaveEachMessageInTheStateTwilioHolds) {
  startSim({"--fail-rate", "1", "--out-of-order", "--seed", "7"});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    const auto r =
        send(key, R"({"to": "+14155550111", "body": "message )" + std::to_string(i) + "\"}");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json(r.body)->getValue<std::string>("id"));
  }
  // Final once the simulator has posted every callback (each message's last one is 'sent').
  Poco::JSON::Array::Ptr at_twilio;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < end;) {
    const auto stats = json(http(sim_port_, "GET", "/sim/stats").body);
    at_twilio = simMessages();
    // failed: one callback; undelivered: two.
    int want = 0;
    for (size_t i = 0; i < at_twilio->size(); ++i) {
      want += at_twilio->getObject(static_cast<unsigned>(i))->getValue<std::string>("status") ==
                      "failed"
                  ? 1
                  : 2;
    }
    if (at_twilio->size() == ids.size() && stats->getValue<int>("callbacks_sent") == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(at_twilio->size(), ids.size());
  std::map<std::string, Poco::JSON::Object::Ptr> by_sid;
  std::set<std::string> outcomes;
  for (size_t i = 0; i < at_twilio->size(); ++i) {
    const auto o = at_twilio->getObject(static_cast<unsigned>(i));
    by_sid[o->getValue<std::string>("sid")] = o;
    outcomes.insert(o->getValue<std::string>("status"));
  }
  EXPECT_EQ(outcomes, (std::set<std::string>{"failed", "undelivered"})) << "seed 7 gives both";
  for (const std::string& id : ids) {
    const auto m = json(http(port_, "GET", "/v1/outbox/" + id, "", bearer(key)).body);
    const auto twilio = by_sid.at(m->getValue<std::string>("twilio_sid"));
    const std::string want = twilio->getValue<std::string>("status");
    EXPECT_EQ(m->getValue<std::string>("status"), want) << id;
    EXPECT_EQ(m->getValue<std::string>("twilio_status"), want) << id;
    EXPECT_EQ(m->getValue<int>("error_code"), twilio->getValue<int>("error_code")) << id;
  }
}

// Twilio stores each message but its answer is lost (a 500, Twilio's 20500): the outcome is
// unknown, so nothing is sent again; the lookup in Twilio's list finds each message and records
// its SID. (Callbacks held back a minute: the list, not a callback, reconciles them here.)
TEST_F(SendTest, AnUnknownOutcomeIsReconciledFromTwiliosListWithoutASecondPost) {
  outbox_config_ = "reconcile_after_s = 0\n";
  startSim({"--lost-answer-rate", "1", "--callback-delay-ms", "60000"});
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    // Two of them alike: interchangeable at Twilio, each still gets a SID of its own.
    const auto r = send(
        key, R"({"to": "+14155550111", "body": "lost )" + std::to_string(std::min(i, 3)) + "\"}");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json(r.body)->getValue<std::string>("id"));
  }
  std::set<std::string> sids;
  for (const std::string& id : ids) {
    const auto m = outboxOnce(key, id, "accepted");
    EXPECT_EQ(m->getValue<std::string>("status"), "accepted") << id;
    EXPECT_EQ(m->getValue<std::string>("twilio_status"), "queued") << id;
    EXPECT_EQ(m->getValue<int>("attempts"), 1) << id;
    sids.insert(m->getValue<std::string>("twilio_sid"));
  }
  EXPECT_EQ(sids.size(), ids.size());
  const auto stats = json(http(sim_port_, "GET", "/sim/stats").body);
  EXPECT_EQ(stats->getValue<int>("posts"), 5) << "one POST per message";
  EXPECT_EQ(stats->getValue<int>("answers_lost"), 5);
  for (const std::string& sid : sids) EXPECT_EQ(sids.count(sid), 1u);
}

// The admin's command: tollgatectl send queues as the tenant would, and --wait follows the
// message to its final state (exit 0 delivered, 4 otherwise).
TEST_F(SendTest, TollgatectlSendFollowsAMessageToItsFinalState) {
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const auto sent = ctl({"send", t, "--to", "+14155550111", "--body", "Hello", "--wait"});
  EXPECT_EQ(sent.code, 0) << sent.out << sent.err;
  // --json: the message as queued, then as each change found it.
  EXPECT_NE(sent.out.find(R"("status":"queued")"), std::string::npos) << sent.out;
  EXPECT_NE(sent.out.find(R"("status":"delivered")"), std::string::npos) << sent.out;
  const auto refused = ctl({"send", t, "--to", "+15005550002", "--body", "Hello", "--wait"});
  EXPECT_EQ(refused.code, 4) << refused.out << refused.err;
  EXPECT_NE(refused.out.find(R"("status":"failed")"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find(R"("error_code":21612)"), std::string::npos) << refused.out;
  const auto bad = ctl({"send", t, "--to", "555", "--body", "Hello"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("to:"), std::string::npos) << bad.err;
  EXPECT_EQ(simMessages()->size(), 1u);
}

// send_at: the message waits in the outbox, its price reserved, and goes to Twilio when due.
TEST_F(SendTest, AScheduledMessageWaitsUntilItsTimeThenGoes) {
  priceSmsAt0079();
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  credit(t, 1'000'000);
  const std::string key = issueKey(t);
  // Three seconds from now, written in another offset (+01:00) to the millisecond.
  const Poco::Timestamp due = Poco::Timestamp() + 3 * Poco::Timestamp::resolution();
  const int64_t due_ms = due.epochMicroseconds() / 1000;
  const std::string send_at =
      Poco::DateTimeFormatter::format(due + 3600 * Poco::Timestamp::resolution(),
                                      "%Y-%m-%dT%H:%M:%S.%i") +
      "+01:00";
  const auto r =
      send(key, R"({"to": "+14155550111", "body": "later", "send_at": ")" + send_at + "\"}");
  ASSERT_EQ(r.status, 202) << r.body;
  const auto queued = json(r.body);
  const std::string id = queued->getValue<std::string>("id");
  EXPECT_EQ(queued->getValue<std::string>("status"), "queued");
  EXPECT_EQ(queued->getValue<int64_t>("next_attempt_at_ms"), due_ms);
  EXPECT_EQ(wallet(t, "held_micros"), "7900") << "reserved from the start";
  EXPECT_EQ(simMessages()->size(), 0u) << "not before its time";
  EXPECT_EQ(outboxOnce(key, id, "delivered")->getValue<std::string>("status"), "delivered");
  const auto at_twilio = simMessages();
  ASSERT_EQ(at_twilio->size(), 1u);
  EXPECT_GE(at_twilio->getObject(0)->getValue<int64_t>("received_ms"), due_ms);
}

// A recipient who replied STOP is refused before anything is reserved or sent (Twilio's 21610).
TEST_F(SendTest, AnOptedOutRecipientIsRefused) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  const std::string key = issueKey(t);
  EXPECT_EQ(post("/twilio/sms", smsParams("SMstop1", "+14155550111", kNumber, "STOP")).status, 200);
  const auto r = send(key, R"({"to": "+14155550111", "body": "hi"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("code"), "opted_out");
  EXPECT_EQ(simMessages()->size(), 0u);
}

}  // namespace
}  // namespace tollgate::testing
