// The opt-out registry cannot be bypassed: not by the tenant's state, a replayed request, a
// plugin, or a STOP that arrives while the plugin is still working on an earlier message.
#include <future>

#include "e2e/webhook_support.hpp"

namespace tollgate::testing {
namespace {

class OptOutTest : public WebhookFixture {
 protected:
  const std::string kAlice = "+14155550111";
  const std::string kBob = "+14155550122";

  void startWith(const std::string& sms_plugin_settings, const std::string& plugin_extra = "") {
    addTestPlugin("test-sms", sms_plugin_settings, true, plugin_extra);
    start();
    waitReady();
    tenant_ = createTenant("Acme");
    attach(tenant_, kNumber, "\"sms_plugin\":\"test-sms\"");
  }
  Params smsFrom(const std::string& from, const std::string& body) {
    return smsParams("SM" + std::to_string(++n_), from, kNumber, body);
  }
  std::optional<std::string> sms(const std::string& from, const std::string& body,
                                 const std::string& to = "") {
    auto r = post("/twilio/sms",
                  smsParams("SM" + std::to_string(++n_), from, to.empty() ? kNumber : to, body));
    EXPECT_EQ(r.status, 200) << r.body;
    return reply(r);
  }
  // The registry's state for `phone`, read from storage: "1" opted out, "0" opted in, "" none.
  std::string registry(const std::string& phone) {
    const Ran r = sql("SELECT opted_out FROM opt_outs WHERE phone = '" + phone + "'");
    EXPECT_EQ(r.code, 0) << r.err;
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  void setStatus(const std::string& status) {
    ASSERT_EQ(http(port_, "PATCH", "/admin/v1/tenants/" + tenant_,
                   "{\"status\":\"" + status + "\"}", admin())
                  .status,
              200);
  }

  std::string tenant_;
  int n_ = 0;
};

TEST_F(OptOutTest, AStopWhileTheTenantIsSuspendedCountsAfterReactivation) {
  startWith("");
  setStatus("suspended");
  EXPECT_EQ(sms(kAlice, "STOP"), std::nullopt);
  EXPECT_EQ(registry(kAlice), "1");
  setStatus("closed");
  EXPECT_EQ(sms(kBob, "quit"), std::nullopt);
  EXPECT_EQ(registry(kBob), "1");
  setStatus("active");
  EXPECT_EQ(sms(kAlice, "hello"), std::nullopt) << "the STOP sent while suspended still counts";
  EXPECT_EQ(sms(kBob, "hello"), std::nullopt) << "the STOP sent while closed still counts";
  EXPECT_EQ(sms("+14155550133", "hello"), "pong hello");
}

TEST_F(OptOutTest, AReplayedStartWithANewIdempotencyHeaderChangesNothing) {
  startWith("");
  const Params start = smsFrom(kAlice, "START");
  ASSERT_EQ(
      post("/twilio/sms", start, kToken, nullptr, {{"I-Twilio-Idempotency-Token", "t1"}}).status,
      200);
  EXPECT_EQ(sms(kAlice, "STOP"), std::nullopt);
  // The captured, signed START again, with a header the signature does not cover.
  auto replay =
      post("/twilio/sms", start, kToken, nullptr, {{"I-Twilio-Idempotency-Token", "t2-fresh"}});
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(registry(kAlice), "1") << "the replay re-subscribed the sender";
  EXPECT_EQ(sms(kAlice, "hello"), std::nullopt);
}

TEST_F(OptOutTest, APluginCannotUndoAStopInTheSameMessage) {
  startWith("action = opt_in\n");  // the plugin answers TG_SMS_OPT_IN to everything
  EXPECT_EQ(sms(kAlice, "STOP"), std::nullopt);
  EXPECT_EQ(registry(kAlice), "1") << "the plugin's opt-in undid the STOP";
  EXPECT_NE(daemon_->err().find("the STOP stands"), std::string::npos) << daemon_->err();
  for (const char* stop : {"revoke", "OptOut", "stopall"}) {
    EXPECT_EQ(sms(kAlice, stop), std::nullopt) << stop;
    EXPECT_EQ(registry(kAlice), "1") << stop;
  }
  // The plugin's own opt-in keyword still works on a body that is not a STOP.
  EXPECT_EQ(sms(kAlice, "SUBSCRIBE"), "pong SUBSCRIBE");
  EXPECT_EQ(registry(kAlice), "0");
}

TEST_F(OptOutTest, APluginCanOptOutOnAnyMessage) {
  startWith("action = opt_out\n");
  EXPECT_EQ(sms(kAlice, "Start"), std::nullopt) << "the plugin's opt-out wins over START";
  EXPECT_EQ(registry(kAlice), "1");
}

TEST_F(OptOutTest, TheReplyIsDecidedAgainstTheRegistryAsItStandsWhenTheAnswerIsWritten) {
  const fs::path gate = dir_ / "gate";
  fs::create_directories(gate);
  startWith("gate_dir = " + gate.string() + "\n", "deadline_ms = 60000\n");
  // Alice's "wait for me" is held inside the plugin...
  auto held = std::async(std::launch::async, [&, p = smsFrom(kAlice, "wait for me")] {
    return post("/twilio/sms", p);
  });
  for (int i = 0; i < 6000 && !fs::exists(gate / "entered"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(gate / "entered")) << "the plugin never received the message";
  // ...while her STOP is recorded...
  EXPECT_EQ(sms(kAlice, "STOP"), std::nullopt);
  ASSERT_EQ(registry(kAlice), "1");
  // ...and only then does the plugin answer it.
  std::ofstream(gate / "release") << "1";
  const HttpReply answered = held.get();
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(reply(answered), std::nullopt) << "a reply went out after the sender's STOP";
  const std::string metrics = http(port_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tollgate_replies_suppressed_total 2"), std::string::npos) << metrics;
}

TEST_F(OptOutTest, RevokeAndOptoutAreStopWordsToo) {
  startWith("");
  EXPECT_EQ(sms(kAlice, "revoke"), std::nullopt);
  EXPECT_EQ(sms(kBob, " OPTOUT "), std::nullopt);
  EXPECT_EQ(registry(kAlice), "1");
  EXPECT_EQ(registry(kBob), "1");
  EXPECT_EQ(sms(kAlice, "hello"), std::nullopt);
  EXPECT_EQ(sms(kBob, "hello"), std::nullopt);
  EXPECT_EQ(sms(kAlice, "unstop"), "pong unstop");
  EXPECT_EQ(registry(kAlice), "0");
}

TEST_F(OptOutTest, WhatsappAddressesRouteAndOptOutTheNumberBehindThem) {
  startWith("");
  EXPECT_EQ(sms("whatsapp:" + kAlice, "hi", "whatsapp:" + kNumber), "pong hi");
  EXPECT_EQ(sms("whatsapp:" + kAlice, "STOP", "whatsapp:" + kNumber), std::nullopt);
  EXPECT_EQ(registry(kAlice), "1");
  EXPECT_EQ(sms(kAlice, "hello"), std::nullopt) << "a WhatsApp STOP opts the number out on SMS";
  EXPECT_EQ(sms("whatsapp:" + kBob, "hello", "whatsapp:" + kNumber), "pong hello");
}

}  // namespace
}  // namespace tollgate::testing
