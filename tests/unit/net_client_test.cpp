// net::makeSession and the verifying TLS context, against HTTPS servers on loopback presenting
// certificates from a throwaway CA.
#include "net/client.hpp"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "support/tls.hpp"

namespace tollgate::testing {
namespace {

class NetClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = makeTempDir("tollgate-client-");
    pki_ = new TestPki(dir_ / "pki");
  }
  static void TearDownTestSuite() {
    delete pki_;
    fs::remove_all(dir_);
  }
  // GET / through makeSession; returns the status or throws what the session threw.
  static int get(const std::string& url, Poco::Net::Context::Ptr tls) {
    auto s = net::makeSession(Poco::URI(url), tls);
    s->setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest req("GET", "/", Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", "Bearer secret");
    s->sendRequest(req);
    Poco::Net::HTTPResponse resp;
    s->receiveResponse(resp).ignore(std::numeric_limits<std::streamsize>::max());
    return resp.getStatus();
  }
  static std::string url(const TlsServer& s, const std::string& host) {
    return "https://" + host + ":" + std::to_string(s.port()) + "/";
  }
  // describeError() of what get() threw, or "" if it did not throw.
  static std::string refusal(const std::string& u, Poco::Net::Context::Ptr tls) {
    try {
      get(u, tls);
    } catch (const Poco::Exception& e) {
      return net::describeError(e);
    }
    return "";
  }

  static inline fs::path dir_;
  static inline TestPki* pki_ = nullptr;
};

TEST_F(NetClientTest, AcceptsTheRightHostSignedByTheExtraCa) {
  TlsServer server(*pki_, "localhost");
  auto tls = net::makeTlsClientContext(pki_->ca());
  EXPECT_EQ(get(url(server, "localhost"), tls), 200);
  EXPECT_EQ(get(url(server, "127.0.0.1"), tls), 200);  // the IP address SAN
  ASSERT_EQ(server.received().size(), 2u);
}

TEST_F(NetClientTest, RefusesACertificateForAnotherHostAlsoOnLoopback) {
  TlsServer server(*pki_, "evil");
  auto tls = net::makeTlsClientContext(pki_->ca());
  for (const char* host : {"localhost", "127.0.0.1"}) {
    EXPECT_EQ(refusal(url(server, host), tls),
              std::string("Certificate validation error: Unacceptable certificate from ") + host +
                  ": application verification failure (the certificate does not name this host)");
  }
  EXPECT_TRUE(server.received().empty()) << "no request may follow a refused certificate";
}

TEST_F(NetClientTest, RefusesAnUnknownCaWithTheSystemStoreOnly) {
  TlsServer self_signed(*pki_, "selfsigned");
  TlsServer test_ca(*pki_, "localhost");
  auto tls = net::makeTlsClientContext();
  // Poco says only "certificate verify failed"; describeError() adds OpenSSL's reason.
  EXPECT_NE(refusal(url(self_signed, "localhost"), tls)
                .find("certificate verify failed: self-signed certificate (certificate "
                      "'CN=localhost', chain position 0)"),
            std::string::npos);
  EXPECT_NE(refusal(url(test_ca, "localhost"), tls)
                .find("certificate verify failed: unable to get local issuer certificate "
                      "(certificate 'CN=localhost', chain position 0)"),
            std::string::npos);
  EXPECT_TRUE(self_signed.received().empty());
  EXPECT_TRUE(test_ca.received().empty());
}

TEST_F(NetClientTest, ContextWantsTls12AndTheHostCheck) {
  auto tls = net::makeTlsClientContext();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(tls->sslContext()), TLS1_2_VERSION);
  EXPECT_EQ(tls->verificationMode(), Poco::Net::Context::VERIFY_STRICT);
  EXPECT_TRUE(tls->extendedCertificateVerificationEnabled());
  EXPECT_NE(
      dynamic_cast<Poco::Net::RejectCertificateHandler*>(tls->getInvalidCertificateHandler().get()),
      nullptr);
}

TEST_F(NetClientTest, ExtraCaFileThatCannotBeLoadedIsNamed) {
  std::ofstream(dir_ / "not-pem.txt") << "hello\n";
  for (const fs::path& f : {dir_ / "missing.pem", dir_ / "not-pem.txt"}) {
    try {
      net::makeTlsClientContext(f);
      ADD_FAILURE() << f << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot load CA file " + f.string()), std::string::npos)
          << e.what();
    }
  }
}

TEST_F(NetClientTest, MakeSessionPicksBySchemeAndRefusesOthers) {
  auto tls = net::makeTlsClientContext();
  auto plain = net::makeSession(Poco::URI("http://example.com:8080/x"), tls);
  EXPECT_EQ(dynamic_cast<Poco::Net::HTTPSClientSession*>(plain.get()), nullptr);
  EXPECT_EQ(plain->getHost(), "example.com");
  EXPECT_EQ(plain->getPort(), 8080);
  auto secure = net::makeSession(Poco::URI("https://example.com/x"), tls);
  auto* https = dynamic_cast<Poco::Net::HTTPSClientSession*>(secure.get());
  ASSERT_NE(https, nullptr);
  EXPECT_EQ(https->getPort(), 443);
  for (const char* bad : {"ftp://example.com/", "file:///etc/passwd", "/relative"}) {
    EXPECT_THROW(net::makeSession(Poco::URI(bad), tls), std::invalid_argument) << bad;
  }
  try {
    net::makeSession(Poco::URI("ftp://example.com/"), tls);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "'ftp://example.com/': scheme 'ftp' is not supported, use https:// or http://");
  }
}

// After initTlsClient(), Poco's own defaults are this context and a rejecting handler: a session
// built without a context checks the host name too and never prompts on the console.
TEST_F(NetClientTest, InitTlsClientReplacesPocosDefaults) {
  net::initTlsClient(pki_->ca());
  auto& ssl = Poco::Net::SSLManager::instance();
  EXPECT_EQ(ssl.defaultClientContext().get(), net::tlsClientContext().get());
  EXPECT_NE(
      dynamic_cast<Poco::Net::RejectCertificateHandler*>(ssl.clientCertificateHandler().get()),
      nullptr);
  TlsServer evil(*pki_, "evil");
  Poco::Net::HTTPSClientSession s("localhost", evil.port());
  Poco::Net::HTTPRequest req("GET", "/", Poco::Net::HTTPMessage::HTTP_1_1);
  EXPECT_THROW(s.sendRequest(req), Poco::Net::CertificateValidationException);
  EXPECT_TRUE(evil.received().empty());
  TlsServer good(*pki_, "localhost");
  EXPECT_EQ(get(url(good, "localhost"), nullptr), 200) << "makeSession's default context";
}

}  // namespace
}  // namespace tollgate::testing
