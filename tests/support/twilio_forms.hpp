// Twilio-shaped webhook forms, shared by the e2e tests and bench/make_requests.cpp: the
// parameters Twilio posts, and their URL encoding.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "twilio/signature.hpp"

namespace tollgate::testing {

using Params = twilio::Params;

// application/x-www-form-urlencoded as Twilio sends it: letters, digits and "-._~" as they are,
// a space as '+', every other byte as %XX. Spaces must be '+' here: Twilio sends them that way
// (FromCity=SAN+FRANCISCO), and a suite that sent %20 once hid a decoder that broke most
// real signatures.
inline std::string formEncode(const Params& params) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto encode = [](std::string& out, std::string_view text) {
    for (const unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  };
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    encode(out, k);
    out += '=';
    encode(out, v);
  }
  return out;
}

// Every parameter Twilio posts for an inbound SMS, most of which Tollgate does not use but which
// the signature covers all the same.
inline Params smsParams(const std::string& sid, const std::string& from, const std::string& to,
                        const std::string& body,
                        const std::string& account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
  return {{"ToCountry", "US"},
          {"ToState", "CA"},
          {"SmsMessageSid", sid},
          {"NumMedia", "0"},
          {"ToCity", "SAN FRANCISCO"},
          {"FromZip", "94105"},
          {"SmsSid", sid},
          {"FromState", "CA"},
          {"SmsStatus", "received"},
          {"FromCity", "SAN FRANCISCO"},
          {"Body", body},
          {"FromCountry", "US"},
          {"To", to},
          {"ToZip", "94107"},
          {"NumSegments", "1"},
          {"ReferralNumMedia", "0"},
          {"MessageSid", sid},
          {"MessagingServiceSid", "MG00000000000000000000000000000001"},
          {"AccountSid", account},
          {"From", from},
          {"ApiVersion", "2010-04-01"}};
}

inline Params voiceParams(const std::string& call_sid, const std::string& from,
                          const std::string& to, const std::string& status) {
  return {{"AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
          {"ApiVersion", "2010-04-01"},
          {"CallSid", call_sid},
          {"CallStatus", status},
          {"Called", to},
          {"CalledCity", "SAN FRANCISCO"},
          {"CalledCountry", "US"},
          {"CalledState", "CA"},
          {"CalledZip", "94107"},
          {"Caller", from},
          {"CallerCity", "OAKLAND"},
          {"CallerName", "JOHN Q PUBLIC"},
          {"CallerCountry", "US"},
          {"CallerState", "CA"},
          {"CallerZip", "94612"},
          {"Direction", "inbound"},
          {"From", from},
          {"FromCity", "OAKLAND"},
          {"FromCountry", "US"},
          {"FromState", "CA"},
          {"FromZip", "94612"},
          {"To", to},
          {"ToCity", "SAN FRANCISCO"},
          {"ToCountry", "US"},
          {"ToState", "CA"},
          {"ToZip", "94107"}};
}

}  // namespace tollgate::testing
