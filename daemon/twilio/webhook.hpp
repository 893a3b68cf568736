// What every Twilio webhook goes through before a handler acts on it:
//   1. the form body and the public URL Twilio called (X-Forwarded-* only from trusted proxies);
//   2. routing: the number the webhook is about -> its tenant (unknown: a documented answer);
//   3. the signature, with the auth token of the account that owns that number (403 if bad:
//      nothing persisted, counted, logged without secrets);
//   4. dedupe: a retried webhook (same key) gets the stored answer back and has no effect again;
//   5. one unit of work: the claim, what the handler writes and the answer, in one commit.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "http/router.hpp"
#include "numbers/routes.hpp"
#include "ops/untrusted.hpp"
#include "storage/store.hpp"
#include "storage/unit.hpp"
#include "twilio/accounts.hpp"
#include "twilio/signature.hpp"

namespace tollgate::twilio {

struct WebhookCounters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> bad_signature{0};
  std::atomic<uint64_t> unknown_number{0};
  std::atomic<uint64_t> suspended{0};
  std::atomic<uint64_t> replayed{0};
  std::atomic<uint64_t> plugin_fallbacks{0};
  std::atomic<uint64_t> replies_suppressed{0};    // a reply withheld because the sender opted out
  std::atomic<uint64_t> log_lines_suppressed{0};  // warnings dropped by the rate limit
};

struct Webhook {
  std::string url;  // as Twilio called it (signed)
  Params params;    // every form parameter, repeats kept

  // The first value of a form parameter, or "" if absent.
  const std::string& get(std::string_view name) const;
  bool has(std::string_view name) const;
};

// A webhook that passed routing and its signature. The handler adds what it writes to `unit`
// and returns its answer; WebhookGate::serve then applies the unit, with the dedupe claim first
// and the answer last, in one durable commit, before the answer is sent (docs/adr/0006).
// Nothing a handler does before that commit may have an effect outside the process: what must
// happen only once it is stored (a forward, a usage event) goes in afterCommit.
struct Admitted {
  Webhook hook;
  std::shared_ptr<const numbers::Route> route;
  std::string scope;
  std::string key;
  int64_t claimed_at_ms = 0;  // the time of this request's claim, as stored
  bool taken_over = false;    // the claim was an abandoned one, taken over: no claim in `unit`
  storage::Unit unit{""};
  // Set by a handler whose answer replies to a sender: if that phone is opted out when the unit
  // commits, `no_reply` is stored and sent instead. The registry decides inside the unit, so a
  // STOP stored before it always wins, whichever daemon took it.
  std::string reply_to;
  http::Response no_reply;
  // Run in order after the unit committed (not for a repeat, which is answered from storage).
  std::vector<std::function<void(const storage::UnitResult&)>> afterCommit;
};
// What one kind of webhook is: where its number is, how a repeat is recognised, what a number
// nobody owns gets.
struct WebhookSpec {
  // The form parameter holding the gateway's number: To for inbound, From for outbound status
  // callbacks.
  std::string_view number_param;
  std::string scope;  // the dedupe namespace, e.g. "sms"
  // Builds the dedupe key from signed parameters only.
  std::function<std::string(const Webhook&)> dedupe_key;
  http::Response unknown;  // the documented answer for a number nobody owns
};

using WebhookHandler = std::function<http::Response(Admitted&)>;

class WebhookGate {
 public:
  WebhookGate(const config::Config& config, numbers::Routes& routes, Accounts& accounts,
              storage::Store& store)
      : config_(config), routes_(routes), accounts_(accounts), store_(store) {}

  // The bracket around every webhook handler: admits the request (routing and signature; a
  // refused one gets its answer here), runs `handler`, and applies its unit with the claim and
  // the answer in one commit. A repeat (the claim finds its key) gets the answer stored for the
  // first delivery instead, and nothing it did is kept. If the handler throws, nothing was
  // written, so Twilio's retry is processed afresh.
  http::Response serve(http::Request& r, const WebhookSpec& spec, const WebhookHandler& handler);

  WebhookCounters& counters() { return counters_; }

 private:
  std::variant<http::Response, Admitted> admit(http::Request& r, const WebhookSpec& spec);
  // For a repeat whose first delivery holds the key: the answer stored for it, once there is
  // one; or nullopt when that delivery was abandoned and this one took its claim over (`a` then
  // runs again, without a claim).
  std::optional<http::Response> awaitFirst(http::Request& r, Admitted& a,
                                           storage::IdempotencyRecord existing);
  // Marks a's claim abandoned (best effort, never throws).
  void release(const Admitted& a, std::string_view request_id) noexcept;
  Webhook read(http::Request& r) const;
  std::string publicUrl(http::Request& r) const;
  // A warning any stranger can cause (unknown number, bad signature): rate limited, so a
  // flood of forged webhooks cannot flood the log.
  void warnUnauthenticated(const std::string& line);

  const config::Config& config_;
  numbers::Routes& routes_;
  Accounts& accounts_;
  storage::Store& store_;
  WebhookCounters counters_;
  ops::LogLimiter unauthenticated_log_{/*per_second=*/1.0, /*burst=*/20.0};
};

http::Response twimlResponse(std::string twiml);

}  // namespace tollgate::twilio
