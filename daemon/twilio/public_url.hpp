// The URL Twilio called, which is what it signed: the configured public base URL (or, behind a
// trusted proxy, X-Forwarded-Proto and X-Forwarded-Host) followed by the request target exactly
// as received. Forwarded headers from any other peer are ignored, or anyone could choose the
// URL a captured signature is checked against; so are they when X-Forwarded-Proto is not
// "http" or "https".
//
// A pure function of the request's fields, so it is unit-tested and fuzzed without a server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::twilio {

struct UrlSource {
  std::string_view target;           // request-target as received: path and query
  std::string_view host;             // the Host header
  std::string_view peer;             // the connecting peer's IP address
  std::string_view forwarded_proto;  // X-Forwarded-Proto ("" if absent)
  std::string_view forwarded_host;   // X-Forwarded-Host ("" if absent)
};

std::string publicUrl(const UrlSource& source, const std::vector<std::string>& trusted_proxies,
                      std::string_view public_base_url);

}  // namespace tollgate::twilio
