// Webhooks the simulator posts as Twilio does: form-encoded, signed with the account's auth token
// (X-Twilio-Signature, twilio/signature.hpp), retried with backoff on the timed queue when the
// receiver is down or answers other than 2xx, then dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "net/http_client.hpp"
#include "twilio/signature.hpp"
#include "twilio_sim/timed_queue.hpp"

namespace tollgate::twilio_sim {

struct Webhook {
  std::string url;         // exactly as the client gave it; the signature covers it byte for byte
  twilio::Params params;   // posted in this order
  std::string auth_token;  // of the account; signs the request
  std::string idempotency_token;  // I-Twilio-Idempotency-Token, the same on every attempt
};

struct WebhookReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class WebhookSender {
 public:
  struct Retry {
    int attempts = 4;                        // in all, the first one included
    std::chrono::milliseconds backoff{200};  // before the 2nd attempt; doubles after each
  };
  WebhookSender(TimedQueue& queue, Retry retry) : queue_(queue), retry_(retry) {}

  // One attempt, now, in this thread. Throws net::HttpError if no response came back.
  WebhookReply postOnce(const Webhook& hook);

  // Posts on the queue's threads, retrying; then calls `done(delivered)` on one of them.
  void post(Webhook hook, std::function<void(bool delivered)> done);

  int64_t sent() const { return sent_; }      // answered 2xx
  int64_t failed() const { return failed_; }  // dropped after the last attempt

 private:
  void attempt(std::shared_ptr<const Webhook> hook, int number, std::function<void(bool)> done);

  TimedQueue& queue_;
  Retry retry_;
  net::HttpClient client_;
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace tollgate::twilio_sim
