// net::HttpClient against servers on loopback: a scripted HTTP/1.1 server whose every
// connection the test sees, and the TLS servers of support/tls.hpp. What is checked is what the
// plugins' http_request promises: the request as sent, kept-alive connections, the deadline, and
// which failures were "not sent" (retry) and which "outcome unknown".
#include "net/http_client.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <thread>

#include "net/client.hpp"
#include "support/scripted_server.hpp"
#include "support/tls.hpp"

namespace tollgate::testing {
namespace {

using Clock = std::chrono::steady_clock;
using net::HttpFailure;

std::string ok(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
         "\r\n" + body;
}

net::HttpRequest get(const std::string& url,
                     std::chrono::milliseconds within = std::chrono::seconds(10)) {
  return net::HttpRequest{
      .method = "GET", .url = url, .headers = {}, .body = {}, .deadline = Clock::now() + within};
}

// The failure send() threw, or fails the test.
net::HttpError failureOf(net::HttpClient& client, const net::HttpRequest& r) {
  try {
    client.send(r);
  } catch (const net::HttpError& e) {
    return e;
  }
  ADD_FAILURE() << r.method << " " << r.url << " did not fail";
  return net::HttpError(HttpFailure::kInvalid, "");
}

TEST(HttpClientTest, SendsTheRequestAsGivenAndReturnsAnyStatus) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{
        .bytes =
            "HTTP/1.1 402 Payment Required\r\nContent-Length: 9\r\nX-Reason: card\r\n\r\n"
            "declined!"};
  });
  net::HttpClient client;
  const net::HttpResponse r = client.send(
      net::HttpRequest{.method = "POST",
                       .url = server.url("/v1/payment_intents?expand[]=x"),
                       .headers = {{"Authorization", "Bearer sk_test"}, {"Idempotency-Key", "k1"}},
                       .body = "amount=500&currency=usd",
                       .deadline = Clock::now() + std::chrono::seconds(10)});
  EXPECT_EQ(r.status, 402);
  EXPECT_EQ(r.body, "declined!");
  EXPECT_NE(std::find(r.headers.begin(), r.headers.end(),
                      std::pair<std::string, std::string>{"X-Reason", "card"}),
            r.headers.end());
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string sent = server.requests()[0];
  EXPECT_EQ(sent.rfind("POST /v1/payment_intents?expand[]=x HTTP/1.1\r\n", 0), 0u) << sent;
  for (const char* line : {"Authorization: Bearer sk_test\r\n", "Idempotency-Key: k1\r\n",
                           "Content-Length: 23\r\n", "Host: 127.0.0.1:"}) {
    EXPECT_NE(sent.find(line), std::string::npos) << line << " in\n" << sent;
  }
  EXPECT_EQ(sent.substr(sent.size() - 23), "amount=500&currency=usd");
}

TEST(HttpClientTest, KeepsConnectionsAliveAndReusesThem) {
  ScriptedServer server(
      [](const std::string&) { return ScriptedServer::Reply{.bytes = ok("hi")}; });
  net::HttpClient client;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.send(get(server.url("/x"))).body, "hi");
  EXPECT_EQ(server.accepted(), 1u);
  EXPECT_EQ(client.idleConnections(), 1u);
}

TEST(HttpClientTest, AConnectionTheServerCloses_IsNotKept) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{.bytes = ok("bye", "Connection: close\r\n"), .close = true};
  });
  net::HttpClient client;
  EXPECT_EQ(client.send(get(server.url("/"))).body, "bye");
  EXPECT_EQ(client.send(get(server.url("/"))).body, "bye");
  EXPECT_EQ(server.accepted(), 2u);
  EXPECT_EQ(client.idleConnections(), 0u);
}

// The server answers with keep-alive, then closes the idle connection (as servers do after
// their keep-alive timeout). The next request goes out on the dead connection and gets nothing
// back: a replayable one is sent again on a new connection, a POST without an Idempotency-Key
// is reported as of unknown outcome, never sent twice.
TEST(HttpClientTest, AStaleKeptAliveConnection_IsRetriedOnlyForReplayableRequests) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{.bytes = ok("ok"), .close = true};  // says keep-alive, closes
  });
  net::HttpClient client;
  auto post = [&](net::Headers headers) {
    return net::HttpRequest{.method = "POST",
                            .url = server.url("/charge"),
                            .headers = std::move(headers),
                            .body = "a=1",
                            .deadline = Clock::now() + std::chrono::seconds(10)};
  };
  EXPECT_EQ(client.send(get(server.url("/1"))).body, "ok");
  ASSERT_TRUE(server.waitClosed(1));
  EXPECT_EQ(client.send(get(server.url("/2"))).body, "ok") << "GET: sent again";
  ASSERT_TRUE(server.waitClosed(2));
  EXPECT_EQ(client.send(post({{"Idempotency-Key", "k"}})).body, "ok") << "keyed POST: again";
  ASSERT_TRUE(server.waitClosed(3));
  const auto e = failureOf(client, post({}));
  EXPECT_EQ(e.failure(), HttpFailure::kOutcomeUnknown) << e.what();
  EXPECT_EQ(server.requests().size(), 3u) << "the unkeyed POST never reached a server";
  EXPECT_EQ(server.accepted(), 3u) << "one connection, then a new one for each replay";
}

