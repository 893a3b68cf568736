#include "twilio/public_url.hpp"

#include <algorithm>

namespace tollgate::twilio {

std::string publicUrl(const UrlSource& s, const std::vector<std::string>& trusted_proxies,
                      std::string_view public_base_url) {
  const bool trusted =
      std::find(trusted_proxies.begin(), trusted_proxies.end(), s.peer) != trusted_proxies.end();
  const bool known_proto = s.forwarded_proto == "https" || s.forwarded_proto == "http";
  std::string url;
  if (trusted && known_proto && !s.forwarded_host.empty()) {
    url.append(s.forwarded_proto).append("://").append(s.forwarded_host);
  } else if (!public_base_url.empty()) {
    url.append(public_base_url);
  } else {
    url.append("http://").append(s.host);
  }
  return url.append(s.target);
}

}  // namespace tollgate::twilio
