// Auto-recharge end to end: the real tollgated with billing-stripe loaded from its .so, against
// a Stripe stand-in that answers as Stripe's API does (the requests themselves are checked
// against Stripe's official OpenAPI file by billing_stripe_contract_test). Runs on SQLite and,
// as webhook_test/postgres, on PostgreSQL.
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/fixture.hpp"

namespace tollgate::testing {
namespace {

// Stripe as billing-stripe meets it: a customer with a default card, and PaymentIntents that
// succeed (or are declined, 402). It can hold its answers to a PaymentIntent until released,
// to keep a recharge in flight while the test makes more debits.
class FakeStripe {
 public:
  FakeStripe()
      : server_(new Factory(this),
                Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~FakeStripe() {
    release();
    server_.stopAll(true);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  void hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      holding_ = false;
    }
    cv_.notify_all();
  }
  // A customer with a default card already (made outside Tollgate).
  void withCard() {
    std::lock_guard lock(mu_);
    cards_.insert("pm_card_visa");
    default_ = "pm_card_visa";
  }
  int customersCreated() {
    std::lock_guard lock(mu_);
    return customers_created_;
  }
  // PaymentIntents answer "processing": the payment is confirmed later, by the webhook.
  void pend() {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  void decline() {
    std::lock_guard lock(mu_);
    declining_ = true;
  }
  // Waits (at most 30 s) until `n` PaymentIntents were asked for.
  bool awaitIntents(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return intents_.size() >= n; });
  }
  std::vector<std::string> intentKeys() {
    std::lock_guard lock(mu_);
    return intents_;
  }

