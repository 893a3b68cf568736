// application/x-www-form-urlencoded bodies as Twilio sends them (the WHATWG URL standard's
// "application/x-www-form-urlencoded parser"): pairs split on '&', name and value split on the
// first '=', '+' is a space, %XX is the byte XX. Twilio encodes every space as '+'
// (FromCity=SAN+FRANCISCO), so a decoder that leaves '+' alone breaks most signatures.
//
// Unlike the WHATWG parser, a '%' not followed by two hex digits is an error, not a literal:
// Twilio never sends one, and accepting it would let two different bodies decode alike.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "twilio/signature.hpp"

namespace tollgate::twilio {

class FormError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Every pair of `body` in order, repeats kept; empty pairs ("a=1&&b=2") are skipped. A pair
// without '=' has an empty value. Throws FormError naming the offset of a malformed escape.
Params parseForm(std::string_view body);

// One name or value: '+' -> ' ', %XX -> byte. Throws FormError on a malformed escape.
std::string formDecode(std::string_view text);

// The body a form encoder sends (the WHATWG "application/x-www-form-urlencoded serializer", as
// Twilio's own libraries send it): pairs in order, repeats kept (MediaUrl=a&MediaUrl=b), a
// space as '+', every byte but ASCII letters, digits and "*-._" as %XX. parseForm reads it
// back unchanged.
std::string formEncode(const Params& params);

}  // namespace tollgate::twilio
