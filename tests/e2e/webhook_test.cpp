// Twilio webhooks end to end: signed Twilio-shaped form posts to the running daemon with real
// plugins loaded from .so files.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "e2e/webhook_support.hpp"
#include "tenancy/secrets.hpp"

namespace tollgate::testing {
namespace {

class WebhookTest : public WebhookFixture {
 protected:
  // /metrics once it contains `line` (polled, within a generous bound), or as it is then.
  std::string metricsWith(const std::string& line) {
    std::string metrics;
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         std::chrono::steady_clock::now() < end;) {
      metrics = http(port_, "GET", "/metrics").body;
      if (metrics.find(line) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return metrics;
  }
  // The daemon's log once it contains `text` (polled likewise), or as it is then.
  std::string logWith(const std::string& text) {
    std::string log;
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         std::chrono::steady_clock::now() < end;) {
      log = daemon_->err();
      if (log.find(text) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return log;
  }
  int64_t balanceOf(const std::string& tenant) {
    return json(http(port_, "GET", "/admin/v1/tenants/" + tenant + "/wallet", "", admin()).body)
        ->getValue<int64_t>("balance_micros");
  }
};

int countMessages(uint16_t port, const std::string& key, const std::string& query = "") {
  auto r = http(port, "GET", "/v1/messages" + query, "", {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(r.status, 200) << r.body;
  return static_cast<int>(json(r.body)->getArray("messages")->size());
}

TEST_F(WebhookTest, SmsIsPersistedAndTheReplyComesBackEscaped) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");

  const std::string body = "<Say>hi</Say> ]]> & \"quoted\" <Redirect>x</Redirect>";
  auto r = post("/twilio/sms", smsParams("SM0001", "+14155550111", kNumber, body));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("<Say>"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("]]>"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<Redirect>"), std::string::npos) << r.body;
  EXPECT_EQ(reply(r), "pong " + body);

  auto logs = http(port_, "GET", "/v1/messages", "", bearer(key));
  auto list = json(logs.body)->getArray("messages");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("body"), body);
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("status"), "received");
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("from"), "+14155550111");
}

TEST_F(WebhookTest, AfterStopNoReplyOfAnyKindReachesTheSenderUntilStart) {
  addTestPlugin("test-sms", "", true);  // replies to everything, STOP included
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  const std::string alice = "+14155550111", bob = "+14155550122";
  int n = 0;
  auto sms = [&](const std::string& from, const std::string& body) {
    return reply(post("/twilio/sms", smsParams("SM" + std::to_string(++n), from, kNumber, body)));
  };

  EXPECT_EQ(sms(alice, "hello"), "pong hello");
  EXPECT_EQ(sms(alice, "  sToP "), std::nullopt);
  for (const char* body : {"hello?", "HELP", "info", "stopall", "anything at all"}) {
    EXPECT_EQ(sms(alice, body), std::nullopt) << body;
  }
  EXPECT_EQ(sms(bob, "hello"), "pong hello") << "another sender is not affected";
  EXPECT_EQ(sms(alice, "Start"), "pong Start");
  EXPECT_EQ(sms(alice, "hello"), "pong hello");
  for (const char* stop : {"UNSUBSCRIBE", "cancel", "End", "quit"}) {
    EXPECT_EQ(sms(bob, stop), std::nullopt) << stop;
    EXPECT_EQ(sms(bob, "ping"), std::nullopt) << "after " << stop;
    EXPECT_EQ(sms(bob, "unstop"), "pong unstop");
  }
  EXPECT_EQ(sms(bob, "stop please"), "pong stop please") << "only a single-word STOP counts";
  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_replies_suppressed_total 14"), std::string::npos) << metrics;
}

TEST_F(WebhookTest, UnsignedBadlySignedAndReplayedRequests) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  Params p = smsParams("SM42", "+14155550111", kNumber, "hi");

  auto unsigned_r = post("/twilio/sms", p, "");
  EXPECT_EQ(unsigned_r.status, 403);
  EXPECT_EQ(json(unsigned_r.body)->getObject("error")->getValue<std::string>("field"),
            "X-Twilio-Signature");
  EXPECT_EQ(post("/twilio/sms", p, "some-other-token-0123456789abcd").status, 403);
  Params extra = p;
  extra.emplace_back("SneakyParam", "1");  // a parameter the signature does not cover
  EXPECT_EQ(post("/twilio/sms", extra, kToken, &p).status, 403);
  Params changed = p;
  changed[10].second = "changed body";  // Body
  EXPECT_EQ(post("/twilio/sms", changed, kToken, &p).status, 403);
  EXPECT_EQ(countMessages(port_, key), 0) << "a refused webhook persists nothing";

  auto first = post("/twilio/sms", p);
  ASSERT_EQ(first.status, 200);
  auto again = post("/twilio/sms", p);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  auto token_retry = post("/twilio/sms", smsParams("SM43", "+14155550111", kNumber, "x"), kToken,
                          nullptr, {{"I-Twilio-Idempotency-Token", "tok-1"}});
  auto token_again = post("/twilio/sms", smsParams("SM43", "+14155550111", kNumber, "x"), kToken,
                          nullptr, {{"I-Twilio-Idempotency-Token", "tok-1"}});
  EXPECT_EQ(token_again.body, token_retry.body);
  EXPECT_EQ(countMessages(port_, key), 2) << "each message recorded once";

  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_webhook_bad_signature_total 4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_webhook_replayed_total 2"), std::string::npos) << metrics;
  EXPECT_EQ(daemon_->err().find(kToken), std::string::npos) << "the token is never logged";
}

TEST_F(WebhookTest, JsonBodiesAreRefusedWith415EvenWhenSigned) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  // Signed as Twilio signs JSON: the URL carries bodySHA256, the signature covers the URL.
  const std::string body = "{\"To\":\"" + kNumber +
                           "\",\"From\":\"+14155550111\",\"MessageSid\":\"SM1\",\"Body\":\"hi\"}";
  const std::string path = "/twilio/sms?bodySHA256=" + tenancy::sha256Hex(body);
  auto r = http(port_, "POST", path, body,
                {{"Content-Type", "application/json"},
                 {"X-Twilio-Signature", twilio::computeSignature(kToken, kBase + path, {})}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), "Content-Type");
  EXPECT_EQ(countMessages(port_, key), 0);
}

// Unsigned requests are the cheapest thing to send: each may cost a lookup, but neither a
// cache entry without bound nor a log line each, and what they carry is logged escaped.
TEST_F(WebhookTest, UnsignedFloodsAreBoundedInTheLogAndCannotForgeLines) {
  start();
  waitReady();
  const int n = 200;
  for (int i = 0; i < n; ++i) {
    Params p = smsParams("SM" + std::to_string(i), "+14155550111",
                         "+1999" + std::to_string(1000000 + i), "hi");
    EXPECT_EQ(post("/twilio/sms", p, "").status, 200);
  }
  const std::string forged = "+1415\n2026-12-06T00:00:00.000 info FORGED admin key issued";
  Params p = smsParams("SMx", "+14155550111", forged + std::string(100000, 'A'), "hi");
  // Poco's front takes the escape character and answers; the event-driven one refuses a
  // header with a control character (RFC 9110 section 5.5) before any handler runs.
  const int forged_status =
      post("/twilio/sms", p, "", nullptr, {{"X-Request-Id", "rq\x1b[2Jx"}}).status;
  EXPECT_TRUE(forged_status == 200 || forged_status == 400) << forged_status;

  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_webhook_unknown_number_total " +
                         std::to_string(forged_status == 200 ? n + 1 : n)),
            std::string::npos)
      << metrics;
  const std::string log = daemon_->err();
  size_t lines = 0;
  for (size_t at = log.find("that no tenant owns"); at != std::string::npos;
       at = log.find("that no tenant owns", at + 1)) {
    ++lines;
  }
  // A burst of 20, then one a second: far fewer than the requests sent.
  EXPECT_GE(lines, 20u) << log;
  EXPECT_LT(lines, 60u) << log;
  EXPECT_EQ(metrics.find("tollgate_log_lines_suppressed_total 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(log.find("\nFORGED"), std::string::npos) << "a raw newline reached the log";
  EXPECT_EQ(log.find("\n2026-12-06T00:00:00.000 info FORGED"), std::string::npos);
  EXPECT_EQ(log.find(std::string(100, 'A')), std::string::npos) << "the value was not cut";
  EXPECT_EQ(log.find("\x1b[2J"), std::string::npos) << "a raw escape sequence reached the log";
}

// A handler that fails after the claim (here storage refuses a 70 KB body) releases it, so that
// Twilio's retry is processed at once instead of waiting 2 s and getting 503 for 30 s.
TEST_F(WebhookTest, AWebhookThatFailsWritesNothingSoTheRetryIsProcessedAgain) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  // Storage refuses the 70 KB body, and with it the whole unit: the claim too.
  const Params p = smsParams("SMbig", "+14155550111", kNumber, std::string(70000, 'x'));
  const HttpReply first = post("/twilio/sms", p);
  EXPECT_EQ(first.status, 400) << first.body;
  const Ran kept = sql("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'SMbig'");
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_EQ(kept.out, "0\n") << "a failed webhook left a claim behind";
  const HttpReply retry = post("/twilio/sms", p);
  EXPECT_EQ(retry.status, 400) << "the retry was not processed again: " << retry.body;
  // A good message afterwards is unaffected.
  EXPECT_EQ(reply(post("/twilio/sms", smsParams("SMok", "+14155550111", kNumber, "hi"))),
            "pong hi");
}

TEST_F(WebhookTest, UnknownNumbersAndSuspendedTenantsGetTheDocumentedAnswers) {
  addTestPlugin("test-sms", "", true);
  addTestPlugin("test-voice", "", true);
  start();
  waitReady();
  auto sms = post("/twilio/sms", smsParams("SM1", "+14155550111", "+14155559999", "hi"));
  EXPECT_EQ(sms.status, 200);
  const Poco::XML::AutoPtr<Poco::XML::NodeList> nodes =
      twiml(sms.body)->documentElement()->childNodes();
  EXPECT_EQ(nodes->length(), 0u) << sms.body;
  auto call = post("/twilio/voice", voiceParams("CA1", "+14155550111", "+14155559999", "ringing"));
  EXPECT_EQ(call.status, 200);
  EXPECT_NE(call.body.find("<Reject"), std::string::npos) << call.body;
  EXPECT_NE(daemon_->err().find("webhook for number \"+14155559999\" that no tenant owns"),
            std::string::npos);

  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\",\"voice_plugin\":\"test-voice\"");
  ASSERT_EQ(
      http(port_, "PATCH", "/admin/v1/tenants/" + t, "{\"status\":\"suspended\"}", admin()).status,
      200);
  EXPECT_EQ(reply(post("/twilio/sms", smsParams("SM2", "+14155550111", kNumber, "hi"))),
            std::nullopt);
  auto suspended = post("/twilio/voice", voiceParams("CA2", "+14155550111", kNumber, "ringing"));
  EXPECT_NE(suspended.body.find("not in service"), std::string::npos) << suspended.body;
}

