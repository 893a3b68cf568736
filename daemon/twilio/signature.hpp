// Twilio webhook signatures (the X-Twilio-Signature header), computed and checked the way Twilio's
// official helper libraries do it (twilio-python, twilio-node, twilio-java, twilio-csharp,
// twilio-ruby, twilio-php, twilio-go; their published test vectors are in
// tests/unit/signature_test.cpp):
//
//   data      = URL exactly as Twilio requested it (scheme, userinfo, host case, path and query
//               untouched) + for every POST parameter, ordered by name then by value (byte
//               order), name + value. A name sent several times contributes each distinct value;
//               an identical name/value pair sent twice counts once.
//   signature = Base64(HMAC-SHA1(key = auth token, data)).
//
// Twilio is inconsistent about whether the URL it signs carries the port, so a request is
// accepted if the signature matches the URL as given or its port variant: with the port removed
// when the URL has one (any port, not only 443/80), or with the scheme's standard port (443 for
// https, otherwise 80) added when it has none.
//
// JSON (non-form) bodies are signed differently: Twilio appends bodySHA256=<hex SHA-256 of the
// body> to the URL's query, signs the URL alone (no parameters), and the body is tied to the
// signature only through that hash.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::twilio {

// Form parameters in the order they were received; repeated names are allowed. Every parameter
// Twilio sent must be included, including ones Tollgate does not use, or the signature will not
// match.
using Params = std::vector<std::pair<std::string, std::string>>;

// Base64 HMAC-SHA1 of `url` followed by the sorted, de-duplicated name+value pairs of `params`.
// `url` is used byte for byte; no port variant is tried.
std::string computeSignature(std::string_view auth_token, std::string_view url,
                             const Params& params);

// True if `signature` matches `url` as given or its port variant. False for an empty token or an
// empty signature. Compares in constant time.
bool validateFormSignature(std::string_view auth_token, std::string_view url, const Params& params,
                           std::string_view signature);

// For application/json (and other non-form) bodies: true only if the URL's query carries a
// bodySHA256 parameter equal to the lowercase hex SHA-256 of `body`, and `signature` matches the
// URL (as given or its port variant) with no parameters. False if bodySHA256 is missing.
bool validateJsonSignature(std::string_view auth_token, std::string_view url, std::string_view body,
                           std::string_view signature);

}  // namespace tollgate::twilio
