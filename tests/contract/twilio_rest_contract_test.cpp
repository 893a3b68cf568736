// The core's Twilio REST client against Prism serving Twilio's official API OpenAPI file
// (twilio_api_v2010.json; tests/prism/prism.sh, started by scripts/test.sh). Prism refuses what
// the file does not allow (a wrong path, a missing Authorization, a field of the wrong type, a
// form that is not a form) with 4xx, and answers with the file's examples, so a request Prism
// accepts is one Twilio's contract accepts, and the answer is read as Twilio writes it.
//
// One difference between Prism and Twilio, handled on Twilio's side: the file declares MediaUrl
// an array, which Prism reads as `MediaUrl[]=...`, while Twilio (and its own libraries: twilio
// npm's RequestClient uses qs arrayFormat "repeat") sends `MediaUrl=a&MediaUrl=b`. The client
// sends what Twilio wants; media sends are therefore checked against the simulator and in
// tests/unit/twilio_rest_test.cpp, not through Prism (which answers them 422).
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "net/http_client.hpp"
#include "twilio/rest_client.hpp"

namespace tollgate::testing {
namespace {

using twilio::RestError;

std::string prism() {
  const char* url = std::getenv("TOLLGATE_TEST_PRISM_TWILIO_API");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "TOLLGATE_TEST_PRISM_TWILIO_API is not set: start Prism with `source "
                  << "tests/prism/prism.sh; prism_start` (scripts/test.sh does)";
    return "http://127.0.0.1:9";
  }
  return url;
}

const twilio::Credentials kAccount{.account_sid = "AC0123456789abcdef0123456789abcdef",
                                   .auth_token = "contract-token"};

class TwilioRestContractTest : public ::testing::Test {
 protected:
  net::HttpClient http_;
  twilio::RestClient rest_{
      http_, twilio::RestClient::Options{
                 .api_base_url = prism(), .timeout = std::chrono::seconds(20), .max_attempts = 1}};
};

TEST_F(TwilioRestContractTest, ATextMessageIsASendTwiliosContractAccepts) {
  const twilio::MessageResource m = rest_.sendMessage(
      kAccount,
      twilio::SendRequest{.to = "+15558675310",
                          .from = "+15017122661",
                          .messaging_service_sid = {},
                          .body = "Hello from Tollgate: 100% ünïcode & spaces",
                          .media_urls = {},
                          .status_callback = "https://gw.example.com/twilio/sms/status?m=om_1"});
  EXPECT_TRUE(std::regex_match(m.sid, std::regex("(SM|MM)[0-9a-fA-F]{32}"))) << m.sid;
  EXPECT_FALSE(m.status.empty());
  EXPECT_FALSE(m.to.empty());
  EXPECT_GE(m.num_segments, 1);
  EXPECT_FALSE(m.date_created.empty());
}

TEST_F(TwilioRestContractTest, AMessagingServiceSendIsAcceptedToo) {
  const twilio::MessageResource m = rest_.sendMessage(
      kAccount, twilio::SendRequest{.to = "+15558675310",
                                    .from = {},
                                    .messaging_service_sid = "MG0123456789abcdef0123456789abcdef",
                                    .body = "hi",
                                    .media_urls = {},
                                    .status_callback = {}});
  EXPECT_FALSE(m.sid.empty());
}

TEST_F(TwilioRestContractTest, AMessageIsFetchedBackBySid) {
  const twilio::MessageResource m =
      rest_.fetchMessage(kAccount, "SM0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(std::regex_match(m.sid, std::regex("(SM|MM)[0-9a-fA-F]{32}"))) << m.sid;
  EXPECT_FALSE(m.status.empty());
  EXPECT_FALSE(m.account_sid.empty());
}

// A call's resource (what its price is reconciled with): the path as the contract names it,
// and its answer read.
TEST_F(TwilioRestContractTest, ACallIsFetchedBackBySid) {
  const twilio::CallResource c = rest_.fetchCall(kAccount, "CA0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(std::regex_match(c.sid, std::regex("CA[0-9a-fA-F]{32}"))) << c.sid;
  EXPECT_FALSE(c.status.empty());
  EXPECT_FALSE(c.account_sid.empty());
  EXPECT_FALSE(c.direction.empty());
}

// The list the outbox reconciles UNKNOWN messages with: To, From and PageSize as the contract
// names them ('+' encoded), and its answer read message by message.
TEST_F(TwilioRestContractTest, MessagesAreListedByRecipientAndSender) {
  const std::vector<twilio::MessageResource> list =
      rest_.listMessages(kAccount, "+14155550111", "+14155550100", 50);
  ASSERT_FALSE(list.empty());
  for (const auto& m : list) {
    EXPECT_TRUE(std::regex_match(m.sid, std::regex("(SM|MM)[0-9a-fA-F]{32}"))) << m.sid;
    EXPECT_FALSE(m.date_created.empty());
  }
}

// What Prism refuses is a request Twilio's contract refuses: reported as rejected, with its
// status, and not sent again.
TEST_F(TwilioRestContractTest, ARequestTheContractRefusesIsRejectedNotRetried) {
  const auto send = [&](const std::string& callback) {
    try {
      rest_.sendMessage(kAccount, twilio::SendRequest{.to = "+15558675310",
                                                      .from = "+15017122661",
                                                      .messaging_service_sid = {},
                                                      .body = "hi",
                                                      .media_urls = {},
                                                      .status_callback = callback});
    } catch (const RestError& e) {
      return e;
    }
    ADD_FAILURE() << "accepted a StatusCallback that is not a URI: " << callback;
    return RestError(RestError::Kind::kNotSent, {}, "");
  };
  const RestError e = send("not a uri");
  EXPECT_EQ(e.kind(), RestError::Kind::kRejected) << e.what();
  EXPECT_EQ(e.error().http_status, 422) << e.what();
}

}  // namespace
}  // namespace tollgate::testing
