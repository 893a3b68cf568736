// How many SMS segments a body takes, counted as carriers and Twilio count them. A body that
// fits the GSM 03.38 alphabet (its basic table, one septet a character, and its extension
// table, two: ^ { } \ [ ~ ] | € and form feed) is sent in GSM-7: 160 septets in one segment, 153
// per segment when it takes several (the rest of each carries the concatenation header). Any
// other character makes the whole body UCS-2: 70 UTF-16 code units in one segment, 67 per
// segment otherwise. A character is never split across two segments: an extension character's
// two septets, or a surrogate pair, go whole into the next segment.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

namespace tollgate::messaging {

struct Segments {
  enum class Encoding { kGsm7, kUcs2 };
  Encoding encoding = Encoding::kGsm7;
  size_t characters = 0;  // Unicode code points
  size_t units = 0;       // GSM-7 septets or UTF-16 code units
  size_t count = 0;       // segments; 0 for an empty body
};

// Throws std::invalid_argument for a body that is not UTF-8 (naming the byte offset).
Segments countSegments(std::string_view utf8);

// Twilio's limit on a message body, in characters.
inline constexpr size_t kMaxBodyCharacters = 1600;

}  // namespace tollgate::messaging