TEST_F(WebhookTest, AVoicePluginPastItsDeadlineYieldsTheFallbackInTime) {
  addTestPlugin("test-voice", "sleep_ms = 5000\n", true, "deadline_ms = 300");
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber,
         "\"voice_plugin\":\"test-voice\",\"settings\":{\"fallback_say\":\"Please call back "
         "later.\"}");
  const auto begin = std::chrono::steady_clock::now();
  auto r = post("/twilio/voice", voiceParams("CA9", "+14155550111", kNumber, "ringing"));
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  auto doc = twiml(r.body);
  auto* says = doc->getElementsByTagName("Say");
  ASSERT_EQ(says->length(), 1u) << r.body;
  EXPECT_EQ(says->item(0)->innerText(), "Please call back later.");
  says->release();
  EXPECT_NE(r.body.find("<Hangup"), std::string::npos);
  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_plugin_overruns_total{plugin=\"test-voice\"} 1"),
            std::string::npos)
      << metrics;
}

// A plugin whose calls hang for one tenant (issue 22): sixteen of that tenant's messages at
// once each get the fallback at their deadline, while another tenant's messages to the same
// plugin are answered by it, with no fallback. /readyz then names the stuck workers.
TEST_F(WebhookTest, APluginHungForOneTenantLeavesAnotherTenantsMessagesAlone) {
  const fs::path gate = dir_ / "gate";
  fs::create_directories(gate);
  addTestPlugin("test-sms", "gate_dir = " + gate.string() + "\n", true, "deadline_ms = 500");
  start();
  waitReady();
  const std::string hung = createTenant("Hung");
  attach(hung, kNumber, "\"sms_plugin\":\"test-sms\"");
  const std::string fine = createTenant("Fine");
  const std::string kOther = "+14155550101";
  attach(fine, kOther, "\"sms_plugin\":\"test-sms\"");

  std::vector<std::future<HttpReply>> held;
  for (int i = 0; i < 16; ++i) {
    held.push_back(std::async(std::launch::async, [&, i] {
      return post("/twilio/sms", smsParams("SMh" + std::to_string(i), "+14155550111", kNumber,
                                           "wait " + std::to_string(i)));
    }));
  }
  for (auto& f : held) EXPECT_EQ(f.get().status, 200);
  for (int i = 0; i < 3; ++i) {
    const auto r = post("/twilio/sms", smsParams("SMf" + std::to_string(i), "+14155550112", kOther,
                                                 "hi " + std::to_string(i)));
    EXPECT_EQ(reply(r), "pong hi " + std::to_string(i)) << r.body;
  }
  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_plugin_fallbacks_total 16\n"), std::string::npos) << metrics;

  // The hung tenant's calls hold workers past 3 deadlines: /readyz names them (polled).
  std::string ready;
  for (int i = 0; i < 2000 && ready.find("stuck_workers") == std::string::npos; ++i) {
    ready = http(port_, "GET", "/readyz").body;
    if (ready.find("stuck_workers") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_NE(ready.find("\"stuck_workers\":{\"test-sms\":3}"), std::string::npos) << ready;
  std::ofstream(gate / "release") << "1";
}

TEST_F(WebhookTest, AFailingVoicePluginYieldsTheFallback) {
  addTestPlugin("test-voice", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"voice_plugin\":\"test-voice\",\"settings\":{\"fail\":true}");
  auto r = post("/twilio/voice", voiceParams("CA9", "+14155550111", kNumber, "ringing"));
  EXPECT_NE(r.body.find("cannot take your call"), std::string::npos)
      << r.body;  // voice.fallback_say
  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_plugin_errors_total{plugin=\"test-voice\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(WebhookTest, CallIsRecordedFollowUpsReachThePluginAndStatusOnlyMovesForward) {
  addTestPlugin("test-voice", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, "\"voice_plugin\":\"test-voice\"");
  const std::string caller = "+14155550111";
  auto first = post("/twilio/voice", voiceParams("CA77", caller, kNumber, "ringing"));
  EXPECT_NE(first.body.find("hello CA77 step= event=1"), std::string::npos) << first.body;

  Params gather = voiceParams("CA77", caller, kNumber, "in-progress");
  gather.emplace_back("Digits", "1");
  auto g = post("/twilio/voice/next?step=menu", gather);
  EXPECT_NE(g.body.find("step=menu event=2"), std::string::npos) << g.body;

  Params rec = voiceParams("CA77", caller, kNumber, "in-progress");
  rec.emplace_back("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1");
  rec.emplace_back("RecordingSid", "RE1");
  rec.emplace_back("RecordingDuration", "7");
  auto rr = post("/twilio/voice/next?step=voicemail", rec);
  EXPECT_NE(rr.body.find("step=voicemail event=3"), std::string::npos) << rr.body;

  Params done = voiceParams("CA77", caller, kNumber, "completed");
  done.emplace_back("CallDuration", "42");
  EXPECT_EQ(post("/twilio/voice/status", done).status, 204);
  EXPECT_EQ(post("/twilio/voice/status", voiceParams("CA77", caller, kNumber, "ringing")).status,
            204);

  auto calls = json(http(port_, "GET", "/v1/calls", "", bearer(key)).body)->getArray("calls");
  ASSERT_EQ(calls->size(), 1u);
  auto c = calls->getObject(0);
  EXPECT_EQ(c->getValue<std::string>("status"), "completed") << "a late 'ringing' changes nothing";
  EXPECT_EQ(c->getValue<int>("duration_s"), 42);
  EXPECT_EQ(c->getValue<std::string>("recording_url"),
            "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1");
  EXPECT_NE(http(port_, "GET", "/metrics").body.find("tollgate_calls_completed_total 1"),
            std::string::npos);
}

// Usage charged as it happens, with pricing-static's table: an inbound SMS per segment by our
// number's country, a completed call per started minute from its CallDuration; each once by its
// SID however often Twilio retries or repeats the callback.
TEST_F(WebhookTest, InboundSmsAndCallsAreChargedOnceByTheirSid) {
  std::ofstream(dir_ / "prices.csv") << "US,*,sms_in,0.0079\nUS,*,voice_in_minute,0.0085\n";
  addPlugin(kPluginDir / "pricing-static.so", "pricing-static",
            "table = " + (dir_ / "prices.csv").string() + "\n", true);
  addTestPlugin("test-sms", "", true);
  addTestPlugin("test-voice", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\",\"voice_plugin\":\"test-voice\"");
  auto credit =
      http(port_, "POST", "/admin/v1/tenants/" + t + "/wallet/credits",
           R"({"amount_micros": 1000000, "reason": "test", "idempotency_key": "c1"})", admin());
  ASSERT_EQ(credit.status, 201) << credit.body;

  Params sms = smsParams("SMcharge1", "+14155550111", kNumber, "hello");
  for (auto& [k, v] : sms) {
    if (k == "NumSegments") v = "2";
  }
  EXPECT_EQ(post("/twilio/sms", sms).status, 200);
  EXPECT_EQ(post("/twilio/sms", sms).status, 200) << "Twilio's retry";

  EXPECT_EQ(
      post("/twilio/voice", voiceParams("CAcharge1", "+14155550111", kNumber, "ringing")).status,
      200);
  Params done = voiceParams("CAcharge1", "+14155550111", kNumber, "completed");
  done.emplace_back("CallDuration", "61");
  EXPECT_EQ(post("/twilio/voice/status", done).status, 204);
  EXPECT_EQ(post("/twilio/voice/status", done).status, 204) << "a repeated callback";

  // Waits for the charges (made once each write is stored).
  Poco::JSON::Array::Ptr entries;
  for (int i = 0; i < 200; ++i) {
    entries =
        json(http(port_, "GET", "/admin/v1/tenants/" + t + "/wallet/entries", "", admin()).body)
            ->getArray("entries");
    if (entries->size() >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(entries->size(), 3u);
  std::map<std::string, std::pair<std::string, int64_t>> by_ref;
  for (size_t i = 1; i < entries->size(); ++i) {
    const auto e = entries->getObject(i);
    by_ref[e->getValue<std::string>("reference")] = {e->getValue<std::string>("type"),
                                                     e->getValue<int64_t>("amount_micros")};
  }
  EXPECT_EQ(by_ref["SMcharge1"], std::make_pair(std::string("sms_usage"), int64_t{-15800}));
  EXPECT_EQ(by_ref["CAcharge1"], std::make_pair(std::string("voice_usage"), int64_t{-17000}))
      << "61 s: two started minutes";
  const auto wallet =
      json(http(port_, "GET", "/admin/v1/tenants/" + t + "/wallet", "", admin()).body);
  EXPECT_EQ(wallet->getValue<int64_t>("balance_micros"), 1000000 - 15800 - 17000);
  // Usage by the country of the number that priced it (our US number: both are inbound).
  const auto usage =
      json(http(port_, "GET", "/admin/v1/tenants/" + t + "/wallet/usage?by=country&type=sms_usage",
                "", admin())
               .body);
  const auto by_country = usage->getArray("periods")->getObject(0)->getObject("by_country");
  ASSERT_TRUE(by_country->has("US")) << usage->get("periods").toString();
  EXPECT_EQ(by_country->getObject("US")
                ->getObject("by_type")
                ->getObject("sms_usage")
                ->getValue<int64_t>("total_micros"),
            -15800);
  const Ran by_ctl = ctl({"wallet", "usage", t, "--by", "country", "--period", "month"});
  ASSERT_EQ(by_ctl.code, 0) << by_ctl.err;
  EXPECT_EQ(json(by_ctl.out)->getValue<std::string>("by"), "country") << by_ctl.out;
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
  // Counted just after the charges are stored.
  const std::string metrics = metricsWith("tollgate_usage_charged_total 2\n");
  EXPECT_NE(metrics.find("tollgate_usage_charged_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_usage_unbilled_total 0\n"), std::string::npos) << metrics;
}

// An inbound SMS has happened whatever the wallet holds: its charge is recorded as debt below
// the credit limit, not lost.
TEST_F(WebhookTest, UsageAWalletCannotCoverIsRecordedAsDebt) {
  std::ofstream(dir_ / "prices.csv") << "US,*,sms_in,0.0079\n";
  addPlugin(kPluginDir / "pricing-static.so", "pricing-static",
            "table = " + (dir_ / "prices.csv").string() + "\n", true);
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  EXPECT_EQ(post("/twilio/sms", smsParams("SMdebt1", "+14155550111", kNumber, "hi")).status, 200);
  int64_t balance = 0;
  for (int i = 0; i < 200 && balance == 0; ++i) {
    balance = json(http(port_, "GET", "/admin/v1/tenants/" + t + "/wallet", "", admin()).body)
                  ->getValue<int64_t>("balance_micros");
    if (balance == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(balance, -7900) << "the credit limit is 0: the charge is debt";
  const std::string metrics = metricsWith("tollgate_usage_charged_total 1\n");
  EXPECT_NE(metrics.find("tollgate_usage_charged_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_usage_unbilled_total 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

// Usage is queued with the webhook that records it (storage ABI 1.7) and charged once it can be
// priced: here pricing-twilio cannot reach Twilio (and has no fallback table) until the daemon
// restarts with it reachable (Prism serving Twilio's Pricing OpenAPI file). Nothing is lost in
// between and nothing is charged twice.
TEST_F(WebhookTest, UsageStaysQueuedUntilItCanBePricedAcrossARestart) {
  const char* v1 = std::getenv("TOLLGATE_TEST_PRISM_PRICING_V1");
  const char* v2 = std::getenv("TOLLGATE_TEST_PRISM_PRICING_V2");
  ASSERT_TRUE(v1 != nullptr && v2 != nullptr)
      << "start Prism: source tests/prism/prism.sh; prism_start (scripts/test.sh does)";
  std::ofstream(dir_ / "token") << "prism-token\n";
  const auto pricing = [&](const std::string& base_v1, const std::string& base_v2) {
    addPlugin(kPluginDir / "pricing-twilio.so", "pricing-twilio",
              "account_sid = AC0123456789abcdef0123456789abcdef\nauth_token_file = " +
                  (dir_ / "token").string() + "\nbase_url_v1 = " + base_v1 +
                  "\nbase_url_v2 = " + base_v2 + "\nretry_after_failure_s = 1\n",
              true);
  };
  // Nothing listens on the discard port: every fetch is refused.
  pricing("http://127.0.0.1:9", "http://127.0.0.1:9");
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  EXPECT_EQ(post("/twilio/sms", smsParams("SMqueued1", "+14155550111", kNumber, "hi")).status, 200);
  const std::string log = logWith("usage:sms:SMqueued1 of tenant " + t + " not charged yet");
  EXPECT_NE(log.find("kept queued"), std::string::npos) << log;
  EXPECT_EQ(balanceOf(t), 0);
  daemon_->stopCleanly();  // its last round cannot price it either
  daemon_.reset();

  pricing(v1, v2);
  start();
  waitReady();
  int64_t balance = 0;
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       balance == 0 && std::chrono::steady_clock::now() < end;) {
    balance = balanceOf(t);
    if (balance == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(balance, -50000) << "Twilio's example inbound SMS price, 0.05, once";
  const auto entries =
      json(http(port_, "GET", "/admin/v1/tenants/" + t + "/wallet/entries", "", admin()).body)
          ->getArray("entries");
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->getObject(0)->getValue<std::string>("reference"), "SMqueued1");
  EXPECT_EQ(entries->getObject(0)->getValue<std::string>("type"), "sms_usage");
  // A repeat of the webhook after the charge charges nothing more.
  EXPECT_EQ(post("/twilio/sms", smsParams("SMqueued1", "+14155550111", kNumber, "hi")).status, 200);
  const std::string metrics = metricsWith("tollgate_usage_charged_total 1\n");
  EXPECT_NE(metrics.find("tollgate_usage_charged_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tollgate_usage_unbilled_total 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(balanceOf(t), -50000);
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

TEST_F(WebhookTest, LogsFilterByDateStatusAndNumberAndPage) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string a = createTenant("Acme"), b = createTenant("Bravo");
  const std::string key_a = issueKey(a), key_b = issueKey(b);
  attach(a, kNumber, "\"sms_plugin\":\"test-sms\"");
  attach(b, "+14155550200", "\"sms_plugin\":\"test-sms\"");
  for (int i = 0; i < 7; ++i) {
    post("/twilio/sms", smsParams("SMa" + std::to_string(i),
                                  i % 2 ? "+14155550111" : "+14155550122", kNumber, "m"));
  }
  post("/twilio/sms", smsParams("SMb0", "+14155550111", "+14155550200", "m"));
  EXPECT_EQ(countMessages(port_, key_a), 7);
  EXPECT_EQ(countMessages(port_, key_b), 1) << "each tenant sees its own log only";
  EXPECT_EQ(countMessages(port_, key_a, "?number=%2B14155550111"), 3);
  EXPECT_EQ(countMessages(port_, key_a, "?status=received"), 7);
  EXPECT_EQ(countMessages(port_, key_a, "?status=delivered"), 0);
  EXPECT_EQ(countMessages(port_, key_a, "?from=2100-01-01T00:00:00Z"), 0);
  EXPECT_EQ(countMessages(port_, key_a, "?to=2000-01-01T00:00:00Z"), 0);
  EXPECT_EQ(countMessages(port_, key_a, "?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"), 7);

  std::set<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r =
        http(port_, "GET", "/v1/messages?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), "",
             bearer(key_a));
    auto body = json(r.body);
    for (size_t i = 0; i < body->getArray("messages")->size(); ++i) {
      seen.insert(body->getArray("messages")->getObject(i)->getValue<std::string>("sid"));
    }
    if (!body->has("next_cursor")) break;
    cursor = body->getValue<std::string>("next_cursor");
  }
  EXPECT_EQ(seen.size(), 7u);
  auto bad = http(port_, "GET", "/v1/messages?from=yesterday", "", bearer(key_a));
  ASSERT_TRUE(json(bad.body)->getObject("error")->has("field")) << bad.body;
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json(bad.body)->getObject("error")->getValue<std::string>("field"), "from");
}

TEST_F(WebhookTest, MessageStatusMovesForwardOnlyAndKeepsTheErrorCode) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\"");
  // Sending SMS comes with the outbound issue; until then the outbound row is written the way
  // the outbox will write it, straight into the database.
  const Ran ins =
      sql("INSERT INTO messages (sid, tenant_id, direction, from_number, to_number, body, "
          "status, status_rank, num_segments, created_at_ms, updated_at_ms) VALUES "
          "('SMout1', '" +
          t + "', 'outbound', '" + kNumber +
          "', '+14155550111', 'hello', "
          "'queued', 2, 1, 1, 1)");
  ASSERT_EQ(ins.code, 0) << ins.err;
  auto status = [&](const std::string& s, const std::string& error_code) {
    Params p = {{"AccountSid", kAccount}, {"ApiVersion", "2010-04-01"}, {"From", kNumber},
                {"MessageSid", "SMout1"}, {"MessageStatus", s},         {"SmsSid", "SMout1"},
                {"SmsStatus", s},         {"To", "+14155550111"}};
    if (!error_code.empty()) p.emplace_back("ErrorCode", error_code);
    return post("/twilio/sms/status", p).status;
  };
  auto current = [&] {
    auto list = json(http(port_, "GET", "/v1/messages?status=", "", bearer(key)).body)
                    ->getArray("messages");
    for (size_t i = 0; i < list->size(); ++i) {
      if (list->getObject(i)->getValue<std::string>("sid") == "SMout1") return list->getObject(i);
    }
    return Poco::JSON::Object::Ptr();
  };
  EXPECT_EQ(status("sent", ""), 204);
  EXPECT_EQ(current()->getValue<std::string>("status"), "sent");
  EXPECT_EQ(status("undelivered", "30003"), 204);
  EXPECT_EQ(status("sending", ""), 204);    // late and out of order
  EXPECT_EQ(status("delivered", ""), 204);  // another final state after a final one
  EXPECT_EQ(current()->getValue<std::string>("status"), "undelivered");
  EXPECT_EQ(current()->getValue<int>("error_code"), 30003);
  EXPECT_EQ(status("undelivered", "30003"), 204);  // a retry: replayed, no effect
  EXPECT_NE(http(port_, "GET", "/metrics").body.find("tollgate_webhook_replayed_total 1"),
            std::string::npos);
}

TEST_F(WebhookTest, NumbersAndSubaccountsAreManagedWithTollgatectl) {
  addTestPlugin("test-sms", "", true);
  start();
  waitReady();
  const std::string t = json(ctl({"tenant", "create", "Acme"}).out)->getValue<std::string>("id");
  const std::string sub = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const std::string sub_token = "fedcba9876543210fedcba9876543210";
  std::ofstream(dir_ / "sub-token") << sub_token << "\n";
  const Ran acct = ctl({"account", "add", t, sub, "--token-file", (dir_ / "sub-token").string(),
                        "--name", "acme-sub"});
  ASSERT_EQ(acct.code, 0) << acct.err;
  const Ran att = ctl({"number", "attach", t, "+1 415 555 0177", "--account", sub, "--sms",
                       "test-sms", "--settings", "{\"fallback_reply\":\"later\"}"});
  ASSERT_EQ(att.code, 0) << att.err;
  EXPECT_EQ(json(att.out)->getValue<std::string>("e164"), "+14155550177")
      << "normalised by libphonenumber";
  const Ran bad = ctl({"number", "attach", t, "+1415", "--sms", "test-sms"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("is not an E.164 number"), std::string::npos) << bad.err;
  const Ran nope = ctl({"number", "attach", t, "+14155550178", "--voice", "test-sms"});
  EXPECT_NE(nope.err.find("'test-sms' is not a loaded voice plugin"), std::string::npos)
      << nope.err;

  // The subaccount's token signs webhooks for its number; the master token does not.
  const Params p = smsParams("SMsub1", "+14155550111", "+14155550177", "hi");
  EXPECT_EQ(post("/twilio/sms", p, kToken).status, 403);
  auto ok = post("/twilio/sms", p, sub_token);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(reply(ok), "pong hi");
  // The token is stored encrypted: not in the database file in clear.
  const std::string stored = tableDump("twilio_accounts");
  EXPECT_NE(stored.find(sub), std::string::npos) << "the dump does show the account";
  EXPECT_EQ(stored.find(sub_token), std::string::npos);

  const Ran list = ctl({"number", "list", t});
  EXPECT_NE(list.out.find("+14155550177"), std::string::npos) << list.out;
  ASSERT_EQ(ctl({"number", "detach", t, "+14155550177"}).code, 0);
  auto after =
      post("/twilio/sms", smsParams("SMsub2", "+14155550111", "+14155550177", "hi"), sub_token);
  EXPECT_EQ(reply(after), std::nullopt) << "a detached number is nobody's: documented empty answer";
}

}  // namespace
}  // namespace tollgate::testing
