#include "twilio_sim/validate.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "twilio_sim/json_out.hpp"

namespace tollgate::twilio_sim {
namespace {

constexpr size_t kMaxBodyChars = 1600;
constexpr size_t kMaxMedia = 10;

// The last value of `name`, or nullopt if absent (Twilio takes the last of a repeated field).
std::optional<std::string> field(const twilio::Params& form, std::string_view name) {
  std::optional<std::string> value;
  for (const auto& [n, v] : form) {
    if (n == name) value = v;
  }
  return value;
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// E.164: '+', a non-zero digit, then 1 to 14 digits. A channel prefix ("whatsapp:") is allowed.
bool isPhoneNumber(std::string_view s) {
  if (const size_t colon = s.find(':'); colon != std::string_view::npos) {
    const std::string_view channel = s.substr(0, colon);
    if (channel.empty() || !std::all_of(channel.begin(), channel.end(), [](char c) {
          return std::islower(static_cast<unsigned char>(c)) != 0;
        })) {
      return false;
    }
    s = s.substr(colon + 1);
  }
  return s.size() >= 3 && s.size() <= 16 && s[0] == '+' && s[1] != '0' && allDigits(s.substr(1));
}

// A short code (3 to 6 digits) or an alphanumeric sender ID (1 to 11 letters, digits and
// spaces, with at least one letter).
bool isOtherSender(std::string_view s) {
  if (allDigits(s)) return s.size() >= 3 && s.size() <= 6;
  const bool allowed = std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == ' ';
  });
  const bool letter = std::any_of(
      s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
  return !s.empty() && s.size() <= 11 && allowed && letter;
}

bool isSid(std::string_view s, std::string_view prefix) {
  return s.size() == 34 && s.substr(0, 2) == prefix &&
         std::all_of(s.begin() + 2, s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

Validated fail(int code, std::string message) {
  return Validated{.error = ApiError{.code = code, .message = std::move(message)},
                   .to = {},
                   .from = {},
                   .messaging_service_sid = {},
                   .body = {},
                   .media_urls = {},
                   .status_callback = {}};
}

}  // namespace

bool isHttpUrl(const std::string& url) {
  try {
    const Poco::URI uri(url);
    return (uri.getScheme() == "http" || uri.getScheme() == "https") && !uri.getHost().empty();
  } catch (const Poco::Exception&) {
    return false;
  }
}

Validated validateCreate(const twilio::Params& form) {
  Validated v{.error = std::nullopt,
              .to = field(form, "To").value_or(""),
              .from = field(form, "From").value_or(""),
              .messaging_service_sid = field(form, "MessagingServiceSid").value_or(""),
              .body = field(form, "Body").value_or(""),
              .media_urls = {},
              .status_callback = field(form, "StatusCallback").value_or("")};
  // Twilio's own name is MediaUrl, repeated; MediaUrl[] is what OpenAPI tools (Prism) send.
  for (const auto& [name, value] : form) {
    if (name == "MediaUrl" || name == "MediaUrl[]") v.media_urls.push_back(value);
  }

  if (v.to.empty()) return fail(21604, "A 'To' phone number is required.");
  if (v.from.empty() && v.messaging_service_sid.empty()) {
    return fail(21603, "A 'From' phone number is required.");
  }
  if (v.body.empty() && v.media_urls.empty()) return fail(21602, "Message body is required.");
  if (!isPhoneNumber(v.to)) {
    return fail(21211, fmt::format("The 'To' number {} is not a valid phone number.", v.to));
  }
  // Twilio's magic numbers for test credentials: each To is refused as Twilio documents.
  static const std::map<std::string, std::pair<int, std::string>> kMagicTo{
      {"+15005550001", {21211, "The 'To' number +15005550001 is not a valid phone number."}},
      {"+15005550002",
       {21612,
        "The 'To' phone number: +15005550002, is not currently reachable "
        "using the 'From' phone number via SMS."}},
      {"+15005550003",
       {21408,
        "Permission to send an SMS has not been enabled for the region "
        "indicated by the 'To' number: +15005550003."}},
      {"+15005550004", {21610, "Attempt to send to unsubscribed recipient"}},
      {"+15005550009", {21614, "'To' number is not a valid mobile number"}}};
  if (const auto magic = kMagicTo.find(v.to); magic != kMagicTo.end()) {
    return fail(magic->second.first, magic->second.second);
  }
  if (!v.from.empty() && !isPhoneNumber(v.from) && !isOtherSender(v.from)) {
    return fail(21212, fmt::format("The 'From' number {} is not a valid phone number, shortcode, "
                                   "or alphanumeric sender ID.",
                                   v.from));
  }
  if (!v.messaging_service_sid.empty() && !isSid(v.messaging_service_sid, "MG")) {
    return fail(21701,
                fmt::format("The Messaging Service Sid {} is invalid.", v.messaging_service_sid));
  }
  if (decodeUtf8(v.body).size() > kMaxBodyChars) {
    return fail(21617, "The concatenated message body exceeds the 1600 character limit.");
  }
  if (v.media_urls.size() > kMaxMedia) {
    return fail(21623, "Number of media files exceeds allowed limit.");
  }
  if (!std::all_of(v.media_urls.begin(), v.media_urls.end(), isHttpUrl)) {
    return fail(21620, "Invalid media URL(s).");
  }
  if (!v.status_callback.empty() && !isHttpUrl(v.status_callback)) {
    return fail(21609,
                fmt::format("The StatusCallback URL {} is not a valid URL.", v.status_callback));
  }
  return v;
}

InboundFields inboundFields(const twilio::Params& form) {
  InboundFields f{.error = {},
                  .url = field(form, "Url").value_or(""),
                  .account_sid = field(form, "AccountSid").value_or(""),
                  .from = field(form, "From").value_or(""),
                  .to = field(form, "To").value_or(""),
                  .body = field(form, "Body").value_or("")};
  if (!isHttpUrl(f.url)) {
    f.error = fmt::format("Url '{}': want the absolute http(s) URL of the webhook", f.url);
  } else if (!isSid(f.account_sid, "AC")) {
    f.error = "AccountSid: want AC followed by 32 hex digits";
  } else if (f.from.empty() || f.to.empty()) {
    f.error = "From and To are required";
  }
  return f;
}

InboundCallFields inboundCallFields(const twilio::Params& form) {
  InboundCallFields f{.error = {},
                      .url = field(form, "Url").value_or(""),
                      .account_sid = field(form, "AccountSid").value_or(""),
                      .from = field(form, "From").value_or(""),
                      .to = field(form, "To").value_or(""),
                      .status_callback = field(form, "StatusCallback").value_or(""),
                      .status = field(form, "CallStatus").value_or("completed"),
                      .duration_s = 30};
  const std::string duration = field(form, "Duration").value_or("30");
  if (!isHttpUrl(f.url)) {
    f.error = fmt::format("Url '{}': want the absolute http(s) URL of the voice webhook", f.url);
  } else if (!isSid(f.account_sid, "AC")) {
    f.error = "AccountSid: want AC followed by 32 hex digits";
  } else if (f.from.empty() || f.to.empty()) {
    f.error = "From and To are required";
  } else if (!f.status_callback.empty() && !isHttpUrl(f.status_callback)) {
    f.error = fmt::format("StatusCallback '{}': want an absolute http(s) URL", f.status_callback);
  } else if (f.status != "completed" && f.status != "busy" && f.status != "no-answer" &&
             f.status != "failed" && f.status != "canceled") {
    f.error = fmt::format(
        "CallStatus '{}': want how the call ends: completed, busy, no-answer, failed or canceled",
        f.status);
  } else if (duration.empty() || duration.size() > 5 ||
             !std::all_of(duration.begin(), duration.end(),
                          [](char c) { return c >= '0' && c <= '9'; }) ||
             std::stoi(duration) > 14'400) {
    f.error = fmt::format("Duration '{}': want the call's seconds, 0 to 14400", duration);
  } else {
    f.duration_s = f.status == "completed" ? std::stoi(duration) : 0;
  }
  return f;
}

}  // namespace tollgate::twilio_sim
