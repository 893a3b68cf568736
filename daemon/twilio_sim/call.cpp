#include "twilio_sim/call.hpp"

#include <fmt/format.h>

#include "twilio_sim/json_out.hpp"
#include "twilio_sim/message.hpp"

namespace tollgate::twilio_sim {

bool finalCallStatus(std::string_view status) {
  return status == "completed" || status == "busy" || status == "no-answer" || status == "failed" ||
         status == "canceled";
}

std::string callJson(const Call& c, const CallPriceRule& rule) {
  const std::string uri =
      fmt::format("/2010-04-01/Accounts/{}/Calls/{}.json", c.account_sid, c.sid);
  const std::string base = fmt::format("/2010-04-01/Accounts/{}/Calls/{}", c.account_sid, c.sid);
  std::optional<std::string> price;
  if (c.end_time && std::chrono::system_clock::now() >= *c.end_time + rule.delay) {
    const int64_t minutes = c.status == "completed" ? (c.duration_s + 59) / 60 : 0;
    price = twilioPrice(rule.per_minute_micro_usd * minutes);
  }
  const auto date = [](const std::optional<std::chrono::system_clock::time_point>& t) {
    return t ? std::optional(rfc2822(*t)) : std::nullopt;
  };
  // Members in the schema's order, which is the order of Twilio's own answers.
  return JsonObject()
      .string("sid", c.sid)
      .string("date_created", rfc2822(c.date_created))
      .string("date_updated", rfc2822(c.date_updated))
      .stringOrNull("parent_call_sid", std::nullopt)
      .string("account_sid", c.account_sid)
      .string("to", c.to)
      .string("to_formatted", c.to)
      .string("from", c.from)
      .string("from_formatted", c.from)
      .stringOrNull("phone_number_sid", std::nullopt)
      .string("status", c.status)
      .stringOrNull("start_time", date(c.start_time))
      .stringOrNull("end_time", date(c.end_time))
      .stringOrNull("duration",
                    c.end_time ? std::optional(std::to_string(c.duration_s)) : std::nullopt)
      .stringOrNull("price", price)
      .stringOrNull("price_unit", price ? std::optional<std::string_view>("USD") : std::nullopt)
      .string("direction", "inbound")
      .stringOrNull("answered_by", std::nullopt)
      .string("api_version", "2010-04-01")
      .stringOrNull("forwarded_from", std::nullopt)
      .stringOrNull("group_sid", std::nullopt)
      .stringOrNull("caller_name", std::nullopt)
      .stringOrNull("queue_time", "0")
      .stringOrNull("trunk_sid", std::nullopt)
      .string("uri", uri)
      .raw("subresource_uris", JsonObject()
                                   .string("notifications", base + "/Notifications.json")
                                   .string("recordings", base + "/Recordings.json")
                                   .string("events", base + "/Events.json")
                                   .str())
      .str();
}

}  // namespace tollgate::twilio_sim
