#include "ops/untrusted.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tollgate::ops {

std::string untrusted(std::string_view value, size_t max_bytes) {
  std::string out = "\"";
  for (const unsigned char c : value.substr(0, max_bytes)) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c > 0x7e) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  if (value.size() > max_bytes) out += fmt::format("...({} bytes)", value.size());
  return out;
}

bool LogLimiter::allow(uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  if (tokens_ < 1.0) {
    ++dropped_;
    return false;
  }
  tokens_ -= 1.0;
  suppressed = dropped_;
  dropped_ = 0;
  return true;
}

}  // namespace tollgate::ops
