// Senders' pace (issue 26, docs/adr/0015): carriers and Twilio take a number's messages at a
// limited rate (a US long code about 1 segment a second, toll-free 3, MMS 1 message a second).
// Each message carries the time it takes of its sender's rate; the outbox's paced claim keeps
// every sender to it, across daemons and restarts.
#pragma once

#include <cstdint>
#include <string>

namespace tollgate::messaging {

struct SenderRates {
  int64_t long_code_sps = 1;  // segments a second; 0: no limit
  int64_t toll_free_sps = 3;
  int64_t mms_per_s = 1;  // MMS messages a second, of either kind of number
};

enum class SenderType { kLongCode, kTollFree };

// What libphonenumber says `e164` is: toll-free, or (anything else) a long code.
SenderType senderType(const std::string& e164);

// Microseconds of its sender's rate one message takes: `segments` at the sender's segment rate,
// or one MMS at the MMS rate; 0 when the rate is 0 (no limit).
int64_t paceUs(const SenderRates& rates, SenderType type, int32_t segments, bool mms);

}  // namespace tollgate::messaging
