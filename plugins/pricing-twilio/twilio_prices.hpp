// Twilio's Pricing API documents for one country, parsed into integer micro-units:
//   messaging  GET {v1}/v1/Messaging/Countries/{Iso}     outbound SMS per carrier, inbound SMS
//   voice      GET {v2}/v2/Voice/Countries/{Iso}         outbound by destination prefix, inbound
//   numbers    GET {v1}/v1/PhoneNumbers/Countries/{Iso}  a number per month
// Prices arrive as decimal strings ("0.0079"; Twilio's own examples) or JSON numbers (the
// OpenAPI schema); both are read as decimal text, never through floating-point arithmetic.
#pragma once

#include <tollgate/abi/pricing.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::plugins::pricing {

enum class TwilioDoc { kMessaging, kVoice, kNumbers };

struct TypedPrice {
  std::string number_type;  // as a query names it: "local", "mobile", "toll-free", ...
  int64_t micros = 0;
};

struct PrefixPrice {
  std::string prefix;  // destination digits, country code first ("1907")
  int64_t micros = 0;
};

struct CountryPrices {
  std::string currency;               // Twilio's price_unit ("USD")
  std::vector<TypedPrice> outbound;   // messaging: per sender type, the dearest carrier
  std::vector<TypedPrice> inbound;    // messaging: inbound SMS; voice: inbound calls; numbers:
                                      // a number per month
  std::vector<PrefixPrice> prefixes;  // voice: outbound minutes by destination prefix
};

// The document that prices `product`.
TwilioDoc docFor(tg_product product);
const char* docName(TwilioDoc doc);
// "/v1/Messaging/Countries/US", ...
std::string docPath(TwilioDoc doc, std::string_view country);

// Parses one document; throws std::runtime_error naming the field that is missing or wrong.
CountryPrices parseTwilioPrices(TwilioDoc doc, std::string_view json);

// Twilio's number type as a query names it: lower case, spaces as '-' ("toll free" ->
// "toll-free").
std::string queryType(std::string_view twilio_type);

// The base price of `product`: for `number_type`, or the dearest of all types when it is empty.
// Outbound voice: the longest destination prefix of `number` (E.164), else the dearest prefix.
// nullopt when the document has no such price.
std::optional<int64_t> lookup(const CountryPrices& prices, tg_product product,
                              std::string_view number_type, std::string_view number);

}  // namespace tollgate::plugins::pricing
