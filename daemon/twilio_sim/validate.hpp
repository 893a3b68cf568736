// The checks Twilio makes on a new message, with Twilio's error codes and messages, and the
// fields of the /sim/inbound control request.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "twilio/signature.hpp"

namespace tollgate::twilio_sim {

struct ApiError {
  int code;  // Twilio's error code, e.g. 21604
  std::string message;
};

// The fields of POST .../Messages.json once checked.
struct Validated {
  std::optional<ApiError> error;  // the first problem found; the fields are then unusable
  std::string to;
  std::string from;                   // "" with a Messaging Service
  std::string messaging_service_sid;  // "" without
  std::string body;
  std::vector<std::string> media_urls;  // from MediaUrl, repeated, or MediaUrl[]
  std::string status_callback;          // "" for none
};

Validated validateCreate(const twilio::Params& form);

// The fields of POST /sim/inbound.
struct InboundFields {
  std::string error;  // "" when the fields are usable
  std::string url;    // the webhook to post to
  std::string account_sid;
  std::string from;
  std::string to;
  std::string body;
};

InboundFields inboundFields(const twilio::Params& form);

// POST /sim/inbound-call: a call to place to a number's voice webhook, and how it ends.
struct InboundCallFields {
  std::string error;  // "" when the fields are usable
  std::string url;    // the voice webhook to post to
  std::string account_sid;
  std::string from;
  std::string to;
  std::string status_callback;       // "" for none
  std::string status = "completed";  // how the call ends
  int duration_s = 30;               // completed: its length; otherwise 0
};

InboundCallFields inboundCallFields(const twilio::Params& form);

// True for an absolute http:// or https:// URL with a host.
bool isHttpUrl(const std::string& url);

}  // namespace tollgate::twilio_sim