 private:
  // Owned by the server (Poco takes the factory as a SharedPtr).
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    FakeStripe* f;
    explicit Factory(FakeStripe* ff) : f(ff) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      struct H : Poco::Net::HTTPRequestHandler {
        FakeStripe* f;
        explicit H(FakeStripe* ff) : f(ff) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req,
                           Poco::Net::HTTPServerResponse& resp) override {
          f->handle(req, resp);
        }
      };
      return new H(f);
    }
  };

  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    resp.setContentType("application/json");
    auto send = [&](int status, const std::string& json) {
      resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      resp.sendBuffer(json.data(), json.size());
    };
    if (req.get("Authorization", "") != "Bearer sk_test_recharge") {
      return send(401, R"({"error":{"type":"invalid_request_error","message":"bad key"}})");
    }
    std::istringstream in(body);
    Poco::Net::HTMLForm form;
    form.read(in);
    const std::string method = req.getMethod(), uri = req.getURI();
    std::unique_lock lock(mu_);
    if (method == "POST" && uri == "/v1/customers") {
      ++customers_created_;
      return send(200, customerJson());
    }
    if (method == "GET" && uri == "/v1/customers/cus_recharge") return send(200, customerJson());
    if (method == "POST" && uri == "/v1/customers/cus_recharge") {
      default_ = form.get("invoice_settings[default_payment_method]", default_);
      return send(200, customerJson());
    }
    if (method == "GET" &&
        uri == "/v1/customers/cus_recharge/payment_methods?type=card&limit=100") {
      std::string data;
      for (const auto& pm : cards_) data += (data.empty() ? "" : ",") + methodJson(pm, true);
      return send(200, R"({"object":"list","data":[)" + data + R"(],"has_more":false})");
    }
    static const std::string kMethods = "/v1/payment_methods/";
    if (uri.rfind(kMethods, 0) == 0) {
      const std::string rest = uri.substr(kMethods.size());
      const std::string pm = rest.substr(0, rest.find('/'));
      const bool attached = cards_.contains(pm);
      if (method == "POST" && rest == pm + "/attach") {
        if (pm == "pm_card_chargeDeclined") {
          return send(402, R"({"error":{"type":"card_error","code":"card_declined",)"
                           R"("decline_code":"generic_decline",)"
                           R"("message":"Your card was declined."}})");
        }
        cards_.insert(pm);
        return send(200, methodJson(pm, true));
      }
      if (method == "POST" && rest == pm + "/detach" && attached) {
        cards_.erase(pm);
        return send(200, methodJson(pm, false));
      }
      if (method == "GET" && rest == pm && pm.rfind("pm_card_", 0) == 0) {
        return send(200, methodJson(pm, attached));
      }
      return send(404, R"({"error":{"type":"invalid_request_error","code":"resource_missing",)"
                       R"("message":"No such PaymentMethod"}})");
    }
    if (method == "POST" && uri == "/v1/payment_intents") {
      const std::string key = req.get("Idempotency-Key", "");
      intents_.push_back(key);
      const size_t n = intents_.size();
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !holding_; });
      if (declining_) {
        return send(402, R"({"error":{"type":"card_error","code":"card_declined",)"
                         R"("decline_code":"insufficient_funds",)"
                         R"("message":"Your card has insufficient funds."}})");
      }
      // Stripe answers a repeated Idempotency-Key with the first answer.
      auto [it, fresh] = payments_.emplace(key, "");
      if (fresh) {
        const std::string amount = form.get("amount", "0");
        it->second = R"({"id":"pi_recharge_)" + std::to_string(n) +
                     R"(","object":"payment_intent","status":")" +
                     (pending_ ? "processing" : "succeeded") + R"(","amount":)" + amount +
                     R"(,"amount_received":)" + amount + R"(,"currency":")" +
                     form.get("currency", "") + R"(","customer":"cus_recharge"})";
      }
      return send(200, it->second);
    }
    send(404, R"({"error":{"type":"invalid_request_error","message":"no such route"}})");
  }

  std::string customerJson() const {
    return R"({"id":"cus_recharge","object":"customer","invoice_settings":)"
           R"({"default_payment_method":)" +
           (default_.empty() ? std::string("null") : "\"" + default_ + "\"") + "}}";
  }
  static std::string methodJson(const std::string& pm, bool attached) {
    const bool visa = pm.find("visa") != std::string::npos;
    return R"({"id":")" + pm + R"(","object":"payment_method","type":"card","card":{"brand":")" +
           (visa ? "visa" : "mastercard") + R"(","last4":")" + (visa ? "4242" : "4444") +
           R"(","exp_month":12,"exp_year":2031},"customer":)" +
           (attached ? R"("cus_recharge")" : "null") + "}";
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool holding_ = false, declining_ = false, pending_ = false;
  std::vector<std::string> intents_;  // the Idempotency-Key of each PaymentIntent asked for
  std::map<std::string, std::string> payments_;  // by Idempotency-Key
  std::set<std::string> cards_;                  // attached to cus_recharge
  std::string default_;
  int customers_created_ = 0;
  Poco::Net::HTTPServer server_;  // last: stopped before the state its handlers use goes
};

const std::string kWebhookSecret = "whsec_recharge_3c1d";

