// The Twilio simulator: Twilio's REST wire format for Messages (API 2010-04-01) on loopback,
// messages moving queued -> sent -> delivered (or failed/undelivered) on a timed queue, signed
// status callbacks, and /sim/ control endpoints for tests and the sandbox (docs/twilio-sim.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "twilio_sim/call.hpp"
#include "twilio_sim/callbacks.hpp"
#include "twilio_sim/message.hpp"
#include "twilio_sim/options.hpp"
#include "twilio_sim/timed_queue.hpp"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace tollgate::twilio_sim {

// One HTTP request, as the handlers need it.
struct Request {
  std::string method;
  std::string path;           // without the query
  std::string query;          // after '?', as sent; "" if none
  std::string authorization;  // the Authorization header, "" if none
  std::string content_type;
  std::string sim_request;  // the X-Sim-Request header, "" if none
  std::string body;
  bool from_loopback = false;
};

struct Reply {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers = {};
};

struct Stats {
  int64_t posts = 0;         // message POSTs received (authenticated)
  int64_t rate_limited = 0;  // of which answered 429
  int64_t answers_lost = 0;  // of which stored but answered 500 (--lost-answer-rate)
  int64_t messages = 0;      // messages stored
  int64_t calls = 0;         // inbound calls placed (POST /sim/inbound-call)
  int64_t callbacks_sent = 0;
  int64_t callbacks_failed = 0;  // dropped after the last retry
};

class Simulator {
 public:
  explicit Simulator(Options options);
  ~Simulator();  // stop()
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds and starts serving. Throws Poco::Exception if it cannot bind.
  void start();
  uint16_t port() const { return port_; }
  // Stops serving and drops the status steps and callbacks not yet run. Idempotent.
  void stop();

  // Answers one request; thread-safe. The HTTP server calls it; tests may too.
  Reply serve(const Request& request);

  Stats stats();

 private:
  // One status change: applied to the stored message, then called back.
  struct Step {
    Status status;
    std::optional<int> error_code;  // for failed and undelivered
  };
  struct Stored {
    Message message;
    std::string post_key;     // account, To, Body and X-Sim-Request: see posts_by_key_
    std::string sim_request;  // the X-Sim-Request header of the POST, "" if none
  };

  Reply route2010(const Request& request);
  Reply createMessage(const std::string& account, const Request& request);
  Reply fetchMessage(const std::string& account, const std::string& sid);
  PriceRule priceRule() const {
    return PriceRule{.per_segment_micro_usd = options_.price_micros,
                     .delay = std::chrono::milliseconds(options_.price_delay_ms)};
  }
  Reply listMessages(const std::string& account, const Request& request);
  Reply simMessages();
  Reply simInbound(const Request& request);
  Reply simInboundCall(const Request& request);
  Reply simCalls();
  Reply fetchCall(const std::string& account, const std::string& sid);
  CallPriceRule callPriceRule() const {
    return CallPriceRule{.per_minute_micro_usd = options_.call_price_micros,
                         .delay = std::chrono::milliseconds(options_.price_delay_ms)};
  }
  // Ends an answered call as `status` after `duration_s`, and posts its status callback.
  void endCall(const std::string& sid, const std::string& status, int duration_s);

  // The status steps of a new message, in the order they run (--out-of-order swaps the two).
  std::vector<Step> drawSteps();  // with mu_ held
  void scheduleStep(const std::string& sid, std::vector<Step> steps, size_t index);
  void runStep(const std::string& sid, const std::vector<Step>& steps, size_t index);
  std::string randomHex32();  // with mu_ held

  const Options options_;
  std::mutex mu_;        // guards what follows, up to queue_
  std::mt19937_64 rng_;  // drawn from only by message POSTs, so a seed replays a run
  std::map<std::string, Stored> messages_;       // by sid
  std::vector<std::string> order_;               // sids, oldest first
  std::map<std::string, int64_t> posts_by_key_;  // POSTs that created a message, per post key
  std::map<std::string, Call> calls_;            // by sid
  std::vector<std::string> call_order_;          // sids, oldest first
  int64_t posts_ = 0;
  int64_t rate_limited_ = 0;
  int64_t answers_lost_ = 0;

  TimedQueue queue_;  // before webhooks_, which posts on it
  WebhookSender webhooks_;
  std::unique_ptr<Poco::ThreadPool> server_threads_;  // outlives server_, joined after it stops
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  uint16_t port_ = 0;
};

}  // namespace tollgate::twilio_sim
