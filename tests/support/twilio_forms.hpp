// Twilio-shaped webhook forms, shared by the e2e tests and bench/make_requests.cpp: the
// parameters Twilio posts, and their URL encoding.
#pragma once

#include <Poco/URI.h>

#include <string>

#include "twilio/signature.hpp"

namespace tollgate::testing {

using Params = twilio::Params;

inline std::string formEncode(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    std::string ek, ev;
    Poco::URI::encode(k, "!#$&'()*+,/:;=?@[]", ek);
    Poco::URI::encode(v, "!#$&'()*+,/:;=?@[]", ev);
    if (!out.empty()) out += '&';
    out += ek + "=" + ev;
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
