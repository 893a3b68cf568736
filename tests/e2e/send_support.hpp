// Test support for sending (issue 26): a daemon whose Twilio is tollgate-twilio-sim, started
// by the test with the knobs it asks for, and the ways a test reads both sides.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e/webhook_support.hpp"

namespace tollgate::testing {

inline const fs::path kSimPath = TWILIO_SIM_PATH;

class SendFixture : public WebhookFixture {
 protected:
  void SetUp() override {
    WebhookFixture::SetUp();
    // Twilio (the simulator) posts its status callbacks to the daemon itself.
    signed_base_ = "http://127.0.0.1:" + std::to_string(port_);
    startSim({});
  }
  // (Re)starts the simulator with `knobs` and points the daemon's configuration at it.
  void startSim(const std::vector<std::string>& knobs) {
    if (sim_) sim_->stopCleanly();
    const fs::path sim_dir = dir_ / ("sim" + std::to_string(++sims_));
    fs::create_directories(sim_dir);
    std::vector<std::string> argv{kSimPath.string(),
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--port-file",
                                  (sim_dir / "port").string(),
                                  "--account",
                                  kAccount + ":" + kToken,
                                  "--callback-delay-ms",
                                  "0"};
    argv.insert(argv.end(), knobs.begin(), knobs.end());
    sim_ = std::make_unique<Child>(argv, sim_dir);
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
         !fs::exists(sim_dir / "port") && std::chrono::steady_clock::now() < end;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(fs::exists(sim_dir / "port")) << sim_->err();
    sim_port_ = static_cast<uint16_t>(std::stoi(slurp(sim_dir / "port")));
    writeMainIni("[twilio]\naccount_sid = " + kAccount + "\nauth_token_file = " +
                 (dir_ / "twilio-token").string() + "\npublic_base_url = " + signed_base_ +
                 "\napi_base_url = http://127.0.0.1:" + std::to_string(sim_port_) +
                 "\n[outbox]\nlease_s = 30\n" + pace_config_ + outbox_config_);
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
  // The message once it has `price_status` `want` (polled within a generous bound), or as it
  // is then.
  Poco::JSON::Object::Ptr outboxPriced(const std::string& key, const std::string& id,
                                       const std::string& want = "priced") {
    Poco::JSON::Object::Ptr m;
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         std::chrono::steady_clock::now() < end;) {
      m = json(http(port_, "GET", "/v1/outbox/" + id, "", bearer(key)).body);
      if (m->has("price_status") && m->getValue<std::string>("price_status") == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return m;
  }
  Poco::JSON::Array::Ptr simMessages() {
    return json(http(sim_port_, "GET", "/sim/messages").body)->getArray("messages");
  }

  // pricing-static on, an SMS to the US at 0.0079 a segment (7,900 micros).
  void priceSmsAt0079() {
    std::ofstream(dir_ / "prices.csv") << "US,*,sms_out,0.0079\n";
    addPlugin(kPluginDir / "pricing-static.so", "pricing-static",
              "table = " + (dir_ / "prices.csv").string() + "\n", true);
  }
  void credit(const std::string& tenant, int64_t micros) {
    const auto r = http(port_, "POST", "/admin/v1/tenants/" + tenant + "/wallet/credits",
                        R"({"amount_micros": )" + std::to_string(micros) +
                            R"(, "reason": "test", "idempotency_key": "c1"})",
                        admin());
    ASSERT_EQ(r.status, 201) << r.body;
  }
  std::string wallet(const std::string& tenant, const std::string& field) {
    return json(http(port_, "GET", "/admin/v1/tenants/" + tenant + "/wallet", "", admin()).body)
        ->get(field)
        .toString();
  }

  std::unique_ptr<Child> sim_;
  uint16_t sim_port_ = 0;
  int sims_ = 0;
  std::string outbox_config_;  // more of [outbox], for the next startSim
  // Senders' rates: unlimited unless a test is about them (the default long code's 1 a second
  // would make a test of 400 messages take minutes).
  std::string pace_config_ = "long_code_sps = 0\ntoll_free_sps = 0\nmms_per_s = 0\n";
};

}  // namespace tollgate::testing
