// The Twilio REST client's retry policy and error mapping against a scripted server on loopback
// (what Twilio answers is in Twilio's wire format; that the requests are what Twilio's API
// accepts is the contract test's job, tests/contract/twilio_rest_contract_test.cpp). What
// matters most: a send is POSTed again only where Twilio cannot have acted on it.
#include "twilio/rest_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "support/scripted_server.hpp"
#include "twilio/form.hpp"

namespace tollgate::testing {
namespace {

using twilio::RestError;

const twilio::Credentials kAccount{.account_sid = "AC0123456789abcdef0123456789abcdef",
                                   .auth_token = "token"};
constexpr const char* kSid = "SM0123456789abcdef0123456789abcdef";

std::string reply(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

std::string message(const std::string& status) {
  return std::string(R"({"sid":")") + kSid +
         R"(","account_sid":"AC0123456789abcdef0123456789abcdef","status":")" + status +
         R"(","to":"+15558675310","from":"+15017122661","body":"hi","num_segments":"1",)"
         R"("num_media":"0","error_code":null,"error_message":null,"price":"-0.00750",)"
         R"("price_unit":"USD","date_created":"Thu, 24 Aug 2023 05:01:45 +0000"})";
}

std::string twilioError(int status, int code, const std::string& text) {
  return R"({"code":)" + std::to_string(code) + R"(,"message":")" + text +
         R"(","more_info":"https://www.twilio.com/docs/errors/)" + std::to_string(code) +
         R"(","status":)" + std::to_string(status) + "}";
}

struct Client {
  explicit Client(uint16_t port, int attempts = 4)
      : rest(http, twilio::RestClient::Options{
                       .api_base_url = "http://127.0.0.1:" + std::to_string(port) + "/",
                       .timeout = std::chrono::seconds(30),
                       .max_attempts = attempts,
                       .first_backoff = std::chrono::milliseconds(100),
                       .max_backoff = std::chrono::milliseconds(2000)}) {
    rest.setSleep([this](std::chrono::milliseconds d) {
      std::lock_guard lock(mu);
      sleeps.push_back(d);
    });
  }
  net::HttpClient http;
  twilio::RestClient rest;
  std::mutex mu;
  std::vector<std::chrono::milliseconds> sleeps;
};

twilio::SendRequest text() {
  return twilio::SendRequest{.to = "+15558675310",
                             .from = "+15017122661",
                             .messaging_service_sid = {},
                             .body = "Hello world & more: é",
                             .media_urls = {"https://example.com/a.png", "https://example.com/b"},
                             .status_callback = "https://gw.example/twilio/status?m=om_1"};
}

RestError failureOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const RestError& e) {
    return e;
  }
  ADD_FAILURE() << "no RestError";
  return RestError(RestError::Kind::kRejected, {}, "");
}

size_t posts(ScriptedServer& s) {
  size_t n = 0;
  for (const std::string& r : s.requests()) n += r.rfind("POST ", 0) == 0 ? 1 : 0;
  return n;
}

TEST(TwilioRestTest, SendsTheFormTwilioWantsWithBasicAuth) {
  ScriptedServer server(
      [](const std::string&) { return ScriptedServer::Reply{reply(201, message("queued"))}; });
  Client c(server.port());
  const twilio::MessageResource m = c.rest.sendMessage(kAccount, text());
  EXPECT_EQ(m.sid, kSid);
  EXPECT_EQ(m.status, "queued");
  EXPECT_EQ(m.num_segments, 1);
  EXPECT_EQ(m.price, "-0.00750");
  EXPECT_FALSE(m.error_code.has_value());
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string req = server.requests().front();
  EXPECT_EQ(req.rfind("POST /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json "
                      "HTTP/1.1",
                      0),
            0u)
      << req;
  // Basic base64("AC...:token").
  EXPECT_NE(req.find("Authorization: Basic "
                     "QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2tlbg=="),
            std::string::npos)
      << req;
  EXPECT_NE(req.find("Content-Type: application/x-www-form-urlencoded"), std::string::npos);
  const std::string body = req.substr(req.find("\r\n\r\n") + 4);
  // Repeated MediaUrl, as Twilio's own library sends it (qs arrayFormat "repeat"); spaces as '+'.
  EXPECT_EQ(body,
            "To=%2B15558675310&From=%2B15017122661&Body=Hello+world+%26+more%3A+%C3%A9&"
            "MediaUrl=https%3A%2F%2Fexample.com%2Fa.png&MediaUrl=https%3A%2F%2Fexample.com%2Fb&"
            "StatusCallback=https%3A%2F%2Fgw.example%2Ftwilio%2Fstatus%3Fm%3Dom_1");
  const twilio::Params back = twilio::parseForm(body);
  ASSERT_EQ(back.size(), 6u);
  EXPECT_EQ(back[2].second, "Hello world & more: é");
}

