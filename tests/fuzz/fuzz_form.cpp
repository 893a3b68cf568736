// twilio::parseForm and formDecode against a plain reference decoder written from the rule in
// form.hpp. Oracles:
//   - both decode to the same pairs (and formDecode to the same text), or both refuse;
//   - when they refuse, the FormError message names the byte offset of the first malformed
//     escape, counted from the start of the body;
//   - the parsed pairs, re-encoded, parse back to the same pairs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "check.hpp"
#include "twilio/form.hpp"

namespace {

using tollgate::twilio::FormError;
using tollgate::twilio::Params;

// A decoded text, or the offset (from `base`) of the first malformed escape.
struct Decoded {
  std::optional<std::string> text;
  size_t bad_at = 0;
};

// One name or value: '+' is a space, '%' must be followed by two hex digits.
Decoded referenceDecode(std::string_view s, size_t base = 0) {
  static const std::string_view kHex = "0123456789abcdef0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else {
      if (i + 2 >= s.size()) return {std::nullopt, base + i};
      const size_t hi = kHex.find(s[i + 1]);
      const size_t lo = kHex.find(s[i + 2]);
      if (hi == std::string_view::npos || lo == std::string_view::npos) {
        return {std::nullopt, base + i};
      }
      out += static_cast<char>((hi % 16) * 16 + lo % 16);
      i += 2;
    }
  }
  return {std::move(out), 0};
}

// Split on '&', skip empty pairs, split each pair on its first '='. On failure, `bad_at` is the
// body offset of the first malformed escape.
struct Parsed {
  std::optional<Params> pairs;
  size_t bad_at = 0;
};

Parsed referenceParse(std::string_view body) {
  Params out;
  size_t start = 0;
  while (true) {
    const size_t amp = body.find('&', start);
    const std::string_view pair =
        body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      Decoded name = referenceDecode(pair.substr(0, eq), start);
      if (!name.text) return {std::nullopt, name.bad_at};
      Decoded value{std::string(), 0};
      if (eq != std::string_view::npos)
        value = referenceDecode(pair.substr(eq + 1), start + eq + 1);
      if (!value.text) return {std::nullopt, value.bad_at};
      out.emplace_back(std::move(*name.text), std::move(*value.text));
    }
    if (amp == std::string_view::npos) return {std::move(out), 0};
    start = amp + 1;
  }
}

std::string encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// What form.cpp's FormError says about offset `at`.
bool namesOffset(const FormError& e, size_t at) {
  const std::string expected = "malformed percent-escape at byte " + std::to_string(at);
  return e.what() == expected;
}

// parseForm's answer; FormError must name `bad_at`. Any other exception escapes to libFuzzer.
std::optional<Params> parse(std::string_view body, size_t bad_at) {
  try {
    return tollgate::twilio::parseForm(body);
  } catch (const FormError& e) {
    FUZZ_CHECK(namesOffset(e, bad_at));
    return std::nullopt;
  }
}

std::optional<std::string> decode(std::string_view text, size_t bad_at) {
  try {
    return tollgate::twilio::formDecode(text);
  } catch (const FormError& e) {
    FUZZ_CHECK(namesOffset(e, bad_at));
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const Decoded reference = referenceDecode(input);
  FUZZ_CHECK(decode(input, reference.bad_at) == reference.text);

  const Parsed expected = referenceParse(input);
  const std::optional<Params> parsed = parse(input, expected.bad_at);
  FUZZ_CHECK(parsed == expected.pairs);
  if (!parsed) return 0;

  // Every pair, even one with an empty name and value, survives re-encoding: "=" is not an
  // empty pair.
  std::string body;
  for (const auto& [name, value] : *parsed) {
    if (!body.empty()) body += '&';
    body += encode(name) + '=' + encode(value);
  }
  FUZZ_CHECK(parse(body, 0) == parsed);
  return 0;
}
