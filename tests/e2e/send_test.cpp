// Sending an SMS end to end (issue 26): POST /v1/messages on the real daemon, the outbox's
// worker sending through the REST client to tollgate-twilio-sim (Twilio's wire format, checked
// against Twilio's OpenAPI file by tests/sim), and what each side then holds.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e/webhook_support.hpp"

namespace tollgate::testing {
namespace {

const fs::path kSimPath = TWILIO_SIM_PATH;

class SendTest : public WebhookFixture {
 protected:
  void SetUp() override {
    WebhookFixture::SetUp();
    const fs::path sim_dir = dir_ / "sim";
    fs::create_directories(sim_dir);
    sim_ = std::make_unique<Child>(
        std::vector<std::string>{kSimPath.string(), "--listen", "127.0.0.1:0", "--port-file",
                                 (sim_dir / "port").string(), "--account", kAccount + ":" + kToken,
                                 "--callback-delay-ms", "0"},
        sim_dir);
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         !fs::exists(sim_dir / "port") && std::chrono::steady_clock::now() < end;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(fs::exists(sim_dir / "port")) << sim_->err();
    sim_port_ = static_cast<uint16_t>(std::stoi(slurp(sim_dir / "port")));
    writeMainIni("[twilio]\naccount_sid = " + kAccount + "\nauth_token_file = " +
                 (dir_ / "twilio-token").string() + "\npublic_base_url = " + kBase +
                 "\napi_base_url = http://127.0.0.1:" + std::to_string(sim_port_) +
                 "\n[outbox]\nlease_s = 30\n");
  }
  void TearDown() override {
    if (sim_) sim_->stopCleanly();
    WebhookFixture::TearDown();
  }
  HttpReply send(const std::string& key, const std::string& body,
                 const std::string& idempotency_key = "") {
    std::map<std::string, std::string> headers = bearer(key);
    if (!idempotency_key.empty()) headers["Idempotency-Key"] = idempotency_key;
    return http(port_, "POST", "/v1/messages", body, headers);
  }
  // The message once its status is `want` (polled within a generous bound), or as it is then.
  Poco::JSON::Object::Ptr outboxOnce(const std::string& key, const std::string& id,
                                     const std::string& want) {
    Poco::JSON::Object::Ptr m;
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         std::chrono::steady_clock::now() < end;) {
      m = json(http(port_, "GET", "/v1/outbox/" + id, "", bearer(key)).body);
      if (m->has("status") && m->getValue<std::string>("status") == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return m;
  }
  Poco::JSON::Array::Ptr simMessages() {
    return json(http(sim_port_, "GET", "/sim/messages").body)->getArray("messages");
  }

  std::unique_ptr<Child> sim_;
  uint16_t sim_port_ = 0;
};

TEST_F(SendTest, AMessageIsQueuedDurablyThenSentOnceThroughTwilio) {
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  const auto r = send(key, R"({"to": "+14155550111", "body": "Hello from Tollgate €"})", "k1");
  ASSERT_EQ(r.status, 202) << r.body;
  const auto answer = json(r.body);
  const std::string id = answer->getValue<std::string>("id");
  EXPECT_EQ(id.rfind("om_", 0), 0u);
  EXPECT_EQ(answer->getValue<std::string>("from"), kNumber) << "the tenant's number by default";
  EXPECT_EQ(answer->getValue<int>("segments"), 1);
  EXPECT_EQ(answer->getValue<std::string>("encoding"), "GSM-7");

  const auto m = outboxOnce(key, id, "accepted");
  EXPECT_EQ(m->getValue<std::string>("status"), "accepted") << m->get("error").toString();
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

  // The same request again (a client's retry): the same message, nothing sent twice.
  const auto again = send(key, R"({"to": "+14155550111", "body": "Hello from Tollgate €"})", "k1");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(json(again.body)->getValue<std::string>("id"), id);
  // The key with another message is a conflict.
  EXPECT_EQ(send(key, R"({"to": "+14155550111", "body": "other"})", "k1").status, 409);
  EXPECT_EQ(simMessages()->size(), 1u);
  EXPECT_EQ(outboxOnce(key, id, "accepted")->getValue<int>("attempts"), 1);
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
           {R"({"to": "+14155550111", "body": ")" + std::string(1601, 'a') + "\"}", "body"}}) {
    const auto r = send(key, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), field) << body;
  }
  EXPECT_EQ(simMessages()->size(), 0u);
}

// With a pricing plugin: segments x the sms_out price is reserved at the send, charged when
// Twilio accepts; a wallet that cannot cover it is a 402 and nothing is sent.
TEST_F(SendTest, ThePriceIsReservedAtTheSendAndChargedWhenTwilioAccepts) {
  std::ofstream(dir_ / "prices.csv") << "US,*,sms_out,0.0079\n";
  addPlugin(kPluginDir / "pricing-static.so", "pricing-static",
            "table = " + (dir_ / "prices.csv").string() + "\n", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(t, kNumber, "");
  const std::string key = issueKey(t);
  const std::string two_segments = std::string(161, 'a');
  const auto poor = send(key, R"({"to": "+14155550111", "body": ")" + two_segments + "\"}");
  EXPECT_EQ(poor.status, 402) << poor.body;
  auto credit =
      http(port_, "POST", "/admin/v1/tenants/" + t + "/wallet/credits",
           R"({"amount_micros": 1000000, "reason": "test", "idempotency_key": "c1"})", admin());
  ASSERT_EQ(credit.status, 201) << credit.body;
  const auto r = send(key, R"({"to": "+14155550111", "body": ")" + two_segments + "\"}");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json(r.body)->getValue<int>("segments"), 2);
  EXPECT_EQ(json(r.body)->getValue<int64_t>("price_micros"), 15800);
  const std::string id = json(r.body)->getValue<std::string>("id");
  EXPECT_EQ(outboxOnce(key, id, "accepted")->getValue<std::string>("status"), "accepted");
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
