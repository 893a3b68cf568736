#include "twilio/form.hpp"

#include <fmt/format.h>

namespace tollgate::twilio {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void decodeInto(std::string_view text, size_t base, std::string& out) {
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      const int hi = i + 2 < text.size() ? hexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        throw FormError(fmt::format("malformed percent-escape at byte {}", base + i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
}

}  // namespace

std::string formEncode(const Params& params) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  const auto encode = [&](std::string_view text) {
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
          c == '-' || c == '.' || c == '_') {
        out.push_back(ch);
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  };
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    encode(name);
    out.push_back('=');
    encode(value);
  }
  return out;
}

std::string formDecode(std::string_view text) {
  std::string out;
  decodeInto(text, 0, out);
  return out;
}

Params parseForm(std::string_view body) {
  Params out;
  size_t i = 0;
  while (i <= body.size()) {
    size_t amp = body.find('&', i);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(i, amp - i);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string name, value;
      decodeInto(pair.substr(0, eq), i, name);
      if (eq != std::string_view::npos) decodeInto(pair.substr(eq + 1), i + eq + 1, value);
      out.emplace_back(std::move(name), std::move(value));
    }
    i = amp + 1;
  }
  return out;
}

}  // namespace tollgate::twilio
