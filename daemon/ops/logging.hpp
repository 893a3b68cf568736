#pragma once
#include <string>
namespace tollgate::ops {
// spdlog to stderr, or to the journal (with priorities) when systemd started us.
void setupLogging(const std::string& level);
// sd_notify(3) wrapper; a no-op outside systemd.
void notify(const std::string& state);
}  // namespace tollgate::ops