TEST(HttpClientTest, TheDeadlineBoundsTheWholeExchange) {
  ScriptedServer server([](const std::string&) { return ScriptedServer::Reply{.hang = true}; });
  net::HttpClient client;
  const auto started = Clock::now();
  const auto e = failureOf(client, get(server.url("/slow"), std::chrono::milliseconds(300)));
  EXPECT_EQ(e.failure(), HttpFailure::kOutcomeUnknown) << e.what();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(250));
}

// A body dribbled out byte by byte cannot hold the caller past its deadline either.
TEST(HttpClientTest, ASlowBodyStopsAtTheDeadline) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{.bytes =
                                     "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial"};
  });
  net::HttpClient client;
  const auto started = Clock::now();
  const auto e = failureOf(client, get(server.url("/"), std::chrono::milliseconds(300)));
  EXPECT_EQ(e.failure(), HttpFailure::kOutcomeUnknown) << e.what();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
}

TEST(HttpClientTest, ALongerBodyThanAllowedIsAnError) {
  ScriptedServer server([](const std::string&) {
    return ScriptedServer::Reply{.bytes = ok(std::string(5000, 'x'))};
  });
  net::HttpClient client(net::HttpClient::Options{
      .max_idle_per_origin = 8, .max_response_bytes = 1000, .max_idle = std::chrono::seconds(30)});
  const auto e = failureOf(client, get(server.url("/")));
  EXPECT_EQ(e.failure(), HttpFailure::kOutcomeUnknown);
  EXPECT_NE(std::string(e.what()).find("over 1000 bytes"), std::string::npos) << e.what();
}

TEST(HttpClientTest, RefusesBadRequestsBeforeSendingAnything) {
  ScriptedServer server([](const std::string&) { return ScriptedServer::Reply{.bytes = ok("")}; });
  net::HttpClient client;
  auto with = [&](std::string method, std::string url, net::Headers headers) {
    return net::HttpRequest{.method = std::move(method),
                            .url = std::move(url),
                            .headers = std::move(headers),
                            .body = {},
                            .deadline = Clock::now() + std::chrono::seconds(10)};
  };
  const std::vector<std::pair<net::HttpRequest, std::string>> bad = {
      {with("TRACE", server.url("/"), {}), "method 'TRACE'"},
      {with("GET", "ftp://127.0.0.1/", {}), "url 'ftp://127.0.0.1/'"},
      {with("GET", "/relative", {}), "url '/relative'"},
      {with("GET", server.url("/"), {{"X-A", "1\r\nX-Injected: 2"}}), "header 'X-A'"},
      {with("GET", server.url("/"), {{"Bad Name", "1"}}), "header 'Bad Name'"},
      {with("GET", server.url("/"), {{"content-length", "5"}}), "set by the host"},
      {with("GET", server.url("/"), {{"Host", "evil"}}), "set by the host"},
  };
  for (const auto& [request, says] : bad) {
    const auto e = failureOf(client, request);
    EXPECT_EQ(e.failure(), HttpFailure::kInvalid) << says;
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.accepted(), 0u);
}

TEST(HttpClientTest, NothingListening_IsNotSent) {
  uint16_t port = 0;
  {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = s.address().port();
  }
  net::HttpClient client;
  const auto e = failureOf(client, get("http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(e.failure(), HttpFailure::kNotSent) << e.what();
  EXPECT_NE(std::string(e.what()).find("Connection refused"), std::string::npos) << e.what();
}

// HTTPS goes through the process's verifying context: the right host is served, a certificate
// for another host is refused before any byte of the request is sent, and says why.
TEST(HttpClientTest, HttpsVerifiesTheServerBeforeSending) {
  const fs::path dir = makeTempDir("tollgate-http-client-");
  {
    TestPki pki(dir / "pki");
    net::initTlsClient(pki.ca());
    TlsServer good(pki, "localhost");
    TlsServer evil(pki, "evil");
    net::HttpClient client;
    EXPECT_EQ(client.send(get("https://localhost:" + std::to_string(good.port()) + "/")).status,
              200);
    const auto e = failureOf(client, get("https://localhost:" + std::to_string(evil.port()) + "/"));
    EXPECT_EQ(e.failure(), HttpFailure::kNotSent);
    EXPECT_NE(std::string(e.what()).find("the certificate does not name this host"),
              std::string::npos)
        << e.what();
    EXPECT_TRUE(evil.received().empty());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::testing
