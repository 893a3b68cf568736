// billing-stripe loaded from its .so by the daemon's plugin host, whose http_request sends every
// call to Prism serving Stripe's official OpenAPI file (tests/prism/prism.sh). Prism refuses a
// request the file does not allow (a missing required field, a wrong type, an unknown path or
// form field) with 422 or 404, which the plugin reports as TG_ERR_INVALID_ARGUMENT or
// TG_ERR_NOT_FOUND: a TG_OK answer means Stripe's contract accepted every request it made. Card
// declines: a relay in front of Prism adds `Prefer: code=402`, and Prism answers with the
// file's 402 error body. Saved payment methods are asked through the daemon's billing::Billing,
// as the core asks them.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "billing/billing.hpp"
#include "plugins/plugin_host.hpp"

namespace tollgate::testing {
namespace {

namespace fs = std::filesystem;

std::string prismStripe() {
  const char* url = std::getenv("TOLLGATE_TEST_PRISM_STRIPE");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "TOLLGATE_TEST_PRISM_STRIPE is not set: start Prism with `source "
                     "tests/prism/prism.sh; prism_start` (scripts/test.sh does)";
    return "http://127.0.0.1:9";
  }
  return url;
}

// What a Relay changes on the way: a header added to each POST, and text replaced in the answers.
struct Edits {
  std::string post_header_name, post_header_value;  // none when the name is empty
  std::string answer_find, answer_replace;          // none when answer_find is empty
};

Edits postHeader(std::string name, std::string value) {
  Edits e;
  e.post_header_name = std::move(name);
  e.post_header_value = std::move(value);
  return e;
}

// Relays each request to `target`, edited, and the answer back, edited: Prism still checks
// every request against the file.
class Relay {
 public:
  Relay(const std::string& target, std::string name, std::string value)
      : Relay(target, postHeader(std::move(name), std::move(value))) {}
  Relay(const std::string& target, Edits edits)
      : server_(new Factory(Poco::URI(target), std::move(edits)),
                Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~Relay() { server_.stopAll(true); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

 private:
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    Factory(Poco::URI t, Edits e) : target(std::move(t)), edits(std::move(e)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(*this);
    }
    Poco::URI target;
    Edits edits;
  };
  struct Handler : Poco::Net::HTTPRequestHandler {
    explicit Handler(const Factory& f) : f(f) {}
    void handleRequest(Poco::Net::HTTPServerRequest& in,
                       Poco::Net::HTTPServerResponse& out) override {
      std::string body;
      Poco::StreamCopier::copyToString(in.stream(), body);
      Poco::Net::HTTPClientSession s(f.target.getHost(), f.target.getPort());
      Poco::Net::HTTPRequest req(in.getMethod(), in.getURI(), Poco::Net::HTTPMessage::HTTP_1_1);
      for (const auto& [n, v] : in) {
        if (n != "Host" && n != "Connection") req.set(n, v);
      }
      if (in.getMethod() == "POST" && !f.edits.post_header_name.empty()) {
        req.set(f.edits.post_header_name, f.edits.post_header_value);
      }
      req.setContentLength64(static_cast<Poco::Int64>(body.size()));
      s.sendRequest(req) << body;
      Poco::Net::HTTPResponse resp;
      std::string answer;
      Poco::StreamCopier::copyToString(s.receiveResponse(resp), answer);
      for (size_t at = 0; !f.edits.answer_find.empty() &&
                          (at = answer.find(f.edits.answer_find, at)) != std::string::npos;
           at += f.edits.answer_replace.size()) {
        answer.replace(at, f.edits.answer_find.size(), f.edits.answer_replace);
      }
      out.setStatus(resp.getStatus());
      out.setContentType(resp.getContentType());
      out.setContentLength64(static_cast<Poco::Int64>(answer.size()));
      out.send() << answer;
    }
    const Factory& f;
  };
  Poco::Net::HTTPServer server_;
};

struct Answer {
  tg_status status = TG_OK;
  tg_payment_state state = 0;
  std::string ref, failure, message;
};

class BillingStripeContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("stripe-contract-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "stripe.key") << "sk_test_contract\n";
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  void TearDown() override {
    host_.reset();
    fs::remove_all(dir_);
  }
  plugins::Plugin* load(const std::string& base_url) {
    plugins::PluginSpec spec;
    spec.config_file = "plugins.d/billing-stripe.ini";
    spec.file = fs::path(TOLLGATE_PLUGIN_BUILD_DIR) / "billing-stripe.so";
    spec.settings = {{"secret_key_file", "stripe.key"}, {"base_url", base_url}};
    host_ = std::make_unique<plugins::PluginHost>(dir_.string());
    if (const auto failure = host_->load(spec)) ADD_FAILURE() << failure->message;
    return host_->find("billing-stripe");
  }
  static tg_call_ctx ctx() {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return tg_call_ctx{.struct_size = sizeof(tg_call_ctx),
                       .tenant_id = {"tn_1", 4},
                       .request_id = {"contract", 8},
                       .deadline_unix_ms = now + 10000};
  }
  template <class Fn>
  static Answer call(plugins::Plugin* p, Fn fn) {
    Answer a;
    tg_error err{};
    const tg_call_ctx c = ctx();
    a.status =
        fn(p->vtable<tg_billing_vtable>(), p->instance(), &c,
           tg_billing_result_sink{&a,
                                  [](void* x, const tg_billing_result* r) {
                                    auto* out = static_cast<Answer*>(x);
                                    out->state = r->state;
                                    out->ref.assign(r->provider_ref.data, r->provider_ref.size);
                                    out->failure.assign(r->failure.data, r->failure.size);
                                  }},
           &err);
    a.message = err.message;
    return a;
  }
  static Answer charge(plugins::Plugin* p) {
    return call(p, [](const tg_billing_vtable* vt, void* i, const tg_call_ctx* c,
                      tg_billing_result_sink s, tg_error* e) {
      tg_billing_charge ch{};
      ch.struct_size = sizeof ch;
      ch.customer_ref = {"cus_contract", 12};
      ch.amount.amount_micros = 20'000'000;
      std::strcpy(ch.amount.currency, "USD");
      ch.idempotency_key = {"topup:tn_1:c1", 13};
      ch.description = {"Wallet top-up", 13};
      return vt->charge(i, c, &ch, s, e);
    });
  }

  fs::path dir_;
  std::ostringstream log_;
  std::unique_ptr<plugins::PluginHost> host_;
};

TEST_F(BillingStripeContractTest, EveryCallIsOneStripesContractAccepts) {
  auto* p = load(prismStripe());
  ASSERT_NE(p, nullptr) << log_.str();
  const Answer customer = call(p, [](const tg_billing_vtable* vt, void* i, const tg_call_ctx* c,
                                     tg_billing_result_sink s, tg_error* e) {
    tg_billing_customer cu{};
    cu.struct_size = sizeof cu;
    cu.email = {"billing@acme.example", 20};
    cu.display_name = {"Acme Dental & Sons", 18};
    return vt->register_customer(i, c, &cu, s, e);
  });
  EXPECT_EQ(customer.status, TG_OK) << customer.message;
  EXPECT_EQ(customer.state, TG_PAYMENT_SUCCEEDED);

  // Prism's PaymentIntent says "canceled" (the schema's first status): the plugin's two requests
  // (the customer, then the intent) were accepted, and its answer read.
  const Answer charged = charge(p);
  EXPECT_EQ(charged.status, TG_OK) << charged.message;
  EXPECT_EQ(charged.state, TG_PAYMENT_FAILED);
  EXPECT_EQ(charged.failure.rfind("canceled", 0), 0u) << charged.failure;

  const Answer refunded = call(p, [](const tg_billing_vtable* vt, void* i, const tg_call_ctx* c,
                                     tg_billing_result_sink s, tg_error* e) {
    tg_money m{.amount_micros = 5'000'000, .currency = "USD"};
    return vt->refund(i, c, {"pi_contract", 11}, m, {"refund:tn_1:r1", 14}, s, e);
  });
  EXPECT_EQ(refunded.status, TG_OK) << refunded.message;
  EXPECT_EQ(p->metrics()["requests"], 4);
}

TEST_F(BillingStripeContractTest, ACardDeclineIsAFailedPaymentNotAnError) {
  Relay decline(prismStripe(), "Prefer", "code=402");
  auto* p = load(decline.url());
  ASSERT_NE(p, nullptr) << log_.str();
  // The customer is read as usual; the PaymentIntent is declined with the file's error body.
  const Answer a = charge(p);
  EXPECT_EQ(a.status, TG_OK) << a.message;
  EXPECT_EQ(a.state, TG_PAYMENT_FAILED);
  EXPECT_EQ(a.failure, "string/string: string")
      << "code/decline_code: message, as Prism fills them";
  EXPECT_EQ(p->metrics()["requests"], 2);
}

// ---- a customer's saved payment methods (ABI 1.6), asked through the daemon's billing core ----

billing::MethodsRequest methodsRequest(tg_payment_method_action action,
                                       const std::string& method = "", const std::string& key = "",
                                       bool make_default = false) {
  return billing::MethodsRequest{.tenant_id = "tn_1",
                                 .request_id = "contract",
                                 .customer_ref = "cus_contract",
                                 .action = action,
                                 .method_ref = method,
                                 .make_default = make_default,
                                 .idempotency_key = key};
}

// Prism's PaymentMethod belongs to customer "string" (its placeholder), which no cus_... the
// plugin accepts could match; the relay makes it this test's customer in Prism's answers, so the
// plugin's ownership check reads a method of ours. Requests still reach Prism unchanged.
Edits methodsOfOurs() {
  Edits e;
  e.answer_find = R"("customer":"string")";
  e.answer_replace = R"("customer":"cus_contract")";
  return e;
}

TEST_F(BillingStripeContractTest, ListAttachSetDefaultAndDetachAreRequestsStripesContractAccepts) {
  Relay ours(prismStripe(), methodsOfOurs());
  auto* p = load(ours.url());
  ASSERT_NE(p, nullptr) << log_.str();
  const billing::Billing billing(*host_);

  // The customer, then its cards: Prism's list says has_more and repeats its one placeholder
  // method on the next page, where the plugin stops (nothing new).
  const billing::Methods listed = billing.paymentMethods(*p, methodsRequest(TG_PM_LIST));
  ASSERT_EQ(listed.status, TG_OK) << listed.error;
  ASSERT_EQ(listed.methods.size(), 1u);
  EXPECT_FALSE(listed.methods[0].ref.empty());

  const billing::Methods attached = billing.paymentMethods(
      *p, methodsRequest(TG_PM_ATTACH, "pm_contract", "pm:tn_1:a1", /*make_default=*/true));
  ASSERT_EQ(attached.status, TG_OK) << attached.error;
  ASSERT_EQ(attached.methods.size(), 1u);
  EXPECT_TRUE(attached.methods[0].is_default);

  const billing::Methods made_default =
      billing.paymentMethods(*p, methodsRequest(TG_PM_SET_DEFAULT, "pm_contract", "pm:tn_1:d1"));
  ASSERT_EQ(made_default.status, TG_OK) << made_default.error;
  EXPECT_TRUE(made_default.methods.at(0).is_default);

  const billing::Methods detached =
      billing.paymentMethods(*p, methodsRequest(TG_PM_DETACH, "pm_contract", "pm:tn_1:x1"));
  ASSERT_EQ(detached.status, TG_OK) << detached.error;
  EXPECT_EQ(detached.methods.size(), 1u);
  // list 3 (customer, two pages), attach 2, set-default 2, detach 3 (method, customer, detach)
  EXPECT_EQ(p->metrics()["requests"], 10);
}

TEST_F(BillingStripeContractTest, AMethodOfAnotherCustomerIsNotFoundAndLeftAlone) {
  // Straight to Prism: its method belongs to "string", not to cus_contract.
  auto* p = load(prismStripe());
  ASSERT_NE(p, nullptr) << log_.str();
  const billing::Billing billing(*host_);
  for (const tg_payment_method_action action : {TG_PM_SET_DEFAULT, TG_PM_DETACH}) {
    const billing::Methods m =
        billing.paymentMethods(*p, methodsRequest(action, "pm_contract", "pm:tn_1:o1"));
    EXPECT_EQ(m.status, TG_ERR_NOT_FOUND) << m.error;
    EXPECT_EQ(m.error, "method_ref: pm_contract is not a payment method of cus_contract");
  }
  EXPECT_EQ(p->metrics()["requests"], 2) << "the GET of the method each time, no POST";
}

TEST_F(BillingStripeContractTest, ADeclinedCardOnAttachIsAnInvalidMethodRef) {
  Relay decline(prismStripe(), "Prefer", "code=402");
  auto* p = load(decline.url());
  ASSERT_NE(p, nullptr) << log_.str();
  const billing::Methods m = billing::Billing(*host_).paymentMethods(
      *p, methodsRequest(TG_PM_ATTACH, "pm_contract", "pm:tn_1:a2", true));
  EXPECT_EQ(m.status, TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m.error, "method_ref: string/string: string") << "code/decline_code: message";
  EXPECT_EQ(p->metrics()["requests"], 1) << "not made the default";
}

}  // namespace
}  // namespace tollgate::testing