TEST(TwilioRestTest, A429IsRetriedAfterItsRetryAfterAndSentOnceAccepted) {
  std::atomic<int> n{0};
  ScriptedServer server([&](const std::string&) {
    if (n.fetch_add(1) < 2) {
      return ScriptedServer::Reply{
          reply(429, twilioError(429, 20429, "Too Many Requests"), "Retry-After: 1\r\n")};
    }
    return ScriptedServer::Reply{reply(201, message("queued"))};
  });
  Client c(server.port());
  EXPECT_EQ(c.rest.sendMessage(kAccount, text()).sid, kSid);
  EXPECT_EQ(posts(server), 3u);
  EXPECT_EQ(c.sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::seconds(1),
                                                              std::chrono::seconds(1)}));
}

TEST(TwilioRestTest, TooMany429sGiveUpAsRejectedWithTwiliosCode) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{reply(429, twilioError(429, 20429, "Too Many Requests"))};
  });
  Client c(server.port(), 3);
  const RestError e = failureOf([&] { c.rest.sendMessage(kAccount, text()); });
  EXPECT_EQ(e.kind(), RestError::Kind::kRejected);
  EXPECT_EQ(e.error().code, 20429);
  EXPECT_EQ(posts(server), 3u);
  ASSERT_EQ(c.sleeps.size(), 2u);
  for (const auto d : c.sleeps) EXPECT_LE(d, std::chrono::milliseconds(2000)) << "capped";
}

TEST(TwilioRestTest, AnErrorIsMappedFromTwiliosBodyAndNotRetried) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{
        reply(400, twilioError(400, 21211, "The 'To' number +1555 is not a valid phone number."))};
  });
  Client c(server.port());
  const RestError e = failureOf([&] { c.rest.sendMessage(kAccount, text()); });
  EXPECT_EQ(e.kind(), RestError::Kind::kRejected);
  EXPECT_EQ(e.error().http_status, 400);
  EXPECT_EQ(e.error().code, 21211);
  EXPECT_EQ(e.error().message, "The 'To' number +1555 is not a valid phone number.");
  EXPECT_EQ(e.error().more_info, "https://www.twilio.com/docs/errors/21211");
  EXPECT_EQ(posts(server), 1u);
  EXPECT_TRUE(c.sleeps.empty());
}

// Sent, and no answer: Twilio may have texted the customer. Reported as such, never re-POSTed.
TEST(TwilioRestTest, ASendWithoutAnAnswerIsOfUnknownOutcomeAndPostedOnce) {
  ScriptedServer server(
      [](const std::string&) { return ScriptedServer::Reply{.bytes = "", .close = true}; });
  Client c(server.port());
  const RestError e = failureOf([&] { c.rest.sendMessage(kAccount, text()); });
  EXPECT_EQ(e.kind(), RestError::Kind::kOutcomeUnknown) << e.what();
  EXPECT_EQ(posts(server), 1u);
  // A server error after the request arrived is no better known.
  ScriptedServer failing([](const std::string&) {
    return ScriptedServer::Reply{reply(500, twilioError(500, 20500, "Internal Server Error"))};
  });
  Client c2(failing.port());
  EXPECT_EQ(failureOf([&] { c2.rest.sendMessage(kAccount, text()); }).kind(),
            RestError::Kind::kOutcomeUnknown);
  EXPECT_EQ(posts(failing), 1u);
}

