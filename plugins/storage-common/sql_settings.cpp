#include "sql_settings.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tollgate::storage_sql {

int64_t intSetting(const sdk::Host& host, std::string_view key, int64_t min, int64_t max) {
  const auto value = host.config(key);
  const std::string k(key);
  if (!value) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + k + ": missing");
  int64_t out = 0;
  const char* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, out);
  if (ec != std::errc() || ptr != end || out < min || out > max) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + k + ": '" + std::string(*value) +
                                                  "' is not an integer between " +
                                                  std::to_string(min) + " and " +
                                                  std::to_string(max));
  }
  return out;
}

std::string resolvePath(const sdk::Host& host, std::string_view path) {
  const std::filesystem::path p(path);
  if (p.is_absolute() || host.stateDir().empty()) return p.string();
  return (std::filesystem::path(host.stateDir()) / p).string();
}

std::string readSecretFile(std::string_view key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings." + std::string(key) + ": cannot read " + path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings." + std::string(key) + ": " + path + " is empty");
  }
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string oneLine(std::string_view text, size_t max) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= max) break;
  }
  return out;
}

}  // namespace tollgate::storage_sql
