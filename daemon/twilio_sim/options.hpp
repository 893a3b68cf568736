// tollgate-twilio-sim's command line: what it listens on, the accounts it accepts and how it
// behaves (delays, failures, rate limits, callback order).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tollgate::twilio_sim {

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Options {
  std::string listen_host = "127.0.0.1";  // loopback unless allow_remote
  uint16_t listen_port = 0;               // 0: the kernel picks a free port
  std::string port_file;                  // written with the bound port once listening; "" none
  std::map<std::string, std::string> accounts;  // account SID -> auth token
  int64_t callback_delay_ms = 50;               // before each status step
  int64_t callback_threads = 4;                 // status steps and callbacks run at once
  int64_t callback_backoff_ms = 200;  // before a failed callback's 2nd attempt; doubles (4 in all)
  double fail_rate = 0;               // share of messages that end failed or undelivered
  double rate_limit_rate = 0;         // share of message POSTs answered 429 (code 20429)
  double lost_answer_rate = 0;        // share of stored messages whose POST is answered 500
  bool out_of_order = false;          // status callbacks of sent and the final status swapped
  int64_t price_micros = 7900;        // Twilio's price of a segment once final, micro-USD
  int64_t call_price_micros = 8500;   // Twilio's price of a started minute of an inbound call
  int64_t price_delay_ms = 0;         // the price is null until this long after the final status
  std::optional<uint64_t> seed;       // none: a random seed, logged
  bool allow_remote = false;          // accept a listen address other than loopback
  std::string log_level = "info";
};

// Options from argv (argv[0] skipped). Throws UsageError with a sentence naming the flag and
// what it wants.
Options parseOptions(const std::vector<std::string>& args);

// The --help text.
std::string usage();

}  // namespace tollgate::twilio_sim