class AutoRechargeTest : public DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::ofstream(dir_ / "stripe-key") << "sk_test_recharge\n";
    std::ofstream(dir_ / "stripe-secrets") << kWebhookSecret << "\n";
    writeMainIni("[stripe]\nwebhook_secret_file = " + (dir_ / "stripe-secrets").string() + "\n");
    addPlugin(kPluginDir / "billing-stripe.so", "billing-stripe",
              "secret_key_file = " + (dir_ / "stripe-key").string() +
                  "\nbase_url = " + stripe_.url() + "\n",
              true, "deadline_ms = 60000");
    start();
    waitReady();
    const auto created = json(ctl({"tenant", "create", "Acme"}).out);
    tenant_ = created->getValue<std::string>("id");
  }
  std::string admin(const std::string& rest) { return "/admin/v1/tenants/" + tenant_ + rest; }
  HttpReply call(const std::string& method, const std::string& path, const std::string& body) {
    return http(port_, method, path, body, bearer(adminKey()));
  }
  void credit(int64_t micros) {
    const auto r = call("POST", admin("/wallet/credits"),
                        R"({"amount_micros":)" + std::to_string(micros) +
                            R"(,"reason":"opening balance","idempotency_key":"open"})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void linkCustomer() {
    stripe_.withCard();
    const auto r = call("PUT", admin("/billing"),
                        R"({"provider":"billing-stripe","customer_ref":"cus_recharge"})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  HttpReply enable(int64_t threshold, int64_t amount) {
    return call("PUT", admin("/wallet/auto-recharge"),
                R"({"enabled":true,"threshold_micros":)" + std::to_string(threshold) +
                    R"(,"amount_micros":)" + std::to_string(amount) + "}");
  }
  static std::string fieldOf(const HttpReply& r) {
    const auto body = json(r.body);
    return body->has("error") ? body->getObject("error")->optValue<std::string>("field", "") : "";
  }
  Poco::JSON::Object::Ptr recharge() {
    const auto r = call("GET", admin("/wallet/auto-recharge"), "");
    EXPECT_EQ(r.status, 200) << r.body;
    return json(r.body);
  }
  int64_t balance() {
    return json(call("GET", admin("/wallet"), "").body)->getValue<int64_t>("balance_micros");
  }
  // Polls `done` for at most 30 s (a recharge runs off the request's thread).
  template <class Fn>
  bool eventually(Fn done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // A Stripe event about `pi` signed by Stripe's own library (tests/node/stripe_sign.js).
  HttpReply stripeEvent(const std::string& type, const std::string& pi, int64_t cents,
                        const std::string& key) {
    const std::string payload =
        R"({"id":"evt_)" + pi + R"(","object":"event","type":")" + type +
        R"(","data":{"object":{"id":")" + pi + R"(","object":"payment_intent","amount":)" +
        std::to_string(cents) + R"(,"amount_received":)" + std::to_string(cents) +
        R"(,"currency":"usd","status":"succeeded","metadata":{"tenant_id":")" + tenant_ +
        R"(","tollgate_key":")" + key + R"("}}}})";
    const fs::path file = dir_ / "payload.json";
    std::ofstream(file, std::ios::binary) << payload;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const Ran signed_by =
        run({"/usr/bin/node", (kSourceDir / "tests" / "node" / "stripe_sign.js").string(),
             file.string(), kWebhookSecret, std::to_string(now)},
            dir_ / "node");
    EXPECT_EQ(signed_by.code, 0) << signed_by.err;
    return http(port_, "POST", "/stripe/webhook", payload,
                {{"Stripe-Signature", signed_by.out}, {"Content-Type", "application/json"}});
  }

  FakeStripe stripe_;
  std::string tenant_;
};

// 50 debits at once take the balance from 10 to 0.50 across the threshold of 5, while the one
// recharge they start is held at Stripe: exactly one PaymentIntent, one top-up of 20.
TEST_F(AutoRechargeTest, FiftyConcurrentDebitsAcrossTheThresholdMakeOneCharge) {
  credit(10'000'000);
  linkCustomer();
  const auto enabled = enable(5'000'000, 20'000'000);
  ASSERT_EQ(enabled.status, 200) << enabled.body;
  EXPECT_TRUE(json(enabled.body)->getValue<bool>("enabled"));
  stripe_.hold();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      const auto r = http(port_, "POST", admin("/wallet/debits"),
                          R"({"amount_micros":190000,"reason":"usage","idempotency_key":"d)" +
                              std::to_string(i) + R"("})",
                          bearer(adminKey()));
      if (r.status == 201) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 50) << "usage is never blocked by a recharge";
  ASSERT_TRUE(stripe_.awaitIntents(1)) << daemon_->err();
  EXPECT_TRUE(recharge()->getValue<bool>("in_flight"));
  // More debits while it is in flight start nothing more.
  for (int i = 50; i < 55; ++i) {
    ASSERT_EQ(call("POST", admin("/wallet/debits"),
                   R"({"amount_micros":1,"reason":"usage","idempotency_key":"d)" +
                       std::to_string(i) + R"("})")
                  .status,
              201);
  }
  stripe_.release();
  ASSERT_TRUE(eventually([&] { return balance() == 20'500'000 - 5; })) << balance();
  ASSERT_TRUE(eventually([&] { return !recharge()->getValue<bool>("in_flight"); }));
  const auto state = recharge();
  EXPECT_EQ(state->getValue<int>("failures"), 0);
  EXPECT_EQ(state->getValue<std::string>("last_error"), "");

  const auto keys = stripe_.intentKeys();
  ASSERT_EQ(keys.size(), 1u) << "one charge";
  EXPECT_EQ(keys[0].rfind("auto-recharge:" + tenant_ + ":USD:", 0), 0u) << keys[0];
  const auto entries = json(call("GET", admin("/wallet/entries?type=topup"), "").body);
  const auto topups = entries->getArray("entries");
  ASSERT_EQ(topups->size(), 2u);  // the opening credit and the recharge
  EXPECT_EQ(topups->getObject(1)->getValue<int64_t>("amount_micros"), 20'000'000);
  EXPECT_EQ(topups->getObject(1)->getValue<std::string>("reference"), "pi_recharge_1");
  EXPECT_EQ(topups->getObject(1)->getValue<std::string>("idempotency_key"), "stripe:pi_recharge_1")
      << "the key Stripe's webhook credits it by, so it is credited once";
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
  const auto metrics = http(port_, "GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("tollgate_auto_recharges_total 1\n"), std::string::npos)
      << metrics.body;
}

