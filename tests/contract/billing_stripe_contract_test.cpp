// billing-stripe loaded from its .so by the daemon's plugin host, whose http_request sends every
// call to Prism serving Stripe's official OpenAPI file (tests/prism/prism.sh). Prism refuses a
// request the file does not allow (a missing required field, a wrong type, an unknown path or
// form field) with 422 or 404, which the plugin reports as TG_ERR_INVALID_ARGUMENT or
// TG_ERR_NOT_FOUND: a TG_OK answer means Stripe's contract accepted every request it made. Card
// declines: a relay in front of Prism adds `Prefer: code=402`, and Prism answers with the
// file's 402 error body.
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

// Relays each request to `target`, a POST with one more header, and the answer back.
class Relay {
 public:
  Relay(const std::string& target, std::string name, std::string value)
      : server_(new Factory(Poco::URI(target), std::move(name), std::move(value)),
                Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~Relay() { server_.stopAll(true); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

 private:
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    Factory(Poco::URI t, std::string n, std::string v)
        : target(std::move(t)), name(std::move(n)), value(std::move(v)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(*this);
    }
    Poco::URI target;
    std::string name, value;
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
      if (in.getMethod() == "POST") req.set(f.name, f.value);
      req.setContentLength64(static_cast<Poco::Int64>(body.size()));
      s.sendRequest(req) << body;
      Poco::Net::HTTPResponse resp;
      std::string answer;
      Poco::StreamCopier::copyToString(s.receiveResponse(resp), answer);
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

}  // namespace
}  // namespace tollgate::testing
