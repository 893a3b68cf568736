// Stripe's webhooks end to end: events signed by Stripe's official library (tests/node/
// stripe_sign.js, the `stripe` npm package), never by our own code, posted to the real daemon.
#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/fixture.hpp"

namespace tollgate::testing {
namespace {

const std::string kOldSecret = "whsec_old_5f2b1c9a0d";
const std::string kNewSecret = "whsec_new_8e7d6c5b4a";

class StripeWebhookTest : public DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    // Two secrets while the endpoint's secret is being rolled.
    std::ofstream(dir_ / "stripe-secrets") << kOldSecret << "\n" << kNewSecret << "\n";
    writeMainIni("[stripe]\nwebhook_secret_file = " + (dir_ / "stripe-secrets").string() +
                 "\nwebhook_tolerance_s = 300\n");
    start();
    waitReady();
    tenant_ = json(ctl({"tenant", "create", "Acme"}).out)->getValue<std::string>("id");
  }
  // The Stripe-Signature header Stripe's library makes for `payload`.
  std::string sign(const std::string& payload, const std::string& secret, int64_t t) {
    const fs::path file = dir_ / "payload.json";
    std::ofstream(file, std::ios::binary) << payload;
    const Ran r = run({"/usr/bin/node", (kSourceDir / "tests" / "node" / "stripe_sign.js").string(),
                       file.string(), secret, std::to_string(t)},
                      dir_ / "node");
    EXPECT_EQ(r.code, 0) << r.err << "\n(tests/node: npm ci installs the stripe package)";
    return r.out;
  }
  static int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  HttpReply post(const std::string& payload, const std::string& signature) {
    return http(port_, "POST", "/stripe/webhook", payload,
                {{"Stripe-Signature", signature}, {"Content-Type", "application/json"}});
  }
  std::string succeeded(const std::string& event_id, const std::string& pi, int64_t cents) {
    return R"({"id":")" + event_id +
           R"(","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":")" + pi +
           R"(","object":"payment_intent","amount":)" + std::to_string(cents) +
           R"(,"amount_received":)" + std::to_string(cents) +
           R"(,"currency":"usd","status":"succeeded","metadata":{"tenant_id":")" + tenant_ +
           R"("}}}})";
  }
  int64_t balance() {
    return json(ctl({"wallet", "show", tenant_}).out)->getValue<int64_t>("balance_micros");
  }
  std::string tenant_;
};

TEST_F(StripeWebhookTest, ATopUpIsCreditedOnceWhateverTheDeliveries) {
  const std::string event = succeeded("evt_1", "pi_1", 2000);
  const auto first = post(event, sign(event, kNewSecret, now()));
  ASSERT_EQ(first.status, 200) << first.body << daemon_->err();
  EXPECT_EQ(json(first.body)->getValue<std::string>("action"), "credited");
  EXPECT_EQ(balance(), 20'000'000);

  // The same event again (Stripe retries until it sees a 2xx): the stored answer, no credit.
  const auto replay = post(event, sign(event, kNewSecret, now()));
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, first.body);
  // Another event about the same PaymentIntent: the ledger's key stops a second credit.
  const std::string other = succeeded("evt_2", "pi_1", 2000);
  const auto again = post(other, sign(other, kNewSecret, now()));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json(again.body)->getValue<std::string>("action"), "already credited");
  EXPECT_EQ(balance(), 20'000'000);

  const auto entries = http(port_, "GET", "/admin/v1/tenants/" + tenant_ + "/wallet/entries", "",
                            bearer(adminKey()));
  const auto list = json(entries.body)->getArray("entries");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("type"), "topup");
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("reference"), "pi_1");
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

TEST_F(StripeWebhookTest, RefusesWhatStripeDidNotSignJustNow) {
  const std::string event = succeeded("evt_3", "pi_3", 5000);
  struct Case {
    std::string name, signature, says;
  };
  const std::vector<Case> cases = {
      {"wrong secret", sign(event, "whsec_attacker", now()), "no v1 signature matches"},
      {"ten minutes old", sign(event, kNewSecret, now() - 600), "outside the tolerance of 300 s"},
      {"from the future", sign(event, kNewSecret, now() + 600), "outside the tolerance"},
      {"no header", "", "no Stripe-Signature header"},
      {"no v1", "t=" + std::to_string(now()), "no v1 signature"},
      {"another body", sign(event + " ", kNewSecret, now()), "no v1 signature matches"},
  };
  for (const auto& c : cases) {
    const auto r = post(event, c.signature);
    EXPECT_EQ(r.status, 400) << c.name << ": " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << c.name << ": " << r.body;
  }
  EXPECT_EQ(balance(), 0) << "nothing credited";
  EXPECT_NE(daemon_->err().find("stripe: webhook from \"127.0.0.1\" refused"), std::string::npos)
      << daemon_->err();
  EXPECT_EQ(daemon_->err().find(kNewSecret), std::string::npos) << "no secret in the log";
}

