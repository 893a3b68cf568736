// Outbound TLS through the real binaries: the forwarder in tollgated and tollgatectl verify the
// certificate chain and the host name, against a throwaway CA on loopback.
#include <cstdlib>

#include "e2e/webhook_support.hpp"
#include "support/tls.hpp"

namespace tollgate::testing {
namespace {

// Sets an environment variable for the children started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

class TlsForwardTest : public WebhookFixture {
 protected:
  void SetUp() override {
    WebhookFixture::SetUp();
    pki_ = std::make_unique<TestPki>(dir_ / "pki");
    addPlugin(kPluginDir / "sms-keywords.so", "sms-keywords", "", true);
  }
  void withExtraCa() {
    writeMainIni("[twilio]\naccount_sid = " + kAccount + "\nauth_token_file = " +
                 (dir_ / "twilio-token").string() + "\npublic_base_url = " + kBase +
                 "\n[outbound]\nextra_ca_file = " + pki_->ca().string() + "\n");
  }
  // Attaches the number with a forward to `url` and sends one inbound SMS.
  void smsForwardedTo(const std::string& url) {
    const std::string t = createTenant("Acme");
    attach(t, kNumber,
           R"("sms_plugin":"sms-keywords","settings":{"forward_url":")" + url +
               R"(","default_reply":"Got it."})");
    const auto started = std::chrono::steady_clock::now();
    auto r = post("/twilio/sms", smsParams("SMtls1", "+14155550111", kNumber, "hello"));
    EXPECT_EQ(reply(r), "Got it.") << "the webhook is answered whatever the forward does";
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  }
  // Waits until the daemon's log holds `text`; returns the log.
  std::string waitForLog(const std::string& text, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::string log;
    while (std::chrono::steady_clock::now() < end) {
      log = daemon_->err();
      if (log.find(text) != std::string::npos) return log;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "log never said: " << text << "\nlog:\n" << log;
    return log;
  }
  void expectStillServing() {
    EXPECT_TRUE(daemon_->running());
    EXPECT_EQ(http(port_, "GET", "/readyz").status, 200);
  }
  std::string url(const TlsServer& s, const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(s.port()) + "/inbound";
  }

  std::unique_ptr<TestPki> pki_;
};

TEST_F(TlsForwardTest, RefusesACertificateForAnotherHostEvenFromATrustedCa) {
  TlsServer server(*pki_, "evil");
  {
    // The test CA in the "system store", so only the host name is wrong.
    ScopedEnv env("SSL_CERT_FILE", pki_->ca().string());
    start();
  }
  waitReady();
  smsForwardedTo(url(server));
  const std::string log =
      waitForLog("gave up forwarding to " + url(server), std::chrono::seconds(15));
  EXPECT_NE(log.find("failed (attempt 1): Certificate validation error: Unacceptable certificate "
                     "from localhost"),
            std::string::npos)
      << log;
  EXPECT_TRUE(server.received().empty()) << "the payload went to the wrong host";
  expectStillServing();
}

TEST_F(TlsForwardTest, RefusesACertificateFromAnUnknownCa) {
  TlsServer server(*pki_, "selfsigned");
  start();
  waitReady();
  smsForwardedTo(url(server));
  const std::string log =
      waitForLog("gave up forwarding to " + url(server), std::chrono::seconds(15));
  EXPECT_NE(log.find("failed (attempt 1): SSL Exception"), std::string::npos) << log;
  EXPECT_NE(log.find("certificate verify failed: self-signed certificate"), std::string::npos)
      << log;
  EXPECT_EQ((log + daemon_->out()).find("Accept the certificate"), std::string::npos)
      << "Poco's console prompt was reached:\n"
      << daemon_->out();
  EXPECT_TRUE(server.received().empty());
  expectStillServing();
}

TEST_F(TlsForwardTest, ReachesAServerSignedByTheConfiguredCa) {
  TlsServer server(*pki_, "localhost");
  withExtraCa();
  start();
  waitReady();
  smsForwardedTo(url(server));
  ASSERT_TRUE(server.waitFor(1, std::chrono::seconds(10))) << daemon_->err();
  EXPECT_EQ(server.received()[0].path, "/inbound");
  EXPECT_EQ(json(server.received()[0].body)->getValue<std::string>("message_sid"), "SMtls1");
}

TEST_F(TlsForwardTest, TheConfiguredCaDoesNotExcuseAWrongHost) {
  TlsServer server(*pki_, "evil");
  withExtraCa();
  start();
  waitReady();
  smsForwardedTo(url(server, "127.0.0.1"));
  const std::string log =
      waitForLog("gave up forwarding to " + url(server, "127.0.0.1"), std::chrono::seconds(15));
  EXPECT_NE(log.find("Unacceptable certificate from 127.0.0.1"), std::string::npos) << log;
  EXPECT_TRUE(server.received().empty());
  expectStillServing();
}

TEST_F(TlsForwardTest, CheckConfigRefusesAMissingOrUnreadableCaFile) {
  std::ofstream(dir_ / "not-pem.txt") << "hello\n";
  for (const auto& [file, reason] : std::vector<std::pair<std::string, std::string>>{
           {(dir_ / "missing.pem").string(),
            "'" + (dir_ / "missing.pem").string() + "' does not exist"},
           {dir_.string(), "'" + dir_.string() + "' is not a file"},
           {(dir_ / "not-pem.txt").string(),
            "cannot load CA file " + (dir_ / "not-pem.txt").string()}}) {
    const Ran r = run({kTollgated.string(), "--check-config", "--config",
                       (dir_ / "tollgate.ini").string(), "-D", "outbound.extra_ca_file=" + file},
                      dir_ / "check");
    EXPECT_EQ(r.code, 78) << r.err;
    EXPECT_NE(r.err.find((dir_ / "tollgate.ini").string() + ": outbound.extra_ca_file: " + reason),
              std::string::npos)
        << r.err;
  }
  withExtraCa();
  const Ran ok =
      run({kTollgated.string(), "--check-config", "--config", (dir_ / "tollgate.ini").string()},
          dir_ / "check");
  EXPECT_EQ(ok.code, 0) << ok.err;
}

// tollgatectl against HTTPS servers: the admin key goes out only over a verified connection.
class CtlTlsTest : public ::testing::Test {
 protected:
  const std::string kKey = "tgadm_not_for_your_eyes_0123456789";
  void SetUp() override {
    dir_ = makeTempDir("tollgate-ctl-tls-");
    pki_ = std::make_unique<TestPki>(dir_ / "pki");
    std::ofstream(dir_ / "admin.key") << kKey << "\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  Ran ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{kTollgatectl.string(), "--admin-key-file",
                                  (dir_ / "admin.key").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, dir_ / "ctl");
  }
  fs::path dir_;
  std::unique_ptr<TestPki> pki_;
};

