// Test support for tollgate-twilio-sim: the built simulator run as a child process, HTTP calls
// that keep the response headers, and a callback receiver that records what the simulator posts.
#pragma once

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <condition_variable>
#include <functional>
#include <mutex>

#include "support/daemon.hpp"
#include "support/twilio_forms.hpp"
#include "twilio/form.hpp"

namespace tollgate::testing {

const fs::path kSimPath = TWILIO_SIM_PATH;
const fs::path kSourceDir = SOURCE_DIR;
const fs::path kSharedDir = SHARED_DIR;

const std::string kAccount = "AC0123456789abcdef0123456789abcdef";
const std::string kToken = "sim-test-token-0123456789";
const std::string kOtherAccount = "ACfedcba9876543210fedcba9876543210";
const std::string kOtherToken = "other-token";
const std::string kFrom = "+15017122661";
const std::string kTo = "+15558675310";

inline Poco::JSON::Object::Ptr json(const std::string& s) {
  return Poco::JSON::Parser().parse(s).extract<Poco::JSON::Object::Ptr>();
}

// Polls `done` every 10 ms until it holds or `timeout` passes; true if it held. Generous
// timeouts: two loaded cores.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline std::string basicAuth(const std::string& user, const std::string& password) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << user << ":" << password;
  encoder.close();
  return "Basic " + out.str();
}

struct Exchange {
  int status = 0;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // of the response
};

inline Exchange call(uint16_t port, const std::string& method, const std::string& path,
                     const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession s("127.0.0.1", port);
  s.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.setContentLength(static_cast<std::streamsize>(body.size()));
  s.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = s.receiveResponse(resp);
  Exchange e;
  e.status = resp.getStatus();
  e.content_type = resp.getContentType();
  for (const auto& [k, v] : resp) e.headers[k] = v;
  Poco::StreamCopier::copyToString(in, e.body);
  return e;
}

// The built simulator, started with one account (kAccount:kToken, plus kOtherAccount) and
// `flags`; its port read from --port-file.
class SimProcess {
 public:
  explicit SimProcess(const std::vector<std::string>& flags = {})
      : dir_(makeTempDir("twilio-sim-")) {
    std::vector<std::string> argv{kSimPath.string(),
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--port-file",
                                  (dir_ / "port").string(),
                                  "--account",
                                  kAccount + ":" + kToken,
                                  "--account",
                                  kOtherAccount + ":" + kOtherToken,
                                  "--log-level",
                                  "debug"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    child_ = std::make_unique<Child>(argv, dir_);
    // The file appears (renamed into place, whole) once the simulator listens.
    const bool listening =
        eventually([&] { return fs::exists(dir_ / "port") || !child_->running(); });
    if (!listening || !child_->running()) {
      ADD_FAILURE() << "tollgate-twilio-sim did not start:\n" << child_->err();
      return;
    }
    port_ = static_cast<uint16_t>(std::stoi(slurp(dir_ / "port")));
  }
  ~SimProcess() {
    child_->stopCleanly();
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
  }
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  uint16_t port() const { return port_; }
  std::string log() const { return child_->err(); }

  // POST .../Messages.json for kAccount (or `account` with `token`).
  Exchange send(const Params& form, const std::map<std::string, std::string>& extra_headers = {},
                const std::string& account = kAccount, const std::string& token = kToken) const {
    std::map<std::string, std::string> headers{
        {"Authorization", basicAuth(account, token)},
        {"Content-Type", "application/x-www-form-urlencoded"}};
    for (const auto& [k, v] : extra_headers) headers[k] = v;
    return call(port_, "POST", "/2010-04-01/Accounts/" + account + "/Messages.json",
                formEncode(form), headers);
  }
  Exchange fetch(const std::string& sid) const {
    return call(port_, "GET", "/2010-04-01/Accounts/" + kAccount + "/Messages/" + sid + ".json", "",
                {{"Authorization", basicAuth(kAccount, kToken)}});
  }
  Poco::JSON::Object::Ptr stats() const { return json(call(port_, "GET", "/sim/stats").body); }
  Poco::JSON::Array::Ptr messages() const {
    return json(call(port_, "GET", "/sim/messages").body)->getArray("messages");
  }

 private:
  fs::path dir_;
  std::unique_ptr<Child> child_;
  uint16_t port_ = 0;
};

// One request the receiver got.
struct Received {
  std::string path;  // with the query
  std::string signature;
  std::string idempotency_token;
  std::string content_type;
  std::string body;
  Params params;  // the body, form-decoded
};

// An HTTP server on 127.0.0.1 that records every request and answers `answer_status` (or, while
// `failures_left` > 0, 503) with `answer_body`.
class Receiver {
 public:
  Receiver()
      : state_(std::make_shared<State>()),
        server_(new Factory(state_),
                Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~Receiver() { server_.stopAll(true); }

  std::string url(const std::string& path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path_and_query;
  }
  void answer(int status, std::string body, std::string content_type = "text/plain") {
    std::lock_guard lock(state_->mu);
    state_->status = status;
    state_->body = std::move(body);
    state_->content_type = std::move(content_type);
  }
  void failFirst(int n) {
    std::lock_guard lock(state_->mu);
    state_->failures_left = n;
  }
  // Waits for at least `n` requests; returns them all (fewer on timeout).
  std::vector<Received> waitFor(size_t n,
                                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(state_->mu);
    state_->cv.wait_for(lock, timeout, [&] { return state_->got.size() >= n; });
    return state_->got;
  }
  std::vector<Received> received() {
    std::lock_guard lock(state_->mu);
    return state_->got;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Received> got;
    int status = 200;
    std::string body = "ok";
    std::string content_type = "text/plain";
    int failures_left = 0;
  };
  struct Handler : Poco::Net::HTTPRequestHandler {
    std::shared_ptr<State> s;
    explicit Handler(std::shared_ptr<State> st) : s(std::move(st)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& resp) override {
      Received r{.path = req.getURI(),
                 .signature = req.get("X-Twilio-Signature", ""),
                 .idempotency_token = req.get("I-Twilio-Idempotency-Token", ""),
                 .content_type = req.getContentType(),
                 .body = {},
                 .params = {}};
      Poco::StreamCopier::copyToString(req.stream(), r.body);
      r.params = twilio::parseForm(r.body);
      int status = 0;
      std::string body, type;
      {
        std::lock_guard lock(s->mu);
        s->got.push_back(std::move(r));
        status = s->failures_left > 0 ? 503 : s->status;
        if (s->failures_left > 0) --s->failures_left;
        body = s->body;
        type = s->content_type;
      }
      s->cv.notify_all();
      resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      resp.setContentType(type);
      resp.sendBuffer(body.data(), body.size());
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
  Poco::Net::HTTPServer server_;  // last: stopped before the state its handlers use goes
};

// The value of `name` in `params` ("" if absent).
inline std::string param(const Params& params, const std::string& name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace tollgate::testing