// While a secret is rolled Stripe signs with both; either secret configured here verifies.
TEST_F(StripeWebhookTest, AnyV1ValueOfAnyConfiguredSecretPasses) {
  const std::string event = succeeded("evt_4", "pi_4", 1000);
  const int64_t t = now();
  const std::string by_new = sign(event, kNewSecret, t);  // "t=...,v1=<hex>"
  const std::string v1_new = by_new.substr(by_new.find(",v1="));
  // A v1 of a secret this endpoint does not have, then the new secret's, then a v0.
  const auto r = post(event, "t=" + std::to_string(t) + ",v1=" + std::string(64, '0') + v1_new +
                                 ",v0=" + std::string(64, 'f'));
  EXPECT_EQ(r.status, 200) << r.body;
  const std::string event5 = succeeded("evt_5", "pi_5", 1000);
  EXPECT_EQ(post(event5, sign(event5, kOldSecret, now())).status, 200) << "the old secret";
  EXPECT_EQ(balance(), 20'000'000);
}

// A refund gives money back to the card: the wallet is debited what each refund added, once.
TEST_F(StripeWebhookTest, ARefundDebitsWhatItAddedOnce) {
  const std::string topup = succeeded("evt_r0", "pi_r", 2000);
  ASSERT_EQ(post(topup, sign(topup, kNewSecret, now())).status, 200);
  auto refundEvent = [&](const std::string& id, int64_t total, int64_t before) {
    return R"({"id":")" + id +
           R"(","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_r",)"
           R"("object":"charge","amount":2000,"amount_refunded":)" +
           std::to_string(total) +
           R"(,"currency":"usd","payment_intent":"pi_r","metadata":)"
           R"({"tenant_id":")" +
           tenant_ + R"("}},"previous_attributes":{"amount_refunded":)" + std::to_string(before) +
           "}}}";
  };
  std::string e = refundEvent("evt_r1", 500, 0);
  auto r = post(e, sign(e, kNewSecret, now()));
  EXPECT_EQ(json(r.body)->getValue<std::string>("action"), "debited") << r.body;
  e = refundEvent("evt_r1b", 500, 0);  // the same state in another event
  r = post(e, sign(e, kNewSecret, now()));
  EXPECT_EQ(json(r.body)->getValue<std::string>("action"), "already debited") << r.body;
  e = refundEvent("evt_r2", 800, 500);
  r = post(e, sign(e, kNewSecret, now()));
  EXPECT_EQ(json(r.body)->getValue<std::string>("action"), "debited") << r.body;
  EXPECT_EQ(balance(), 20'000'000 - 8'000'000);
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

TEST_F(StripeWebhookTest, SubscriptionsActivateAndSuspendTheTenant) {
  auto subscriptionEvent = [&](const std::string& id, const std::string& type,
                               const std::string& status) {
    return R"({"id":")" + id + R"(","object":"event","type":")" + type +
           R"(","data":{"object":{"id":"sub_1","object":"subscription","status":")" + status +
           R"(","metadata":{"tenant_id":")" + tenant_ + R"("}}}})";
  };
  auto status = [&] {
    return json(ctl({"tenant", "show", tenant_}).out)->getValue<std::string>("status");
  };
  ASSERT_EQ(ctl({"tenant", "suspend", tenant_}).code, 0);
  std::string e = subscriptionEvent("evt_s1", "customer.subscription.created", "trialing");
  EXPECT_EQ(json(post(e, sign(e, kNewSecret, now())).body)->getValue<std::string>("action"),
            "activated");
  EXPECT_EQ(status(), "active");
  EXPECT_NE(daemon_->err().find("tenant active; provisioning"), std::string::npos);
  e = subscriptionEvent("evt_s2", "customer.subscription.updated", "canceled");
  EXPECT_EQ(json(post(e, sign(e, kNewSecret, now())).body)->getValue<std::string>("action"),
            "suspended");
  EXPECT_EQ(status(), "suspended");
  e = subscriptionEvent("evt_s3", "invoice.paid", "paid");
  EXPECT_EQ(json(post(e, sign(e, kNewSecret, now())).body)->getValue<std::string>("action"),
            "ignored");
}

}  // namespace
}  // namespace tollgate::testing
