// The Call resource of Twilio's REST API 2010-04-01 as the simulator stores it (an inbound call
// it placed to a number's voice webhook, POST /sim/inbound-call), and its JSON in the shape of
// the OpenAPI schema api.v2010.account.call (twilio_api_v2010.json).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::twilio_sim {

struct Call {
  std::string sid;          // "CA" + 32 lowercase hex
  std::string account_sid;  // the account whose number was called
  std::string from;
  std::string to;
  std::string status;  // ringing, in-progress, then completed, busy, no-answer, failed, canceled
  int duration_s = 0;  // once final
  std::string status_callback;  // "" when none
  std::chrono::system_clock::time_point date_created;
  std::chrono::system_clock::time_point date_updated;
  std::optional<std::chrono::system_clock::time_point> start_time;  // once answered
  std::optional<std::chrono::system_clock::time_point> end_time;    // once final
};

// The final statuses a call can end in (Twilio's CallStatus values).
bool finalCallStatus(std::string_view status);

// What Twilio charges for an inbound call once it has ended: per started minute when it was
// completed, nothing otherwise; unknown (null) until `delay` after its end, as Twilio's price
// often is.
struct CallPriceRule {
  int64_t per_minute_micro_usd = 8500;
  std::chrono::milliseconds delay{0};
};

// The call as Twilio's API answers it (GET 200).
std::string callJson(const Call& c, const CallPriceRule& price = {});

}  // namespace tollgate::twilio_sim
