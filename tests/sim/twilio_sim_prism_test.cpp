// tollgate-twilio-sim's answers checked against Twilio's official OpenAPI file, independently of
// our own code: Prism in proxy mode (--errors) sits in front of the simulator, validates each
// request against twilio_api_v2010.json, forwards it, and validates the simulator's answer
// against the operation's response schema. With --errors, an answer that breaks the schema is
// replaced by Prism's own 500 (application/problem+json, type .../VIOLATIONS) listing the
// violations. Between Prism and the simulator sits a relay of the test's own, which can break a
// field on the way back, to show that Prism does catch it.
//
// Prism is started here, not by tests/prism/prism.sh: its upstream is the simulator's port,
// known only once the simulator runs.
#include <cstdlib>
#include <set>

#include "sim/sim_support.hpp"

namespace tollgate::testing {
namespace {

fs::path prismBinary() {
  const char* env = std::getenv("TOLLGATE_TEST_PRISM_BIN");
  if (env != nullptr && *env != '\0') return env;
  return kSourceDir / "tests" / "node" / "node_modules" / ".bin" / "prism";
}

fs::path twilioSpec() {
  const char* env = std::getenv("TWILIO_OAI");  // as tests/prism/prism.sh reads it
  const fs::path dir = env != nullptr && *env != '\0' ? fs::path(env) : kSharedDir / "twilio-oai";
  return dir / "twilio_api_v2010.json";
}

// Forwards every request to the simulator and its answer back, replacing `find` by `replace` in
// the answer while they are set.
class Relay {
 public:
  explicit Relay(uint16_t target)
      : state_(std::make_shared<State>()),
        server_(new Factory(state_),
                Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                new Poco::Net::HTTPServerParams) {
    state_->target = target;
    server_.start();
  }
  ~Relay() { server_.stopAll(true); }
  uint16_t port() const { return server_.port(); }
  void edit(std::string find, std::string replace) {
    std::lock_guard lock(state_->mu);
    state_->find = std::move(find);
    state_->replace = std::move(replace);
  }

 private:
  struct State {
    uint16_t target = 0;
    std::mutex mu;
    std::string find, replace;
  };
  struct Handler : Poco::Net::HTTPRequestHandler {
    std::shared_ptr<State> s;
    explicit Handler(std::shared_ptr<State> st) : s(std::move(st)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& in,
                       Poco::Net::HTTPServerResponse& out) override {
      std::string body;
      Poco::StreamCopier::copyToString(in.stream(), body);
      std::map<std::string, std::string> headers;
      for (const auto& [name, value] : in) {
        if (name != "Host" && name != "Connection" && name != "Content-Length") {
          headers[name] = value;
        }
      }
      Exchange e = call(s->target, in.getMethod(), in.getURI(), body, headers);
      {
        std::lock_guard lock(s->mu);
        for (size_t at = 0;
             !s->find.empty() && (at = e.body.find(s->find, at)) != std::string::npos;
             at += s->replace.size()) {
          e.body.replace(at, s->find.size(), s->replace);
        }
      }
      out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(e.status));
      for (const auto& [name, value] : e.headers) {
        if (name != "Content-Length" && name != "Connection" && name != "Transfer-Encoding") {
          out.set(name, value);
        }
      }
      out.sendBuffer(e.body.data(), e.body.size());
    }
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    std::shared_ptr<State> s;
    explicit Factory(std::shared_ptr<State> st) : s(std::move(st)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(s);
    }
  };
  std::shared_ptr<State> state_;
  Poco::Net::HTTPServer server_;
};

// One simulator, one relay and one Prism for the whole suite: Prism takes seconds to start.
class TwilioSimPrismTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path prism = prismBinary();
    const fs::path spec = twilioSpec();
    if (!fs::exists(prism)) {
      setup_error_ = "Prism is missing at " + prism.string() +
                     ": run `npm ci` in tests/node (scripts/test.sh does), or set "
                     "TOLLGATE_TEST_PRISM_BIN to a prism executable";
      return;
    }
    if (!fs::exists(spec)) {
      setup_error_ = "no Twilio OpenAPI file at " + spec.string() +
                     ": the project's checkout must sit beside shared/, or set TWILIO_OAI";
      return;
    }
    // Half the messages fail; seed 11 gives both outcomes among the first four.
    sim_ = new SimProcess({"--callback-delay-ms", "5", "--callback-backoff-ms", "10", "--fail-rate",
                           "0.5", "--seed", "11"});
    relay_ = new Relay(sim_->port());
    dir_ = makeTempDir("twilio-sim-prism-");
    prism_port_ = freePort();
    prism_ =
        new Child({prism.string(), "proxy", "-h", "127.0.0.1", "-p", std::to_string(prism_port_),
                   spec.string(), "http://127.0.0.1:" + std::to_string(relay_->port()), "--errors",
                   // one process (NODE_ENV=production would fork), so SIGKILL stops it all
                   "--no-multiprocess"},
                  dir_);
    // Ready when it says so: about 2 s idle, more on two loaded cores; a bounded wait.
    const bool listening = eventually(
        [] {
          return (prism_->out() + prism_->err()).find("Prism is listening") != std::string::npos ||
                 !prism_->running();
        },
        std::chrono::seconds(60));
    if (!listening || !prism_->running()) {
      setup_error_ = "Prism did not start:\n" + prism_->out() + prism_->err();
    }
  }
  static void TearDownTestSuite() {
    delete prism_;  // SIGKILL: Prism does not exit 0 on SIGTERM
    delete relay_;
    delete sim_;
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (!setup_error_.empty()) GTEST_FAIL() << setup_error_;
    relay_->edit("", "");
  }

  static Exchange viaPrism(const std::string& method, const std::string& path,
                           const std::string& form = {}) {
    std::map<std::string, std::string> headers{{"Authorization", basicAuth(kAccount, kToken)}};
    if (method == "POST") headers["Content-Type"] = "application/x-www-form-urlencoded";
    return call(prism_port_, method, path, form, headers);
  }
  static std::string messagesPath() {
    return "/2010-04-01/Accounts/" + kAccount + "/Messages.json";
  }
  static std::string messagePath(const std::string& sid) {
    return "/2010-04-01/Accounts/" + kAccount + "/Messages/" + sid + ".json";
  }
  static std::string describe(const Exchange& e) {
    std::string out = std::to_string(e.status) + " " + e.body;
    for (const auto& [k, v] : e.headers) out += "\n" + k + ": " + v;
    return out + "\nPrism's log:\n" + prism_->out() + prism_->err();
  }

  static inline std::string setup_error_;
  static inline SimProcess* sim_ = nullptr;
  static inline Relay* relay_ = nullptr;
  static inline Child* prism_ = nullptr;
  static inline fs::path dir_;
  static inline uint16_t prism_port_ = 0;
};