// A read may be repeated: a GET without an answer, or a 5xx, is asked again.
TEST(TwilioRestTest, AFetchIsRetriedOnAnyFailure) {
  std::atomic<int> n{0};
  ScriptedServer server([&](const std::string&) {
    const int i = n.fetch_add(1);
    if (i == 0) return ScriptedServer::Reply{.bytes = "", .close = true};
    if (i == 1) return ScriptedServer::Reply{reply(503, "unavailable")};
    return ScriptedServer::Reply{reply(200, message("delivered"))};
  });
  Client c(server.port());
  const twilio::MessageResource m = c.rest.fetchMessage(kAccount, kSid);
  EXPECT_EQ(m.status, "delivered");
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(c.sleeps.size(), 2u);
  EXPECT_EQ(server.requests().front().rfind("GET /2010-04-01/Accounts/"
                                            "AC0123456789abcdef0123456789abcdef/Messages/" +
                                                std::string(kSid) + ".json HTTP/1.1",
                                            0),
            0u);
}

// A Call as Twilio answers it: duration and price are strings, null until the call has ended.
TEST(TwilioRestTest, ACallIsFetchedAndReadAsTwilioWritesIt) {
  ScriptedServer server([&](const std::string&) {
    return ScriptedServer::Reply{reply(
        200, R"({"sid": "CA0123456789abcdef0123456789abcdef", "account_sid": ")" +
                 std::string(kAccount.account_sid) +
                 R"(", "status": "completed", "direction": "inbound", "to": "+14155550100",
                    "from": "+14155550111", "duration": "75", "price": "-0.01700",
                    "price_unit": "USD"})")};
  });
  Client c(server.port());
  const twilio::CallResource call = c.rest.fetchCall(kAccount, "CA0123456789abcdef0123456789abcdef");
  EXPECT_EQ(call.status, "completed");
  EXPECT_EQ(call.direction, "inbound");
  EXPECT_EQ(call.duration_s, 75);
  EXPECT_EQ(call.price, "-0.01700");
  EXPECT_EQ(call.price_unit, "USD");
  EXPECT_EQ(server.requests().front().rfind("GET /2010-04-01/Accounts/"
                                            "AC0123456789abcdef0123456789abcdef/Calls/"
                                            "CA0123456789abcdef0123456789abcdef.json HTTP/1.1",
                                            0),
            0u);
  const twilio::CallResource ringing = twilio::RestClient::parseCall(
      R"({"sid": "CA0123456789abcdef0123456789abcdef", "status": "ringing", "duration": null,
          "price": null, "price_unit": null})");
  EXPECT_EQ(ringing.duration_s, 0);
  EXPECT_EQ(ringing.price, "");
  EXPECT_EQ(failureOf([&] { c.rest.fetchCall(kAccount, "SM0123456789abcdef0123456789abcdef"); })
                .kind(),
            RestError::Kind::kNotSent);
}

TEST(TwilioRestTest, NothingListeningIsNotSentAndRetriedUntilItGivesUp) {
  uint16_t port = 0;
  {
    ScriptedServer gone([](const std::string&) { return ScriptedServer::Reply{}; });
    port = gone.port();
  }
  Client c(port, 3);
  const RestError e = failureOf([&] { c.rest.sendMessage(kAccount, text()); });
  EXPECT_EQ(e.kind(), RestError::Kind::kNotSent) << e.what();
  EXPECT_EQ(c.sleeps.size(), 2u);
}

TEST(TwilioRestTest, SidsThatCannotBeInAPathAreRefusedBeforeSending) {
  ScriptedServer server([](const std::string&) { return ScriptedServer::Reply{reply(200, "{}")}; });
  Client c(server.port());
  const twilio::Credentials bad{.account_sid = "AC../../Accounts", .auth_token = "t"};
  EXPECT_EQ(failureOf([&] { c.rest.sendMessage(bad, text()); }).kind(), RestError::Kind::kNotSent);
  EXPECT_EQ(failureOf([&] { c.rest.fetchMessage(kAccount, "SM123/../x"); }).kind(),
            RestError::Kind::kNotSent);
  EXPECT_TRUE(server.requests().empty());
}

TEST(TwilioRestTest, ABodyThatIsNotTwiliosErrorKeepsTheStatus) {
  const twilio::ApiError e = twilio::RestClient::parseError(502, "<html>Bad gateway</html>");
  EXPECT_EQ(e.http_status, 502);
  EXPECT_EQ(e.code, 0);
  EXPECT_NE(e.message.find("502"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::testing
