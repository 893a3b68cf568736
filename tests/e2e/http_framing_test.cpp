// HTTP framing on kept-alive connections, over a raw socket: whatever a request leaves unread
// must never be parsed as the next request (request smuggling, HTTP desync).
//
// Every exchange ends with a "GET /livez ... Connection: close" sentinel, and the test reads
// until the server closes the connection, so it never waits on silence: a connection the
// server kept open answers the sentinel (and then closes); one it closed answers nothing more.
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>

#include "support/fixture.hpp"

namespace tollgate::testing {
namespace {

const std::string kSmuggled = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kSentinel = "GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

// Sends `bytes` then the sentinel on one connection; returns everything received until the
// server closes it. The receive timeout only bounds a broken server.
std::string rawExchange(uint16_t port, const std::string& bytes) {
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.setReceiveTimeout(Poco::Timespan(60, 0));
  const std::string all = bytes + kSentinel;
  s.sendBytes(all.data(), static_cast<int>(all.size()));
  std::string got;
  char buf[4096];
  for (;;) {
    int n = 0;
    try {
      n = s.receiveBytes(buf, sizeof buf);
    } catch (const Poco::TimeoutException&) {
      ADD_FAILURE() << "the server neither answered nor closed within 60 s:\n" << got;
      break;
    } catch (const Poco::IOException&) {
      break;  // reset: the server closed with our unread bytes still queued
    }
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// The status lines received, in order.
std::vector<std::string> statusLines(const std::string& stream) {
  std::vector<std::string> out;
  static const std::regex line("HTTP/1\\.1 [0-9]{3} [^\\r]*");
  for (auto it = std::sregex_iterator(stream.begin(), stream.end(), line);
       it != std::sregex_iterator(); ++it) {
    out.push_back(it->str());
  }
  return out;
}

// Whether the answer says the connection closes ("Connection: close", in any case).
bool closes(const std::string& answer) {
  static const std::regex header("\r\nconnection: *close\r\n", std::regex::icase);
  return std::regex_search(answer, header);
}

std::string post(const std::string& target, const std::string& headers, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HttpFramingTest : public DaemonFixture {
 protected:
  void SetUp() override {
    DaemonFixture::SetUp();
    start();
    waitReady();
  }
};

TEST_F(HttpFramingTest, AnUnreadBodyIsDrainedNotAnsweredAsTheNextRequest) {
  struct Case {
    const char* what;
    std::string request;
    std::string status_line;
  };
  const std::vector<Case> cases = {
      {"404", post("/nothing", "", kSmuggled), "HTTP/1.1 404 Not Found"},
      {"401 (requireAdmin)", post("/admin/v1/tenants", "", kSmuggled), "HTTP/1.1 401 Unauthorized"},
      {"405",
       "PUT /livez HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kSmuggled.size()) +
           "\r\n\r\n" + kSmuggled,
       "HTTP/1.1 405 Method Not Allowed"},
      {"415", post("/twilio/sms", "Content-Type: text/plain\r\n", kSmuggled),
       "HTTP/1.1 415 Unsupported Media Type"},
      {"400 (bad query)", post("/admin/v1/tenants?a=%zz", "", kSmuggled),
       "HTTP/1.1 400 Bad Request"},
  };
  for (const auto& c : cases) {
    const std::string got = rawExchange(port_, c.request);
    // The body was drained: the answer, then the sentinel's, and never /metrics.
    EXPECT_EQ(statusLines(got), (std::vector<std::string>{c.status_line, "HTTP/1.1 200 OK"}))
        << c.what << ":\n"
        << got;
    EXPECT_EQ(got.find("tollgate_"), std::string::npos) << c.what << ": /metrics was answered";
  }
}

TEST_F(HttpFramingTest, A413ClosesTheConnectionWithoutReadingFurther) {
  // The declared body is over the limit; its first bytes are a request that must not run.
  const std::string head =
      "POST /admin/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n"
      "Authorization: Bearer " +
      adminKey() + "\r\nContent-Type: application/json\r\n\r\n";
  const std::string got = rawExchange(port_, head + kSmuggled);
  ASSERT_EQ(statusLines(got).size(), 1u) << got;
  EXPECT_EQ(statusLines(got)[0].substr(0, 12), "HTTP/1.1 413") << got;
  EXPECT_TRUE(closes(got)) << got;
}

// The front reads every body (up to the 1 MiB limit) before any handler runs, so a body an
// early answer did not need is read to its end: the connection stays usable and none of the
// body's bytes is parsed as a request.
TEST_F(HttpFramingTest, ABodyAnEarlyAnswerDidNotNeedIsReadToItsEndNeverParsed) {
  const std::string body = std::string(100 * 1024, 'a') + kSmuggled;
  const std::string got = rawExchange(port_, post("/nothing", "", body));
  EXPECT_EQ(statusLines(got),
            (std::vector<std::string>{"HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"}))
      << got.substr(0, 300);
  EXPECT_EQ(got.find("tollgate_"), std::string::npos) << "/metrics was answered";
}

TEST_F(HttpFramingTest, AChunkedBodyLeftUnreadIsDrained) {
  const std::string chunked =
      "POST /nothing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      fmt::format("{:x}\r\n", kSmuggled.size()) + kSmuggled + "\r\n0\r\n\r\n";
  const std::string got = rawExchange(port_, chunked);
  EXPECT_EQ(statusLines(got),
            (std::vector<std::string>{"HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"}))
      << got;
}

TEST_F(HttpFramingTest, APostWithoutLengthHasAnEmptyBodyAndTheNextBytesAreTheNextRequest) {
  // RFC 9112 6.3: no Content-Length and no Transfer-Encoding means no body. Poco alone would
  // read until the client closes, so this exchange would hang until the receive timeout.
  const std::string got = rawExchange(port_, "POST /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(statusLines(got),
            (std::vector<std::string>{"HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"}))
      << got;
}

TEST_F(HttpFramingTest, AmbiguousFramingIsRefusedAndTheConnectionClosed) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"Content-Length with chunked",
       "POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
           kSmuggled},
      {"two Content-Lengths",
       "POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " +
           std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled},
      {"a Transfer-Encoding Poco ignores",
       "POST /nothing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
       "Content-Length: 0\r\n\r\n" +
           kSmuggled},
      {"a signed Content-Length",
       "POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n" + kSmuggled},
  };
  for (const auto& [what, request] : cases) {
    const std::string got = rawExchange(port_, request);
    EXPECT_EQ(statusLines(got), std::vector<std::string>{"HTTP/1.1 400 Bad Request"})
        << what << ":\n"
        << got;
    EXPECT_TRUE(closes(got)) << what << ":\n" << got;
  }
}

TEST_F(HttpFramingTest, StatusLinesCarryTheirReasonPhrase) {
  const std::string got = rawExchange(port_, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << got;
}

}  // namespace
}  // namespace tollgate::testing