TEST_F(TwilioSimPrismTest, CreateAndFetchAnswersMatchTwiliosSchema) {
  std::vector<std::string> sids;
  for (int i = 0; i < 4; ++i) {
    const Exchange created =
        viaPrism("POST", messagesPath(),
                 formEncode({{"To", kTo},
                             {"From", kFrom},
                             {"Body", "contract " + std::to_string(i) + " \xF0\x9F\x91\x8D"},
                             {"StatusCallback", "http://127.0.0.1:9/never"}}));
    ASSERT_EQ(created.status, 201) << describe(created);
    EXPECT_EQ(created.headers.count("sl-violations"), 0u) << describe(created);
    sids.push_back(json(created.body)->getValue<std::string>("sid"));
  }
  // Final, priced, and for some an error code: every shape a fetch can have.
  std::set<std::string> outcomes;
  for (const std::string& sid : sids) {
    ASSERT_TRUE(eventually([&] {
      const std::string s = json(sim_->fetch(sid).body)->getValue<std::string>("status");
      return s == "delivered" || s == "failed" || s == "undelivered";
    }));
    const Exchange fetched = viaPrism("GET", messagePath(sid));
    ASSERT_EQ(fetched.status, 200) << describe(fetched);
    EXPECT_EQ(fetched.headers.count("sl-violations"), 0u) << describe(fetched);
    outcomes.insert(json(fetched.body)->getValue<std::string>("status"));
  }
  EXPECT_GE(outcomes.size(), 2u) << "seed 11 gives a delivered and a failed message";
}

// An inbound call's resource, answered and priced, and unanswered: in the schema of
// api.v2010.account.call.
TEST_F(TwilioSimPrismTest, CallAnswersMatchTwiliosSchema) {
  Receiver receiver;
  receiver.answer(200, "<Response><Say>hi</Say></Response>", "text/xml");
  for (const std::string& end : {"completed", "busy"}) {
    const Exchange placed = call(sim_->port(), "POST", "/sim/inbound-call",
                                 formEncode({{"Url", receiver.url("/voice")},
                                             {"AccountSid", kAccount},
                                             {"From", kTo},
                                             {"To", kFrom},
                                             {"CallStatus", end},
                                             {"Duration", "61"}}),
                                 {{"Content-Type", "application/x-www-form-urlencoded"}});
    ASSERT_EQ(placed.status, 200) << placed.body;
    const std::string path = "/2010-04-01/Accounts/" + kAccount + "/Calls/" +
                             placed.headers.at("X-Sim-Call-Sid") + ".json";
    Exchange fetched;
    ASSERT_TRUE(eventually([&] {
      fetched = viaPrism("GET", path);
      return fetched.status == 200 && json(fetched.body)->getValue<std::string>("status") == end;
    })) << describe(fetched);
    EXPECT_EQ(fetched.headers.count("sl-violations"), 0u) << describe(fetched);
  }
}

