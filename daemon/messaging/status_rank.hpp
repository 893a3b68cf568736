// Twilio statuses in the order they can follow each other. Storage only ever moves a record to
// a higher rank, so an out-of-order "sent" never overwrites "delivered", and final statuses,
// which share one rank, never overwrite each other.
#pragma once

#include <string_view>

namespace tollgate::messaging {

inline int messageStatusRank(std::string_view s) {
  if (s == "accepted" || s == "scheduled") return 1;
  if (s == "queued") return 2;
  if (s == "sending" || s == "receiving") return 3;
  if (s == "sent") return 4;
  if (s == "delivered" || s == "undelivered" || s == "failed" || s == "received" ||
      s == "canceled" || s == "partially_delivered") {
    return 10;
  }
  if (s == "read") return 11;  // WhatsApp: reported after delivered
  return 0;                    // unknown: never applied
}

inline int callStatusRank(std::string_view s) {
  if (s == "queued" || s == "initiated") return 1;
  if (s == "ringing") return 2;
  if (s == "in-progress" || s == "answered") return 3;
  if (s == "completed" || s == "busy" || s == "failed" || s == "no-answer" || s == "canceled") {
    return 10;
  }
  return 0;
}

}  // namespace tollgate::messaging
