// twilio::publicUrl and the X-Twilio-Signature functions. The input is split into request fields
// with FuzzedDataProvider. Oracles:
//   - forwarded headers change the URL only when the peer is a trusted proxy and the proto is
//     http or https; the URL always ends with the request target as received;
//   - a signature computed for (url, params) validates, whatever the parameters' order;
//   - flipping one byte of one value (so the signed set of pairs changes) fails validation;
//   - a JSON body signed through bodySHA256 validates, and a changed body does not;
//   - validation of arbitrary url/params/body/signature never throws.
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "check.hpp"
#include "twilio/public_url.hpp"
#include "twilio/signature.hpp"

namespace {

using tollgate::twilio::computeSignature;
using tollgate::twilio::Params;
using tollgate::twilio::publicUrl;
using tollgate::twilio::UrlSource;
using tollgate::twilio::validateFormSignature;
using tollgate::twilio::validateJsonSignature;

std::string proto(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0:
      return "";
    case 1:
      return "http";
    case 2:
      return "https";
    default:
      return in.ConsumeRandomLengthString(8);  // "HTTPS", "ftp", "https " ...
  }
}

std::string sha256Hex(const std::string& data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

void checkPublicUrl(const UrlSource& s, const std::vector<std::string>& trusted,
                    const std::string& base, const std::string& url) {
  FUZZ_CHECK(url.size() >= s.target.size() &&
             url.compare(url.size() - s.target.size(), s.target.size(), s.target) == 0);
  UrlSource plain = s;
  plain.forwarded_proto = {};
  plain.forwarded_host = {};
  const std::string withoutForwarded = publicUrl(plain, trusted, base);
  FUZZ_CHECK(withoutForwarded ==
             (base.empty() ? "http://" + std::string(s.host) : base) + std::string(s.target));
  const bool isTrusted = std::find(trusted.begin(), trusted.end(), s.peer) != trusted.end();
  const bool knownProto = s.forwarded_proto == "http" || s.forwarded_proto == "https";
  if (isTrusted && knownProto && !s.forwarded_host.empty()) {
    FUZZ_CHECK(url == std::string(s.forwarded_proto) + "://" + std::string(s.forwarded_host) +
                          std::string(s.target));
  } else {
    FUZZ_CHECK(url == withoutForwarded);
  }
}

// Signs `url` + `params`, then checks the validator accepts it (also with the parameters in
// another order) and refuses it for a parameter set with one byte changed.
void checkFormSignature(FuzzedDataProvider& in, const std::string& token, const std::string& url,
                        const Params& params) {
  const std::string sig = computeSignature(token, url, params);
  FUZZ_CHECK(validateFormSignature(token, url, params, sig) == !token.empty());
  Params reversed(params.rbegin(), params.rend());
  FUZZ_CHECK(validateFormSignature(token, url, reversed, sig) == !token.empty());
  FUZZ_CHECK(!validateFormSignature("", url, params, sig));

  if (params.empty()) return;
  Params changed = params;
  auto& value = changed[in.ConsumeIntegralInRange<size_t>(0, params.size() - 1)];
  if (value.second.empty()) return;
  const auto original = value;
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, value.second.size() - 1);
  value.second[at] = static_cast<char>(value.second[at] ^ in.ConsumeIntegralInRange(1, 255));
  // The signed data is the sorted set of distinct pairs. When the changed pair was the only copy
  // of its kind and its new form is new, that set keeps its size and differs in one byte, so no
  // URL variant (all of other lengths) can sign the same data.
  if (std::count(params.begin(), params.end(), original) == 1 &&
      std::count(params.begin(), params.end(), value) == 0) {
    FUZZ_CHECK(!validateFormSignature(token, url, changed, sig));
  }
}

void checkJsonSignature(FuzzedDataProvider& in, const std::string& token, const std::string& url,
                        const std::string& body) {
  if (url.find_first_of("?#") != std::string::npos || token.empty()) return;
  const std::string signedUrl = url + "?bodySHA256=" + sha256Hex(body);
  const std::string sig = computeSignature(token, signedUrl, {});
  FUZZ_CHECK(validateJsonSignature(token, signedUrl, body, sig));
  if (body.empty()) return;
  std::string changed = body;
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, body.size() - 1);
  changed[at] = static_cast<char>(changed[at] ^ in.ConsumeIntegralInRange(1, 255));
  FUZZ_CHECK(!validateJsonSignature(token, signedUrl, changed, sig));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string token = in.ConsumeRandomLengthString(40);
  const std::string target = in.ConsumeRandomLengthString(200);
  const std::string host = in.ConsumeRandomLengthString(60);
  std::vector<std::string> trusted(in.ConsumeIntegralInRange(0, 3));
  for (auto& t : trusted) t = in.ConsumeRandomLengthString(40);
  const std::string peer = !trusted.empty() && in.ConsumeBool()
                               ? trusted[in.ConsumeIntegralInRange<size_t>(0, trusted.size() - 1)]
                               : in.ConsumeRandomLengthString(40);
  const std::string fproto = proto(in);
  const std::string fhost = in.ConsumeRandomLengthString(60);
  const std::string base = in.ConsumeBool() ? in.ConsumeRandomLengthString(60) : "";
  Params params(in.ConsumeIntegralInRange(0, 8));
  for (auto& [name, value] : params) {
    name = in.ConsumeRandomLengthString(30);
    value = in.ConsumeRandomLengthString(100);
  }

  const UrlSource source{target, host, peer, fproto, fhost};
  const std::string url = publicUrl(source, trusted, base);
  checkPublicUrl(source, trusted, base, url);
  checkFormSignature(in, token, url, params);
  const std::string body = in.ConsumeRandomLengthString(300);
  checkJsonSignature(in, token, url, body);

  // Arbitrary input: false or true, never an exception (which would escape to libFuzzer).
  const std::string signature = in.ConsumeRandomLengthString(40);
  const std::string rawUrl = in.ConsumeRemainingBytesAsString();
  validateFormSignature(token, rawUrl, params, signature);
  validateJsonSignature(token, rawUrl, body, signature);
  return 0;
}
