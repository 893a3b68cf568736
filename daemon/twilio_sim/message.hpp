// The Message resource of Twilio's REST API 2010-04-01 as the simulator stores it, and its JSON
// in the shape of the OpenAPI schema api.v2010.account.message (twilio_api_v2010.json).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::twilio_sim {

// Twilio's message status values the simulator uses, in the order a message passes them.
enum class Status { kQueued = 1, kSent, kDelivered, kUndelivered, kFailed };

std::string_view statusName(Status s);
bool isFinal(Status s);

struct Message {
  std::string sid;          // "SM" + 32 lowercase hex
  std::string account_sid;  // the account that created it
  std::string to;
  std::string from;                   // "" when sent through a Messaging Service
  std::string messaging_service_sid;  // "" when not
  std::string body;
  std::vector<std::string> media_urls;
  std::string status_callback;  // "" when none
  int num_segments = 1;
  Status status = Status::kQueued;
  std::optional<int> error_code;  // set for failed and undelivered
  std::chrono::system_clock::time_point date_created;
  std::chrono::system_clock::time_point date_updated;
  std::optional<std::chrono::system_clock::time_point> date_sent;  // once sent
};

// Twilio's error body: {"code":..,"message":..,"more_info":..,"status":..}.
std::string errorJson(int code, std::string_view message, int http_status);

// What Twilio charges once a message is final: per segment when it reached a carrier, nothing
// when it failed; unknown (null) until `delay` after the final status, as Twilio's price often is.
struct PriceRule {
  int64_t per_segment_micro_usd = 7900;
  std::chrono::milliseconds delay{0};
};

// A charge as Twilio writes a price: negative, five decimals ("-0.00790"); "0.00000" for none.
std::string twilioPrice(int64_t micro_usd);

// The message as Twilio's API answers it (POST 201 and GET 200).
std::string messageJson(const Message& m, const PriceRule& price = {});

// RFC 2822 in GMT as Twilio writes dates: "Thu, 24 Aug 2023 05:01:45 +0000".
std::string rfc2822(std::chrono::system_clock::time_point t);

// SMS segments of `body`: GSM-7 (160 septets, 153 per part when split; the extension table's
// characters take two) when every character is in the GSM 03.38 alphabet, otherwise UCS-2 (70
// UTF-16 units, 67 per part). Invalid UTF-8 counts as UCS-2. An empty body is one segment (MMS).
int countSegments(std::string_view body);

// The description Twilio gives for the simulator's error codes, or "" for another code.
std::string_view errorMessage(int error_code);

}  // namespace tollgate::twilio_sim
