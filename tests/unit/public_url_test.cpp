// The URL a webhook's signature is checked against (twilio/public_url.hpp).
#include "twilio/public_url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tollgate::twilio {
namespace {

const std::vector<std::string> kProxies = {"10.0.0.1", "::1"};

UrlSource behindProxy() {
  return UrlSource{.target = "/twilio/sms?x=1",
                   .host = "internal:8080",
                   .peer = "10.0.0.1",
                   .forwarded_proto = "https",
                   .forwarded_host = "gw.example.com"};
}

TEST(PublicUrlTest, TrustedProxyGivesSchemeAndHost) {
  UrlSource s = behindProxy();
  EXPECT_EQ(publicUrl(s, kProxies, "https://base.example"),
            "https://gw.example.com/twilio/sms?x=1");
  EXPECT_EQ(publicUrl(s, kProxies, ""), "https://gw.example.com/twilio/sms?x=1");
  s.forwarded_proto = "http";
  s.peer = "::1";
  EXPECT_EQ(publicUrl(s, kProxies, ""), "http://gw.example.com/twilio/sms?x=1");
}

TEST(PublicUrlTest, ForwardedHeadersFromAnyOtherPeerAreIgnored) {
  UrlSource s = behindProxy();
  s.peer = "192.0.2.7";
  EXPECT_EQ(publicUrl(s, kProxies, "https://base.example"), "https://base.example/twilio/sms?x=1");
  EXPECT_EQ(publicUrl(s, kProxies, ""), "http://internal:8080/twilio/sms?x=1");
  EXPECT_EQ(publicUrl(s, {}, ""), "http://internal:8080/twilio/sms?x=1");
}

TEST(PublicUrlTest, OnlyHttpAndHttpsAreForwardedProtocols) {
  UrlSource s = behindProxy();
  for (const char* proto : {"javascript", "HTTPS", "https ", "ftp", "https://evil/", ""}) {
    s.forwarded_proto = proto;
    EXPECT_EQ(publicUrl(s, kProxies, "https://base.example"), "https://base.example/twilio/sms?x=1")
        << proto;
    EXPECT_EQ(publicUrl(s, kProxies, ""), "http://internal:8080/twilio/sms?x=1") << proto;
  }
}

TEST(PublicUrlTest, BothForwardedHeadersAreNeeded) {
  UrlSource s = behindProxy();
  s.forwarded_host = "";
  EXPECT_EQ(publicUrl(s, kProxies, "https://base.example"), "https://base.example/twilio/sms?x=1");
}

TEST(PublicUrlTest, TargetIsKeptByteForByte) {
  UrlSource s = behindProxy();
  s.peer = "192.0.2.7";
  s.target = "/twilio/sms?Body=a+b%2Bc&x=%E2%9C%93#frag";
  EXPECT_EQ(publicUrl(s, kProxies, "https://base.example:8443"),
            "https://base.example:8443/twilio/sms?Body=a+b%2Bc&x=%E2%9C%93#frag");
}

}  // namespace
}  // namespace tollgate::twilio
