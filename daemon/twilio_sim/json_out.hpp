// JSON written byte for byte as Twilio writes it: keys in a fixed order, '/' not escaped, UTF-8
// passed through. (Poco's JSON writer escapes '/' as "\/"; valid, but not what Twilio sends.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::twilio_sim {

// The code points of `text`; an invalid or truncated UTF-8 sequence gives U+FFFD per byte.
std::vector<char32_t> decodeUtf8(std::string_view text);

// `text` as a JSON string literal, quotes included. Invalid UTF-8 becomes U+FFFD.
std::string jsonString(std::string_view text);

// A JSON object built member by member, in the order the members are added.
class JsonObject {
 public:
  JsonObject& string(std::string_view key, std::string_view value);
  // null when `value` is empty or absent
  JsonObject& stringOrNull(std::string_view key, std::optional<std::string_view> value);
  JsonObject& integer(std::string_view key, int64_t value);
  template <typename Int>
  JsonObject& integerOrNull(std::string_view key, const std::optional<Int>& value) {
    return value ? integer(key, *value) : null(key);
  }
  JsonObject& boolean(std::string_view key, bool value);
  JsonObject& null(std::string_view key);
  JsonObject& raw(std::string_view key, std::string_view json);  // already JSON
  std::string str() const { return text_ + "}"; }

 private:
  JsonObject& member(std::string_view key, std::string_view json);
  std::string text_ = "{";
};

// A JSON array of values that are already JSON.
std::string jsonArray(const std::vector<std::string>& items);

// A JSON array of strings.
std::string jsonStringArray(const std::vector<std::string>& values);

}  // namespace tollgate::twilio_sim
