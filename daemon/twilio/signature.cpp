#include "twilio/signature.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/HMACEngine.h>
#include <Poco/SHA1Engine.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "tenancy/secrets.hpp"
#include "twilio/form.hpp"

namespace tollgate::twilio {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x) ==
           (y >= 'A' && y <= 'Z' ? y + ('a' - 'A') : y);
  });
}

// The URL's variants that Twilio may have signed: as given, plus the port variant. The variants
// are spliced out of the original string rather than rebuilt by a URI class, because a rebuilt
// URL is normalised (scheme and host case, percent-encoding of ' or non-ASCII characters) and
// Twilio signs the URL byte for byte; the official libraries' vectors cover mixed-case hosts,
// upper-case schemes and credentials, all of which must survive unchanged.
std::vector<std::string> urlVariants(std::string_view url) {
  std::vector<std::string> variants{std::string(url)};

  const size_t schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos || schemeEnd == 0) return variants;
  const std::string_view scheme = url.substr(0, schemeEnd);
  const size_t authorityBegin = schemeEnd + 3;
  size_t authorityEnd = url.find_first_of("/?#", authorityBegin);
  if (authorityEnd == std::string_view::npos) authorityEnd = url.size();

  // Userinfo (which may itself hold ':' between user and password) ends at the last '@'.
  const std::string_view authority = url.substr(authorityBegin, authorityEnd - authorityBegin);
  const size_t at = authority.rfind('@');
  const size_t hostBegin = authorityBegin + (at == std::string_view::npos ? 0 : at + 1);
  if (hostBegin >= authorityEnd) return variants;

  // hostEnd: one past the host; a ':' there starts the port. An IPv6 literal is bracketed and
  // holds colons of its own.
  size_t hostEnd;
  if (url[hostBegin] == '[') {
    const size_t close = url.find(']', hostBegin);
    if (close == std::string_view::npos || close >= authorityEnd) return variants;
    hostEnd = close + 1;
    if (hostEnd < authorityEnd && url[hostEnd] != ':') return variants;
  } else {
    hostEnd = std::min(url.find(':', hostBegin), authorityEnd);
  }

  const std::string_view port = url.substr(hostEnd, authorityEnd - hostEnd);  // ":1234" or ""
  if (!std::all_of(port.begin() + std::min<size_t>(1, port.size()), port.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return variants;  // not a URL we can reason about; only the URL as given can match
  }

  const std::string_view beforePort = url.substr(0, hostEnd);
  const std::string_view afterPort = url.substr(authorityEnd);
  if (!port.empty()) {
    // Any port is removed, not only the standard ones: the official libraries all accept
    // https://host:1234/... signed as https://host/... (their "removes port" vectors).
    variants.push_back(std::string(beforePort).append(afterPort));
  }
  if (port.size() <= 1) {  // no port, or a bare ':' with no digits
    const std::string_view standard = equalsIgnoreCase(scheme, "https") ? ":443" : ":80";
    variants.push_back(std::string(beforePort).append(standard).append(afterPort));
  }
  return variants;
}

// True if `signature` matches any variant of `url`. Every variant is compared, so the time taken
// does not depend on which one (if any) matched.
bool matchesUrl(std::string_view auth_token, std::string_view url, const Params& params,
                std::string_view signature) {
  bool matched = false;
  for (const std::string& candidate : urlVariants(url)) {
    matched |=
        tenancy::constantTimeEqual(computeSignature(auth_token, candidate, params), signature);
  }
  return matched;
}

// The first bodySHA256 in the URL's query, form-decoded, or nullopt if there is none.
std::optional<std::string> bodySha256Param(std::string_view url) {
  const size_t question = url.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = url.substr(question + 1);
  query = query.substr(0, query.find('#'));

  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);

    const size_t eq = pair.find('=');
    const std::string_view rawName = pair.substr(0, eq);
    const std::string_view rawValue =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    try {
      if (formDecode(rawName) != "bodySHA256") continue;
      return formDecode(rawValue);
    } catch (const FormError&) {
      // A malformed %-escape: the parameter cannot be bodySHA256 (or cannot be read), skip it.
    }
  }
  return std::nullopt;
}

}  // namespace

std::string computeSignature(std::string_view auth_token, std::string_view url,
                             const Params& params) {
  // Order by name, then value (byte order, which for UTF-8 is code point order as in
  // twilio-python). Sorting the pairs rather than the concatenations matters when one name is a
  // prefix of another ("Reason" before "ReasonConferenceEnded", twilio-go's vector).
  std::vector<const Params::value_type*> sorted;
  sorted.reserve(params.size());
  for (const auto& p : params) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });

  std::string data(url);
  const Params::value_type* previous = nullptr;
  for (const auto* p : sorted) {
    // An identical name/value pair sent twice is signed once (twilio-python, twilio-node,
    // twilio-php: Digits=5678&Digits=1234&Digits=1234 signs as Digits1234Digits5678).
    if (previous != nullptr && *previous == *p) continue;
    data.append(p->first).append(p->second);
    previous = p;
  }

  Poco::HMACEngine<Poco::SHA1Engine> hmac(auth_token.data(), auth_token.size());
  hmac.update(data);
  const Poco::DigestEngine::Digest& digest = hmac.digest();

  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);  // one line, as in the header
  encoder.write(reinterpret_cast<const char*>(digest.data()),
                static_cast<std::streamsize>(digest.size()));
  encoder.close();
  return out.str();
}

bool validateFormSignature(std::string_view auth_token, std::string_view url, const Params& params,
                           std::string_view signature) {
  // An empty token would make the HMAC key public; an empty header is simply unsigned.
  if (auth_token.empty() || signature.empty()) return false;
  return matchesUrl(auth_token, url, params, signature);
}

bool validateJsonSignature(std::string_view auth_token, std::string_view url, std::string_view body,
                           std::string_view signature) {
  if (auth_token.empty() || signature.empty()) return false;
  // Without bodySHA256 the signature covers the URL only and says nothing about the body.
  const std::optional<std::string> expectedHash = bodySha256Param(url);
  if (!expectedHash) return false;
  const bool bodyMatches = tenancy::constantTimeEqual(tenancy::sha256Hex(body), *expectedHash);
  const bool urlMatches = matchesUrl(auth_token, url, Params{}, signature);
  return bodyMatches && urlMatches;
}

}  // namespace tollgate::twilio
