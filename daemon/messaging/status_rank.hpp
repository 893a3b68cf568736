// Twilio statuses in the order they can follow each other. Storage only ever moves a record to
// a higher rank, so an out-of-order "sent" never overwrites "delivered", and final statuses,
// which share one rank, never overwrite each other.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "storage/store.hpp"

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

// The outbox state a message is in once Twilio reports `status` (rank != 0).
inline tg_outbox_state outboxStateOf(std::string_view s) {
  if (s == "delivered" || s == "read") return TG_OUTBOX_DELIVERED;
  if (s == "undelivered") return TG_OUTBOX_UNDELIVERED;
  if (s == "failed" || s == "canceled") return TG_OUTBOX_FAILED;
  return TG_OUTBOX_ACCEPTED;  // Twilio has it: accepted, queued, sending, sent, ...
}

// Whether an outbox message in state `s` is done with (Twilio's final word on it).
inline bool finalOutboxState(tg_outbox_state s) {
  return s == TG_OUTBOX_DELIVERED || s == TG_OUTBOX_UNDELIVERED || s == TG_OUTBOX_FAILED;
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

// A status callback for a message or call (`what`): Twilio gets its 2xx whatever happens, so an
// unknown status word is logged and ignored (false), and so is an unknown record.
inline bool knownStatus(std::string_view request_id, std::string_view what, std::string_view sid,
                        std::string_view status, int rank) {
  if (rank != 0) return true;
  spdlog::warn("{}: unknown {} status '{}' for {}; ignored", request_id, what, status, sid);
  return false;
}

// Whether the stored status moved forward, from the unit's result for the update
// (TG_UNIT_CHANGED/UNCHANGED/MISSING); an update of an unknown record is logged.
inline bool statusChanged(std::string_view request_id, std::string_view what, std::string_view sid,
                          int32_t result) {
  if (result == TG_UNIT_MISSING) {
    spdlog::warn("{}: status callback for unknown {} {}; ignored", request_id, what, sid);
  }
  return result == TG_UNIT_CHANGED;
}

}  // namespace tollgate::messaging