// The message list (what the outbox reconciles with): in the schema of ListMessageResponse. One
// quirk: the OpenAPI file gives the paging members (uri, first_page_uri, next_page_uri,
// previous_page_uri) `format: uri`, which wants a scheme, while Twilio writes them relative
// ("/2010-04-01/Accounts/AC.../Messages.json?PageSize=50&Page=0", as Twilio's docs show and
// twilio-node's paging expects). The simulator writes what Twilio writes, so those format
// violations, and only those, are allowed here.
TEST_F(TwilioSimPrismTest, ListAnswersMatchTwiliosSchema) {
  for (int i = 0; i < 3; ++i) {
    const Exchange created = viaPrism(
        "POST", messagesPath(),
        formEncode(
            {{"To", "+14155550177"}, {"From", kFrom}, {"Body", "list " + std::to_string(i)}}));
    ASSERT_EQ(created.status, 201) << describe(created);
  }
  const std::set<std::string> relative{"uri", "first_page_uri", "next_page_uri",
                                       "previous_page_uri"};
  for (const std::string& query : {std::string("?To=%2B14155550177&PageSize=2"),
                                   std::string("?To=%2B14155550177&PageSize=2&Page=1")}) {
    const Exchange page = viaPrism("GET", messagesPath() + query);
    if (page.status == 200) {
      EXPECT_EQ(page.headers.count("sl-violations"), 0u) << describe(page);
      continue;
    }
    ASSERT_EQ(page.status, 500) << describe(page);
    const auto violations = json(page.body)->getArray("validation");
    ASSERT_TRUE(violations) << describe(page);
    for (size_t i = 0; i < violations->size(); ++i) {
      const auto v = violations->getObject(static_cast<unsigned>(i));
      const auto where = v->getArray("location");
      const std::string member = where->get(where->size() - 1).toString();
      EXPECT_EQ(v->getValue<std::string>("code"), "format") << describe(page);
      EXPECT_EQ(relative.count(member), 1u) << member << ": " << describe(page);
    }
  }
  // What Prism validated, read directly: newest first, paged.
  const auto first =
      json(call(sim_->port(), "GET", messagesPath() + "?To=%2B14155550177&PageSize=2", "",
                {{"Authorization", basicAuth(kAccount, kToken)}})
               .body);
  const auto messages = first->getArray("messages");
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ(messages->getObject(0)->getValue<std::string>("body"), "list 2") << "newest first";
  EXPECT_EQ(first->getValue<std::string>("next_page_uri"),
            messagesPath() + "?To=%2B14155550177&PageSize=2&Page=1");
  const auto last =
      json(call(sim_->port(), "GET", messagesPath() + "?To=%2B14155550177&PageSize=2&Page=1", "",
                {{"Authorization", basicAuth(kAccount, kToken)}})
               .body);
  ASSERT_EQ(last->getArray("messages")->size(), 1u);
  EXPECT_TRUE(last->isNull("next_page_uri"));
}

TEST_F(TwilioSimPrismTest, PrismRefusesAnAnswerThatBreaksTheSchema) {
  // num_segments is a string in Twilio's schema; an integer there must not pass.
  relay_->edit("\"num_segments\":\"1\"", "\"num_segments\":1");
  const Exchange broken =
      viaPrism("POST", messagesPath(), formEncode({{"To", kTo}, {"From", kFrom}, {"Body", "hi"}}));
  EXPECT_EQ(broken.status, 500) << describe(broken);
  EXPECT_NE(broken.body.find("VIOLATIONS"), std::string::npos) << describe(broken);
  EXPECT_NE(broken.body.find("num_segments"), std::string::npos) << describe(broken);

  // An unknown status value breaks the enum.
  relay_->edit("\"status\":\"queued\"", "\"status\":\"teleported\"");
  const Exchange bad_enum =
      viaPrism("POST", messagesPath(), formEncode({{"To", kTo}, {"From", kFrom}, {"Body", "hi"}}));
  EXPECT_EQ(bad_enum.status, 500) << describe(bad_enum);
}

TEST_F(TwilioSimPrismTest, MediaUrlsPassAsMediaUrlArray) {
  // Twilio's own clients repeat MediaUrl; the OpenAPI file declares an array, and Prism accepts
  // only the MediaUrl[] form of it (it answers 422 "must be array" to a repeated MediaUrl, see
  // shared/twilio-oai/README.md). So through Prism, MediaUrl is sent as MediaUrl[] only; the
  // repeated form is covered against the simulator directly (twilio_sim_test.cpp).
  const Exchange created = viaPrism("POST", messagesPath(),
                                    formEncode({{"To", kTo},
                                                {"From", kFrom},
                                                {"MediaUrl[]", "https://example.com/a.png"},
                                                {"MediaUrl[]", "https://example.com/b.png"}}));
  ASSERT_EQ(created.status, 201) << describe(created);
  EXPECT_EQ(json(created.body)->getValue<std::string>("num_media"), "2");
}

}  // namespace
}  // namespace tollgate::testing
