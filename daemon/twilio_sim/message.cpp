#include "twilio_sim/message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "twilio_sim/json_out.hpp"

namespace tollgate::twilio_sim {
namespace {

// What Twilio charges per SMS segment in the US (the Pricing API's example figure).

// GSM 03.38: the characters of the basic table that are not ASCII letters or digits (one septet
// each), and those of the extension table (two septets: an escape and the character).
constexpr std::u32string_view kGsmBasic =
    U"@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà";
constexpr std::u32string_view kGsmExtension = U"^{}\\[~]|€\f";

bool isAlnumAscii(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int segmentsFor(size_t units, size_t single, size_t part) {
  if (units <= single) return 1;
  return static_cast<int>((units + part - 1) / part);
}

}  // namespace

std::string_view statusName(Status s) {
  switch (s) {
    case Status::kQueued:
      return "queued";
    case Status::kSent:
      return "sent";
    case Status::kDelivered:
      return "delivered";
    case Status::kUndelivered:
      return "undelivered";
    case Status::kFailed:
      return "failed";
  }
  return "unknown";
}

bool isFinal(Status s) {
  return s == Status::kDelivered || s == Status::kUndelivered || s == Status::kFailed;
}

std::string_view errorMessage(int error_code) {
  switch (error_code) {
    case 30003:
      return "Unreachable destination handset";
    case 30008:
      return "Unknown error";
    default:
      return "";
  }
}

std::string errorJson(int code, std::string_view message, int http_status) {
  return JsonObject()
      .integer("code", code)
      .string("message", message)
      .string("more_info", fmt::format("https://www.twilio.com/docs/errors/{}", code))
      .integer("status", http_status)
      .str();
}

std::string rfc2822(std::chrono::system_clock::time_point t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000", kDays.at(tm.tm_wday),
                     tm.tm_mday, kMonths.at(tm.tm_mon), tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

int countSegments(std::string_view body) {
  const std::vector<char32_t> chars = decodeUtf8(body);
  size_t septets = 0;
  bool gsm = true;
  size_t utf16_units = 0;
  for (const char32_t c : chars) {
    utf16_units += c > 0xFFFF ? 2 : 1;
    if (isAlnumAscii(c) || kGsmBasic.find(c) != std::u32string_view::npos) {
      septets += 1;
    } else if (kGsmExtension.find(c) != std::u32string_view::npos) {
      septets += 2;
    } else {
      gsm = false;
    }
  }
  return gsm ? segmentsFor(septets, 160, 153) : segmentsFor(utf16_units, 70, 67);
}

std::string twilioPrice(int64_t micro_usd) {
  return fmt::format("{}{}.{:05d}", micro_usd > 0 ? "-" : "", micro_usd / 1'000'000,
                     (micro_usd % 1'000'000) / 10);
}

std::string messageJson(const Message& m, const PriceRule& rule) {
  const std::string uri =
      fmt::format("/2010-04-01/Accounts/{}/Messages/{}.json", m.account_sid, m.sid);
  const std::string media_uri =
      fmt::format("/2010-04-01/Accounts/{}/Messages/{}/Media.json", m.account_sid, m.sid);

  // Priced once final (and `delay` after): per segment when it reached a carrier, nothing when
  // it failed.
  std::optional<std::string> price;
  if (isFinal(m.status) && std::chrono::system_clock::now() >= m.date_updated + rule.delay) {
    const int64_t micro_usd =
        m.status == Status::kFailed ? 0 : rule.per_segment_micro_usd * m.num_segments;
    price = twilioPrice(micro_usd);
  }
  const std::string_view error_message = m.error_code ? errorMessage(*m.error_code) : "";
  const std::optional<std::string> date_sent =
      m.date_sent ? std::optional(rfc2822(*m.date_sent)) : std::nullopt;

  // Members in the schema's order, which is the order of Twilio's own answers.
  return JsonObject()
      .string("body", m.body)
      .string("num_segments", std::to_string(m.num_segments))
      .string("direction", "outbound-api")
      .stringOrNull("from", m.from)
      .string("to", m.to)
      .string("date_updated", rfc2822(m.date_updated))
      .stringOrNull("price", price)
      .stringOrNull("error_message", error_message)
      .string("uri", uri)
      .string("account_sid", m.account_sid)
      .string("num_media", std::to_string(m.media_urls.size()))
      .string("status", statusName(m.status))
      .stringOrNull("messaging_service_sid", m.messaging_service_sid)
      .string("sid", m.sid)
      .stringOrNull("date_sent", date_sent)
      .string("date_created", rfc2822(m.date_created))
      .integerOrNull("error_code", m.error_code)
      .stringOrNull("price_unit", price ? std::optional<std::string_view>("USD") : std::nullopt)
      .string("api_version", "2010-04-01")
      .raw("subresource_uris", JsonObject().string("media", media_uri).str())
      .str();
}

}  // namespace tollgate::twilio_sim
