// Twilio's REST API (2010-04-01), as the core calls it: sending a message and fetching it back.
// On net::HttpClient (kept-alive connections, the verifying TLS context, a deadline per call).
//
// Sending is not idempotent at Twilio (error 20500): a POST retried after a timeout can text the
// customer twice. So a send is retried only where Twilio cannot have acted on it: a 429 (code
// 20429, after its Retry-After) and a request that never reached Twilio (connect, TLS). A send
// that reached Twilio without an answer is RestError kOutcomeUnknown, for the caller to
// reconcile by looking the message up, never to POST again. Reads are retried on any failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.hpp"

namespace tollgate::twilio {

// Basic auth, and the account whose resources the URL names: the tenant's subaccount, or the
// master account.
struct Credentials {
  std::string account_sid;
  std::string auth_token;
};

// Twilio's error body ({"code", "message", "more_info", "status"}), or what stood for it.
struct ApiError {
  int http_status = 0;  // 0: no response
  int code = 0;         // Twilio's error code (21211, 20429...); 0 when the body had none
  std::string message;
  std::string more_info;
};

class RestError : public std::runtime_error {
 public:
  enum class Kind {
    kRejected,        // Twilio answered with an error: nothing was done
    kNotSent,         // nothing reached Twilio (or the request was invalid): nothing was done
    kOutcomeUnknown,  // sent, no whole answer: it may have been done
  };
  RestError(Kind kind, ApiError error, const std::string& what)
      : std::runtime_error(what), kind_(kind), error_(std::move(error)) {}
  Kind kind() const noexcept { return kind_; }
  const ApiError& error() const noexcept { return error_; }

 private:
  Kind kind_;
  ApiError error_;
};

struct SendRequest {
  std::string to;
  std::string from;  // a number of the account, or empty with messaging_service_sid
  std::string messaging_service_sid;
  std::string body;
  std::vector<std::string> media_urls;  // sent as repeated MediaUrl, as Twilio wants
  std::string status_callback;          // carries our message id, so callbacks find it
};

// A Message resource as Twilio answers it (the fields the core uses).
struct MessageResource {
  std::string sid;
  std::string account_sid;
  std::string status;  // queued, sending, sent, delivered, undelivered, failed, ...
  std::string to;
  std::string from;
  std::string body;
  int num_segments = 0;
  int num_media = 0;
  std::optional<int> error_code;
  std::string error_message;
  std::string price;  // Twilio's decimal string ("-0.00750"), empty until it is known
  std::string price_unit;
  std::string date_created;  // RFC 2822, as Twilio writes it
};

// A Call resource as Twilio answers it (the fields the core uses).
struct CallResource {
  std::string sid;
  std::string account_sid;
  std::string status;  // queued, ringing, in-progress, completed, busy, failed, no-answer, ...
  std::string direction;
  std::string to;
  std::string from;
  int duration_s = 0;  // Twilio's `duration` (a string of seconds), 0 while unknown
  std::string price;   // Twilio's decimal string ("-0.01700"), empty until it is known
  std::string price_unit;
};

class RestClient {
 public:
  struct Options {
    std::string api_base_url = "https://api.twilio.com";  // the simulator's or Prism's in tests
    std::chrono::milliseconds timeout{10'000};            // of one call, its retries included
    int max_attempts = 4;                                 // of one call
    std::chrono::milliseconds first_backoff{250};         // doubled per retry, with jitter
    std::chrono::milliseconds max_backoff{8'000};         // and a Retry-After above it is capped
  };
  RestClient(net::HttpClient& http, Options options);

  // POST /2010-04-01/Accounts/{sid}/Messages.json. Throws RestError.
  MessageResource sendMessage(const Credentials& account, const SendRequest& request);
  // GET /2010-04-01/Accounts/{sid}/Messages/{message_sid}.json. Throws RestError (kRejected
  // with status 404, code 20404, for an unknown message).
  MessageResource fetchMessage(const Credentials& account, std::string_view message_sid);

  // GET /2010-04-01/Accounts/{sid}/Calls/{call_sid}.json. Throws RestError (kRejected with
  // status 404, code 20404, for an unknown call).
  CallResource fetchCall(const Credentials& account, std::string_view call_sid);

  // GET /2010-04-01/Accounts/{sid}/Messages.json: the first page (newest first) of the
  // account's messages from `from` to `to`, at most page_size (1..1000). Throws RestError.
  std::vector<MessageResource> listMessages(const Credentials& account, std::string_view to,
                                            std::string_view from, int page_size);

  // Tests: waits instead of sleeping (the client sleeps between retries by default).
  void setSleep(std::function<void(std::chrono::milliseconds)> sleep) { sleep_ = std::move(sleep); }

  // Reads Twilio's error body; a body that is not one keeps the status and says what it was.
  static ApiError parseError(int http_status, std::string_view body);
  static MessageResource parseMessage(std::string_view body);
  static CallResource parseCall(std::string_view body);

 private:
  // One call with the retries the method allows; throws RestError.
  net::HttpResponse call(const Credentials& account, const std::string& method,
                         const std::string& path, const std::string& form_body);

  net::HttpClient& http_;
  Options options_;
  std::function<void(std::chrono::milliseconds)> sleep_;
};

}  // namespace tollgate::twilio
