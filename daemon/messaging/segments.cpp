#include "messaging/segments.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace tollgate::messaging {
namespace {

// The basic table of GSM 03.38, as Unicode code points (the escape to the extension table, 0x1B,
// is not a character of its own).
constexpr std::array<char32_t, 127> kBasic = {
    U'@', U'£', U'$', U'¥', U'è', U'é', U'ù', U'ì', U'ò',  U'Ç', U'\n', U'Ø', U'ø', U'\r', U'Å',
    U'å', U'Δ', U'_', U'Φ', U'Γ', U'Λ', U'Ω', U'Π', U'Ψ',  U'Σ', U'Θ',  U'Ξ', U'Æ', U'æ',  U'ß',
    U'É', U' ', U'!', U'"', U'#', U'¤', U'%', U'&', U'\'', U'(', U')',  U'*', U'+', U',',  U'-',
    U'.', U'/', U'0', U'1', U'2', U'3', U'4', U'5', U'6',  U'7', U'8',  U'9', U':', U';',  U'<',
    U'=', U'>', U'?', U'¡', U'A', U'B', U'C', U'D', U'E',  U'F', U'G',  U'H', U'I', U'J',  U'K',
    U'L', U'M', U'N', U'O', U'P', U'Q', U'R', U'S', U'T',  U'U', U'V',  U'W', U'X', U'Y',  U'Z',
    U'Ä', U'Ö', U'Ñ', U'Ü', U'§', U'¿', U'a', U'b', U'c',  U'd', U'e',  U'f', U'g', U'h',  U'i',
    U'j', U'k', U'l', U'm', U'n', U'o', U'p', U'q', U'r',  U's', U't',  U'u', U'v', U'w',  U'x',
    U'y', U'z', U'ä', U'ö', U'ñ', U'ü', U'à'};
// The extension table: each takes the escape and itself, two septets.
constexpr std::array<char32_t, 10> kExtension = {U'\f', U'^', U'{', U'}', U'\\',
                                                 U'[',  U'~', U']', U'|', U'€'};

// Septets of c in GSM-7, or 0 when GSM-7 cannot carry it.
size_t septets(char32_t c) {
  if (std::find(kBasic.begin(), kBasic.end(), c) != kBasic.end()) return 1;
  if (std::find(kExtension.begin(), kExtension.end(), c) != kExtension.end()) return 2;
  return 0;
}

std::vector<char32_t> decodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    char32_t c = 0;
    if (b < 0x80) {
      n = 1, c = b;
    } else if ((b & 0xE0) == 0xC0) {
      n = 2, c = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 3, c = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 4, c = b & 0x07;
    } else {
      throw std::invalid_argument(fmt::format("not UTF-8 at byte {}", i));
    }
    if (i + n > s.size()) throw std::invalid_argument(fmt::format("not UTF-8 at byte {}", i));
    for (size_t k = 1; k < n; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) {
        throw std::invalid_argument(fmt::format("not UTF-8 at byte {}", i + k));
      }
      c = (c << 6) | (cont & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < kMin[n] || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
      throw std::invalid_argument(fmt::format("not UTF-8 at byte {}", i));
    }
    out.push_back(c);
    i += n;
  }
  return out;
}

// Segments of `sizes` (each character's units) at `single` units for one segment, `per` each
// when several; a character is never split.
size_t pack(const std::vector<size_t>& sizes, size_t total, size_t single, size_t per) {
  if (total == 0) return 0;
  if (total <= single) return 1;
  size_t count = 1, used = 0;
  for (const size_t n : sizes) {
    if (used + n > per) {
      ++count;
      used = 0;
    }
    used += n;
  }
  return count;
}

}  // namespace

Segments countSegments(std::string_view utf8) {
  const std::vector<char32_t> chars = decodeUtf8(utf8);
  std::vector<size_t> sizes;
  sizes.reserve(chars.size());
  size_t total = 0;
  bool gsm = true;
  for (const char32_t c : chars) {
    const size_t n = septets(c);
    if (n == 0) {
      gsm = false;
      break;
    }
    sizes.push_back(n);
    total += n;
  }
  if (gsm) {
    return Segments{.encoding = Segments::Encoding::kGsm7,
                    .characters = chars.size(),
                    .units = total,
                    .count = pack(sizes, total, 160, 153)};
  }
  sizes.clear();
  total = 0;
  for (const char32_t c : chars) {
    const size_t n = c > 0xFFFF ? 2 : 1;  // a surrogate pair past the BMP
    sizes.push_back(n);
    total += n;
  }
  return Segments{.encoding = Segments::Encoding::kUcs2,
                  .characters = chars.size(),
                  .units = total,
                  .count = pack(sizes, total, 70, 67)};
}

}  // namespace tollgate::messaging