TEST_F(CtlTlsTest, NeverSendsTheKeyInClearToAnHttpsUrl) {
  RawListener listener;
  const Ran r =
      ctl({"--url", "https://127.0.0.1:" + std::to_string(listener.port()), "tenant", "list"});
  EXPECT_NE(r.code, 0);
  const std::string bytes = listener.bytes();
  EXPECT_EQ(bytes.find(kKey), std::string::npos) << "the key went over the wire in clear";
  EXPECT_EQ(bytes.find("Authorization"), std::string::npos) << bytes;
}

TEST_F(CtlTlsTest, FailsClosedOnACertificateForAnotherHost) {
  TlsServer server(*pki_, "evil", R"({"tenants":[]})");
  const Ran r = ctl({"--ca-file", pki_->ca().string(), "--url",
                     "https://127.0.0.1:" + std::to_string(server.port()), "tenant", "list"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("Unacceptable certificate from 127.0.0.1: application verification failure "
                       "(the certificate does not name this host)"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(server.received().empty()) << "a request (and its Authorization) reached it";
}

TEST_F(CtlTlsTest, FailsClosedOnAnUnknownCa) {
  TlsServer server(*pki_, "selfsigned", R"({"tenants":[]})");
  const Ran r =
      ctl({"--url", "https://localhost:" + std::to_string(server.port()), "tenant", "list"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("certificate verify failed: self-signed certificate"), std::string::npos)
      << r.err;
  EXPECT_TRUE(server.received().empty());
}

TEST_F(CtlTlsTest, TalksToAServerSignedByItsCaFile) {
  TlsServer server(*pki_, "localhost", R"({"tenants":[]})");
  const Ran r = ctl({"--ca-file", pki_->ca().string(), "--url",
                     "https://localhost:" + std::to_string(server.port()), "tenant", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(server.received().size(), 1u);
  EXPECT_EQ(server.received()[0].authorization, "Bearer " + kKey);
}

TEST_F(CtlTlsTest, RefusesAnUnknownScheme) {
  RawListener listener;
  const Ran r =
      ctl({"--url", "ftp://127.0.0.1:" + std::to_string(listener.port()), "tenant", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("scheme 'ftp' is not supported, use https:// or http://"), std::string::npos)
      << r.err;
  EXPECT_EQ(listener.bytes(), "") << "nothing may be sent to a URL it does not understand";
}

TEST_F(CtlTlsTest, RefusesAMissingCaFile) {
  const Ran r = ctl({"--ca-file", (dir_ / "missing.pem").string(), "--url", "https://localhost:1",
                     "tenant", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot load CA file " + (dir_ / "missing.pem").string()), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace tollgate::testing
