// Logging what strangers send. A value from the internet goes into a log line only through
// untrusted(): truncated, quoted, with control characters, quotes, backslashes and bytes above
// 0x7e escaped, so a 1 MB `To` or one with a newline cannot forge or flood the log. And a
// warning that any unauthenticated request can trigger goes through a LogLimiter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace tollgate::ops {

// "\"value\"" escaped as \n, \t, \", \\ and \xHH; longer than `max_bytes`: cut, with the
// original length noted ("\"abc\"...(1048576 bytes)").
std::string untrusted(std::string_view value, size_t max_bytes = 64);

// At most `burst` lines, refilled at `per_second`; the rest are counted and reported with the
// next line that is let through.
class LogLimiter {
 public:
  LogLimiter(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}

  // True if a line may be written now; `suppressed` is set to how many were dropped since the
  // last one that was written.
  bool allow(uint64_t& suppressed);

 private:
  std::mutex mu_;
  double rate_, burst_, tokens_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  uint64_t dropped_ = 0;
};

}  // namespace tollgate::ops