// A declined card: recorded with Stripe's reason, counted, and no second try before the
// backoff; the wallet keeps serving usage while it has funds.
TEST_F(AutoRechargeTest, ADeclineIsRecordedAndHoldsBackTheNextTry) {
  stripe_.decline();
  credit(1'000'000);
  linkCustomer();
  // Already under the threshold: the recharge starts now, not at the next debit.
  ASSERT_EQ(enable(5'000'000, 20'000'000).status, 200);
  ASSERT_TRUE(stripe_.awaitIntents(1)) << daemon_->err();
  ASSERT_TRUE(eventually([&] { return recharge()->getValue<int>("failures") == 1; }))
      << daemon_->err();
  const auto state = recharge();
  EXPECT_FALSE(state->getValue<bool>("in_flight"));
  EXPECT_NE(state->getValue<std::string>("last_error").find("insufficient_funds"),
            std::string::npos)
      << state->getValue<std::string>("last_error");
  EXPECT_GT(state->getValue<int64_t>("retry_at_ms"),
            state->getValue<int64_t>("last_started_at_ms"));
  const auto r = call("POST", admin("/wallet/debits"),
                      R"({"amount_micros":100000,"reason":"usage","idempotency_key":"after"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(balance(), 900'000);
  EXPECT_EQ(stripe_.intentKeys().size(), 1u);
  EXPECT_NE(daemon_->err().find("auto-recharge of tenant " + tenant_ + "'s USD wallet failed"),
            std::string::npos)
      << daemon_->err();
}

// A recharge Stripe confirms later keeps its lease (no second charge meanwhile) until Stripe's
// webhook says it succeeded: credited once, under the same key, and the lease ends.
TEST_F(AutoRechargeTest, APendingRechargeEndsWithStripesWebhook) {
  stripe_.pend();
  credit(1'000'000);
  linkCustomer();
  ASSERT_EQ(enable(5'000'000, 20'000'000).status, 200);
  ASSERT_TRUE(stripe_.awaitIntents(1)) << daemon_->err();
  ASSERT_TRUE(eventually([&] { return recharge()->getValue<bool>("in_flight"); }));
  EXPECT_EQ(call("POST", admin("/wallet/debits"),
                 R"({"amount_micros":10000,"reason":"usage","idempotency_key":"p1"})")
                .status,
            201);
  EXPECT_EQ(balance(), 990'000) << "nothing credited while pending";
  EXPECT_TRUE(recharge()->getValue<bool>("in_flight"));

  const std::string key = stripe_.intentKeys().at(0);
  const auto r = stripeEvent("payment_intent.succeeded", "pi_recharge_1", 2000, key);
  ASSERT_EQ(r.status, 200) << r.body << daemon_->err();
  EXPECT_EQ(balance(), 20'990'000);
  const auto state = recharge();
  EXPECT_FALSE(state->getValue<bool>("in_flight")) << "the webhook ended the lease";
  EXPECT_EQ(state->getValue<int>("failures"), 0);
  EXPECT_EQ(stripe_.intentKeys().size(), 1u);
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

TEST_F(AutoRechargeTest, SettingsAreCheckedAndNameTheField) {
  struct Case {
    std::string body, field;
    int status;
  };
  // No billing customer yet: nothing to charge.
  auto r = enable(5'000'000, 20'000'000);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(fieldOf(r), "enabled") << r.body;
  r = call("PUT", admin("/billing"), R"({"provider":"billing-nope","customer_ref":"cus_1"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(fieldOf(r), "provider");
  r = call("PUT", admin("/billing"), R"({"provider":"billing-stripe","customer_ref":"cus/../x"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(fieldOf(r), "customer_ref");
  stripe_.withCard();
  const Ran linked = ctl({"billing", "link", tenant_, "billing-stripe", "cus_recharge"});
  ASSERT_EQ(linked.code, 0) << linked.err;
  EXPECT_EQ(json(linked.out)->getValue<std::string>("customer_ref"), "cus_recharge") << linked.out;
  const std::vector<Case> cases = {
      {R"({})", "enabled", 400},
      {R"({"enabled":"yes"})", "enabled", 400},
      {R"({"enabled":true,"amount_micros":20000000})", "threshold_micros", 400},
      {R"({"enabled":true,"threshold_micros":-1,"amount_micros":20000000})", "threshold_micros",
       400},
      {R"({"enabled":true,"threshold_micros":5000000,"amount_micros":0})", "amount_micros", 400},
      {R"({"enabled":true,"threshold_micros":5000000,"amount_micros":1.5})", "amount_micros", 400},
      {R"({"enabled":true,"threshold_micros":5000000,"amount_micros":20000001})", "amount_micros",
       400},
  };
  for (const auto& c : cases) {
    r = call("PUT", admin("/wallet/auto-recharge"), c.body);
    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    EXPECT_EQ(fieldOf(r), c.field) << c.body << ": " << r.body;
  }
  EXPECT_FALSE(recharge()->getValue<bool>("enabled")) << "nothing stored";
  const Ran set = ctl({"wallet", "auto-recharge", tenant_, "--threshold", "0", "--amount", "20"});
  ASSERT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(json(set.out)->getValue<int64_t>("amount_micros"), 20'000'000) << set.out;
  EXPECT_EQ(json(set.out)->getValue<int64_t>("threshold_micros"), 0) << set.out;
  EXPECT_EQ(ctl({"wallet", "auto-recharge", tenant_, "--off"}).code, 0);
  EXPECT_FALSE(json(ctl({"wallet", "auto-recharge", tenant_}).out)->getValue<bool>("enabled"));

  // The tenant sees and sets its own, and turns it off.
  const std::string key = json(ctl({"key", "issue", tenant_}).out)->getValue<std::string>("key");
  r = http(port_, "PUT", "/v1/wallet/auto-recharge",
           R"({"enabled":true,"threshold_micros":0,"amount_micros":10000000})", bearer(key));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r.body)->getValue<int64_t>("amount_micros"), 10'000'000);
  r = http(port_, "PUT", "/v1/wallet/auto-recharge", R"({"enabled":false})", bearer(key));
  ASSERT_EQ(r.status, 200) << r.body;
  r = http(port_, "GET", "/v1/wallet/auto-recharge", "", bearer(key));
  EXPECT_FALSE(json(r.body)->getValue<bool>("enabled")) << r.body;
  EXPECT_TRUE(stripe_.intentKeys().empty());
}

// A tenant's cards, by the tokens Stripe.js makes: the first card makes the tenant a Stripe
// customer and is its default; brand, last four and expiry come back, never a card number. A
// top-up charges the default card once per idempotency key.
TEST_F(AutoRechargeTest, CardsAndTopUpsThroughTheTenantsOwnApi) {
  const std::string key = json(ctl({"key", "issue", tenant_}).out)->getValue<std::string>("key");
  auto tenant = [&](const std::string& method, const std::string& path, const std::string& body) {
    return http(port_, method, path, body, bearer(key));
  };
  auto methods = [&](const HttpReply& r) { return json(r.body)->getArray("payment_methods"); };
  auto r = tenant("GET", "/v1/wallet/payment-methods", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(methods(r)->size(), 0u);
  r = tenant("POST", "/v1/wallet/topups", R"({"amount_micros":5000000,"idempotency_key":"t0"})");
  EXPECT_EQ(r.status, 409) << r.body;

  r = tenant("POST", "/v1/wallet/payment-methods", R"({"token":"pm_card_visa"})");
  ASSERT_EQ(r.status, 201) << r.body << daemon_->err();
  auto card = methods(r)->getObject(0);
  EXPECT_EQ(card->getValue<std::string>("id"), "pm_card_visa");
  EXPECT_EQ(card->getValue<std::string>("brand"), "visa");
  EXPECT_EQ(card->getValue<std::string>("last4"), "4242");
  EXPECT_EQ(card->getValue<int>("exp_month"), 12);
  EXPECT_EQ(card->getValue<int>("exp_year"), 2031);
  EXPECT_TRUE(card->getValue<bool>("default")) << "a first card is the default";
  const auto billing = json(call("GET", admin("/billing"), "").body);
  EXPECT_EQ(billing->getValue<std::string>("provider"), "billing-stripe");
  EXPECT_EQ(billing->getValue<std::string>("customer_ref"), "cus_recharge");

  r = tenant("POST", "/v1/wallet/payment-methods", R"({"token":"pm_card_mastercard"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(methods(r)->getObject(0)->getValue<bool>("default"));
  EXPECT_EQ(stripe_.customersCreated(), 1) << "one customer per tenant";
  r = tenant("POST", "/v1/wallet/payment-methods/pm_card_mastercard/default", "");
  ASSERT_EQ(r.status, 200) << r.body;
  r = tenant("GET", "/v1/wallet/payment-methods", "");
  ASSERT_EQ(methods(r)->size(), 2u) << r.body;
  EXPECT_EQ(methods(r)->getObject(0)->getValue<std::string>("id"), "pm_card_mastercard");
  EXPECT_TRUE(methods(r)->getObject(0)->getValue<bool>("default"));

  r = tenant("POST", "/v1/wallet/payment-methods", R"({"token":"pm_card_chargeDeclined"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(fieldOf(r), "token") << r.body;
  EXPECT_NE(r.body.find("generic_decline"), std::string::npos) << r.body;
  r = tenant("POST", "/v1/wallet/payment-methods", R"({"token":"../v1/charges"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(fieldOf(r), "token") << r.body;
  r = tenant("POST", "/v1/wallet/payment-methods", R"({"token":5})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = tenant("DELETE", "/v1/wallet/payment-methods/pm_card_visa", "");
  ASSERT_EQ(r.status, 200) << r.body;
  r = tenant("DELETE", "/v1/wallet/payment-methods/pm_nope", "");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(methods(tenant("GET", "/v1/wallet/payment-methods", ""))->size(), 1u);

  // A top-up, and its retry: charged and credited once.
  for (int i = 0; i < 2; ++i) {
    r = tenant("POST", "/v1/wallet/topups", R"({"amount_micros":15000000,"idempotency_key":"t1"})");
    ASSERT_EQ(r.status, 201) << r.body << daemon_->err();
    EXPECT_EQ(json(r.body)->getValue<std::string>("payment_ref"), "pi_recharge_1");
    EXPECT_EQ(json(r.body)->getValue<int64_t>("balance_after_micros"), 15'000'000);
  }
  EXPECT_EQ(balance(), 15'000'000);
  r = tenant("POST", "/v1/wallet/topups", R"({"amount_micros":1,"idempotency_key":"t2"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(fieldOf(r), "amount_micros");
  EXPECT_EQ(ctl({"ledger", "verify"}).code, 0);
}

}  // namespace
}  // namespace tollgate::testing
