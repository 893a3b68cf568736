// X-Twilio-Signature validation against the test vectors published in Twilio's official helper
// libraries' unit tests. Each vector names the repository and file it was copied from:
//   twilio/twilio-python  tests/unit/test_request_validator.py
//   twilio/twilio-node    spec/validation.spec.js
//   twilio/twilio-java    src/test/java/com/twilio/security/RequestValidatorTest.java
//   twilio/twilio-csharp  test/Twilio.Test/Security/RequestValidatorTest.cs
//   twilio/twilio-go      client/request_validator_test.go
// (twilio-ruby's spec/security/request_validator_spec.rb and twilio-php's RequestValidatorTest
// publish the same vectors as twilio-python/twilio-node.)
#include "twilio/signature.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "tenancy/secrets.hpp"

namespace {

using tollgate::twilio::computeSignature;
using tollgate::twilio::Params;
using tollgate::twilio::validateFormSignature;
using tollgate::twilio::validateJsonSignature;

// The fixture shared by every official library's tests.
constexpr std::string_view kToken = "12345";
constexpr std::string_view kUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
constexpr std::string_view kSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
constexpr std::string_view kBody = R"({"property": "value", "boolean": true})";
constexpr std::string_view kBodyHash =
    "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

// Deliberately not in alphabetical order (as in twilio-csharp's fixture): order must not matter.
Params defaultParams() {
  return {{"CallSid", "CA1234567890ABCDE"},
          {"From", "+14158675309"},
          {"Digits", "1234"},
          {"To", "+18005551212"},
          {"Caller", "+14158675309"}};
}

std::string withBodyHash(std::string_view url, std::string_view hash) {
  return std::string(url) + "&bodySHA256=" + std::string(hash);
}

// ---- Form parameters -------------------------------------------------------------------------

// twilio-python test_compute_signature; twilio-node "should succeed with the correct signature";
// twilio-java testValidate; twilio-csharp TestValidateDictionary.
TEST(TwilioSignature, ComputesPublishedSignature) {
  EXPECT_EQ(computeSignature(kToken, kUrl, defaultParams()), kSignature);
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, defaultParams(), kSignature));
}

// twilio-python test_compute_signature_duplicate_multi_dict / _query_dict (5678, 1234, 1234:
// names sorted, values sorted, identical duplicates removed); twilio-node "should validate request
// body with multiple params and values".
TEST(TwilioSignature, RepeatedNamesSignEachDistinctValueInSortedOrder) {
  const Params params{{"Sid", "CA123"},
                      {"SidAccount", "AC123"},
                      {"Digits", "5678"},
                      {"Digits", "1234"},
                      {"Digits", "1234"}};
  EXPECT_EQ(computeSignature(kToken, kUrl, params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, params, "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
  // The same request without the duplicate (twilio-python's earlier two-value vector).
  const Params noDuplicate{
      {"Sid", "CA123"}, {"SidAccount", "AC123"}, {"Digits", "5678"}, {"Digits", "1234"}};
  EXPECT_EQ(computeSignature(kToken, kUrl, noDuplicate), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
}

// twilio-node "should validate request body with an array parameter" and "... regardless of the
// position of values in the array".
TEST(TwilioSignature, RepeatedValuesOrderDoesNotMatter) {
  const Params ordered{{"MessagingBinding.Address", "+1325xxxxxxx"},
                       {"MessagingBinding.Address", "+1415xxxxxxx"}};
  const Params reversed{{"MessagingBinding.Address", "+1415xxxxxxx"},
                        {"MessagingBinding.Address", "+1325xxxxxxx"}};
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, ordered, "83O6e2vORAoJHUNzJjDWN1jz+BA="));
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, reversed, "83O6e2vORAoJHUNzJjDWN1jz+BA="));
}

// twilio-go: "Reason" sorts before "ReasonConferenceEnded" (sort by name, not by name+value);
// "95+Bu0..." is the signature with the concatenations sorted instead, which must fail.
TEST(TwilioSignature, SortsByNameNotByConcatenation) {
  Params params = defaultParams();
  params.emplace_back("ReasonConferenceEnded", "test");
  params.emplace_back("Reason", "Participant");
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, params, "vOEb5UThFn24KEfnOFLQY2AE5FY="));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, "95+Bu0JVPi0r/SsESZCVf0dWAjw="));
  // twilio-go: the same over http (no port), and over http with port 1234 once it is removed.
  EXPECT_TRUE(validateFormSignature(kToken, "http://mycompany.com/myapp.php?foo=1&bar=2", params,
                                    "n2xBNyzSW7rfYStDtOFiFMv7qNo="));
  EXPECT_TRUE(validateFormSignature(kToken, "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                    params, "n2xBNyzSW7rfYStDtOFiFMv7qNo="));
}

// twilio-java testValidateParameterKeySorting, testValidateWithCaseSensitiveParameterKeys
// (byte order: upper case before lower case), testValidateWithEmptyParameterValues,
// testValidateWithNullParameterValues (null is signed as ""), testValidateWithEmptyParams,
// testValidateWithSpecialCharactersInParams (UTF-8 values).
TEST(TwilioSignature, JavaParameterVectors) {
  EXPECT_TRUE(validateFormSignature(
      kToken, kUrl, {{"Zebra", "last"}, {"Alpha", "first"}, {"Beta", "second"}, {"Gamma", "third"}},
      "enveUe73ZTVLAekHxez3Qx6JuuQ="));
  EXPECT_TRUE(validateFormSignature(
      kToken, kUrl, {{"callSid", "lowercase"}, {"CallSid", "uppercase"}, {"CALLSID", "allcaps"}},
      "jDK7WKT8wiNrwggd4ceTv4e1MJ4="));
  EXPECT_TRUE(validateFormSignature(
      kToken, kUrl, {{"Digits", ""}, {"CallSid", "CA1234567890ABCDE"}, {"EmptyParam", ""}},
      "9HHp/OqQMEwdrVebHDdA/+tqjX8="));
  EXPECT_TRUE(validateFormSignature(
      kToken, kUrl, {{"Digits", ""}, {"CallSid", "CA1234567890ABCDE"}, {"NullParam", ""}},
      "L9lTTwIlxM1xGAtLRwhOSZggRhM="));
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, {}, "zYQTYrRWXE7LtzbG4PfP7/bkkGo="));
  EXPECT_TRUE(validateFormSignature(kToken, kUrl,
                                    {{"Message", "Hello & goodbye! @#$%^*()"},
                                     {"From", "+1 (415) 867-5309"},
                                     {"Special", "unicode: \u00f1\u00e1\u00e9\u00ed\u00f3\u00fa"}},
                                    "dCPiR4WtQ6QFN6pJh81CtlCcWLQ="));
}

// The URL is signed byte for byte, query string included.
TEST(TwilioSignature, UrlIsSignedAsGiven) {
  const Params params = defaultParams();
  // twilio-java testValidateWithNoQueryParams.
  EXPECT_TRUE(validateFormSignature(kToken, "https://mycompany.com/myapp.php", params,
                                    "1xaxFBvyzXYvWplzNOSs28HWO94="));
  // twilio-java testValidateIgnoresNonTwilioQueryParams (they are part of the signed URL).
  EXPECT_TRUE(validateFormSignature(kToken,
                                    "https://mycompany.com/myapp.php?foo=1&bar=2&type="
                                    "thiswontbeusedinthesignaturegeneratorandsoshouldbeignored",
                                    params, "hYkNsTBttoNGkyCS0p+wWmQoRTg="));
  // twilio-java testValidateWithUrlEncodedQueryParams (escapes are not decoded).
  EXPECT_TRUE(validateFormSignature(
      kToken, "https://mycompany.com/myapp.php?foo=hello%20world&bar=test%2Bvalue", params,
      "er2tvAP1Wx+iuTTE2BPgvEaN1cs="));
  // twilio-java testValidateWithInternationalCharactersInUrl (raw UTF-8, not percent-encoded).
  EXPECT_TRUE(validateFormSignature(kToken,
                                    "https://mycompany.com/webhook/Espa\u00f1a?a\u00f1o=2023",
                                    params, "G/Hx6mqqnjUNlPAoi2Sp9bGst0g="));
  // twilio-java testValidateWithMalformedUrlStillWorks (the double slash is kept).
  EXPECT_TRUE(validateFormSignature(kToken, "https://mycompany.com:443//myapp.php?foo=1&bar=2",
                                    params, "A9lH3u16NjyiiM/+wylw5rirFUs="));
  // twilio-node "should validate urls with special characters" (the ' is not re-encoded).
  EXPECT_TRUE(validateFormSignature(kToken, std::string(kUrl) + "&Body=It's+amazing", params,
                                    "dsq4Ehbj6cs+KdTkpF5sSSplOWw="));
}

// twilio-csharp: host and scheme case and credentials are signed as given.
TEST(TwilioSignature, CaseAndCredentialsArePreserved) {
  const Params params = defaultParams();
  EXPECT_TRUE(validateFormSignature(kToken, "https://MyCompany.com/myapp.php?foo=1&bar=2", params,
                                    "g9IN/x4Cft2g517EjYvEvM/W7LU="));
  EXPECT_TRUE(validateFormSignature(kToken, "https://MyCompany.com:1234/myapp.php?foo=1&bar=2",
                                    params, "PCqOZm8cnu/L6+u5i5fuEd+Iac4="));
  EXPECT_TRUE(validateFormSignature(kToken, "http://MyCompany.com/myapp.php?foo=1&bar=2", params,
                                    "XY7AlKOKL6im4yWyX84gldUrtis="));
  EXPECT_TRUE(validateFormSignature(kToken,
                                    "http://username:password@MyCompany.com/myapp.php?foo=1&bar=2",
                                    params, "PJ08CxXr7KLPjEQCTc8LkUSMwSM="));
  EXPECT_TRUE(validateFormSignature(kToken,
                                    "HTTP://username:password@MyCompany.com/myapp.php?foo=1&bar=2",
                                    params, "hy/l8pca+LFms4cvRdv8uiP6NGc="));
  EXPECT_TRUE(validateFormSignature(kToken,
                                    "http://Username:Password@MyCompany.com/myapp.php?foo=1&bar=2",
                                    params, "SkTSKyDJH9kUlhItI0slbgZ1UsI="));
  // TestValidateDictionaryMixedCase*WithIncorrectSignature: the lower-case host's signature does
  // not validate the mixed-case URL, with or without a port.
  EXPECT_FALSE(validateFormSignature(kToken, "https://MyCompany.com/myapp.php?foo=1&bar=2", params,
                                     kSignature));
  EXPECT_FALSE(validateFormSignature(kToken, "https://MyCompany.com:1234/myapp.php?foo=1&bar=2",
                                     params, kSignature));
  EXPECT_FALSE(validateFormSignature(kToken, "http://MyCompany.com/myapp.php?foo=1&bar=2", params,
                                     kSignature));
}

// twilio-node "should validate urls with credentials", "... with just username", "... with
// credentials by adding port" (also in twilio-ruby and twilio-php).
TEST(TwilioSignature, CredentialsWithPortVariant) {
  const Params params = defaultParams();
  const std::string_view withCreds = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_TRUE(validateFormSignature(kToken, withCreds, params, "CukzLTc1tT5dXEDIHm/tKBanW10="));
  EXPECT_TRUE(validateFormSignature(kToken, "https://user@mycompany.com/myapp.php?foo=1&bar=2",
                                    params, "2YRLlVAflCqxaNicjMpJcSTgzSs="));
  EXPECT_TRUE(validateFormSignature(kToken, withCreds, params, "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="));
}

// ---- Port variants (twilio-python, twilio-node, twilio-java, twilio-csharp, twilio-go) ------

TEST(TwilioSignature, RemovesPortWhenPresent) {
  const Params params = defaultParams();
  // test_validation_removes_port_on_https: https with port 1234, signed without it.
  EXPECT_TRUE(validateFormSignature(kToken, "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                    params, kSignature));
  // The Node spec's "signature derived from an URL without port, target contains the port":
  // https://host:443 validates against the signature of https://host.
  EXPECT_TRUE(validateFormSignature(kToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                                    params, kSignature));
  // test_validation_removes_port_on_http: http with port 1234, signed with it (the URL as given).
  EXPECT_TRUE(validateFormSignature(kToken, "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                    params, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
  // twilio-csharp TestValidateAddsCustomPortHttps: https with port 1234, signed with it.
  EXPECT_TRUE(validateFormSignature(kToken, "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                    params, "CYn1h0gLBdNxDGkKJg6hYohgeD8="));
}

TEST(TwilioSignature, AddsStandardPortWhenAbsent) {
  const Params params = defaultParams();
  // test_validation_adds_port_on_https: signed as https://mycompany.com:443/...
  EXPECT_TRUE(validateFormSignature(kToken, kUrl, params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
  EXPECT_EQ(computeSignature(kToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", params),
            "kvajT1Ptam85bY51eRf/AJRuM3w=");
  // test_validation_adds_port_on_http: signed as http://mycompany.com:80/...
  EXPECT_TRUE(validateFormSignature(kToken, "http://mycompany.com/myapp.php?foo=1&bar=2", params,
                                    "0ZXoZLH/DfblKGATFgpif+LLRf4="));
  EXPECT_EQ(computeSignature(kToken, "http://mycompany.com:80/myapp.php?foo=1&bar=2", params),
            "0ZXoZLH/DfblKGATFgpif+LLRf4=");
}

// Not a published vector: the scheme picks the standard port case-insensitively, the original
// spelling is kept, and an IPv6 literal's colons are not taken for a port.
TEST(TwilioSignature, PortVariantEdgeCases) {
  const Params params = defaultParams();
  const std::string upper =
      computeSignature(kToken, "HTTPS://MyCompany.com:443/myapp.php?foo=1&bar=2", params);
  EXPECT_TRUE(
      validateFormSignature(kToken, "HTTPS://MyCompany.com/myapp.php?foo=1&bar=2", params, upper));

  const std::string v6 = computeSignature(kToken, "https://[2001:db8::1]/hook", params);
  EXPECT_TRUE(validateFormSignature(kToken, "https://[2001:db8::1]:8443/hook", params, v6));
  const std::string v6port = computeSignature(kToken, "https://[2001:db8::1]:443/hook", params);
  EXPECT_TRUE(validateFormSignature(kToken, "https://[2001:db8::1]/hook", params, v6port));
}

// ---- JSON bodies (bodySHA256) ----------------------------------------------------------------

TEST(TwilioSignature, BodyHashMatchesPublishedHash) {
  // twilio-python test_compute_hash_unicode; twilio-node "should validate post body correctly".
  EXPECT_EQ(tollgate::tenancy::sha256Hex(kBody), kBodyHash);
}

TEST(TwilioSignature, JsonBodyVectors) {
  // twilio-python test_validation_of_body_succeeds; twilio-node "should validate request body when
  // given"; twilio-java testValidateWithBody; twilio-csharp TestValidateWithBody; twilio-go.
  EXPECT_TRUE(validateJsonSignature(kToken, withBodyHash(kUrl, kBodyHash), kBody,
                                    "a9nBmqA0ju/hNViExpshrM61xv4="));
  // twilio-node "should validate request body with only sha param"; twilio-java
  // testValidateWithNoOtherParameters; twilio-csharp TestValidateWithOnlyHash; twilio-go.
  EXPECT_TRUE(validateJsonSignature(
      kToken, "https://mycompany.com/myapp.php?bodySHA256=" + std::string(kBodyHash), kBody,
      "y77kIzt2vzLz71DgmJGsen2scGs="));
  // twilio-node "should validate request body when empty": body "{}", signed with port 443 added.
  const std::string_view emptyHash =
      "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
  EXPECT_EQ(tollgate::tenancy::sha256Hex("{}"), emptyHash);
  EXPECT_TRUE(validateJsonSignature(kToken, withBodyHash(kUrl, emptyHash), "{}",
                                    "Ldidvp12m26NI7eqEvxnEpkd9Hc="));
}

TEST(TwilioSignature, JsonBodyRejections) {
  const std::string url = withBodyHash(kUrl, kBodyHash);
  const std::string_view good = "a9nBmqA0ju/hNViExpshrM61xv4=";
  // Tampered body.
  EXPECT_FALSE(
      validateJsonSignature(kToken, url, R"({"property": "value", "boolean": false})", good));
  EXPECT_FALSE(validateJsonSignature(kToken, url, std::string(kBody) + " ", good));
  // twilio-node "should fail validation of post body with wrong hash": the hash in the URL is one
  // character short, so neither the body hash nor the signature matches.
  EXPECT_FALSE(
      validateJsonSignature(kToken, withBodyHash(kUrl, kBodyHash.substr(0, 63)), kBody, good));
  // bodySHA256 mismatch with a signature that is valid for that URL: the body check alone must
  // reject it (a signed URL does not vouch for a body whose hash it does not carry).
  const std::string otherHash(64, 'a');
  const std::string otherUrl = withBodyHash(kUrl, otherHash);
  const std::string otherSignature = computeSignature(kToken, otherUrl, {});
  EXPECT_FALSE(validateJsonSignature(kToken, otherUrl, kBody, otherSignature));
  // Upper-case hex is not what Twilio sends; the official libraries compare exactly.
  std::string upperHash(kBodyHash);
  for (char& c : upperHash) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string upperUrl = withBodyHash(kUrl, upperHash);
  EXPECT_FALSE(
      validateJsonSignature(kToken, upperUrl, kBody, computeSignature(kToken, upperUrl, {})));
  // twilio-java testValidateBodyWithoutSignature, twilio-csharp
  // TestValidateWithBodyWithoutSignature, twilio-node "should fail validation if given body but no
  // bodySHA256 param": no bodySHA256.
  EXPECT_FALSE(validateJsonSignature(kToken, kUrl, kBody, kSignature));
  EXPECT_FALSE(validateJsonSignature(kToken, kUrl, kBody, computeSignature(kToken, kUrl, {})));
  // The signature covers the URL alone: one computed with form parameters does not validate.
  EXPECT_FALSE(
      validateJsonSignature(kToken, url, kBody, computeSignature(kToken, url, defaultParams())));
  // Wrong token, empty signature.
  EXPECT_FALSE(validateJsonSignature("54321", url, kBody, good));
  EXPECT_FALSE(validateJsonSignature(kToken, url, kBody, ""));
}

// ---- Negative cases for form parameters ------------------------------------------------------

TEST(TwilioSignature, WrongTokenFails) {
  EXPECT_FALSE(validateFormSignature("54321", kUrl, defaultParams(), kSignature));
  EXPECT_FALSE(validateFormSignature("", kUrl, defaultParams(), kSignature));
  // Even a signature computed with the empty key is refused: an empty token is a misconfiguration.
  EXPECT_FALSE(validateFormSignature("", kUrl, defaultParams(),
                                     computeSignature("", kUrl, defaultParams())));
}

TEST(TwilioSignature, ChangedParamFails) {
  Params params = defaultParams();
  params[2].second = "1235";  // Digits
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, kSignature));
  // A value moved from one name to another.
  EXPECT_FALSE(validateFormSignature(kToken, kUrl,
                                     {{"CallSid", "CA1234567890ABCDE"},
                                      {"From", "+18005551212"},
                                      {"Digits", "1234"},
                                      {"To", "+14158675309"},
                                      {"Caller", "+14158675309"}},
                                     kSignature));
}

TEST(TwilioSignature, AddedOrRemovedParamFails) {
  // A parameter Tollgate does not use still counts.
  Params added = defaultParams();
  added.emplace_back("Unused", "x");
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, added, kSignature));
  // A second, different value for a name already present.
  Params repeated = defaultParams();
  repeated.emplace_back("Digits", "5678");
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, repeated, kSignature));
  // An empty-valued parameter still contributes its name.
  Params empty = defaultParams();
  empty.emplace_back("Empty", "");
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, empty, kSignature));
  Params removed = defaultParams();
  removed.pop_back();
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, removed, kSignature));
}

TEST(TwilioSignature, ChangedUrlFails) {
  // twilio-node webhooks.spec "signature URL does not match the target URL" and the middleware's
  // "&somethingUnexpected=true".
  EXPECT_FALSE(validateFormSignature(kToken, std::string(kUrl) + "&somethingUnexpected=true",
                                     defaultParams(), kSignature));
  EXPECT_FALSE(validateFormSignature(kToken, "http://mycompany.com/myapp.php?foo=1&bar=2",
                                     defaultParams(), kSignature));
  EXPECT_FALSE(validateFormSignature(kToken, "https://mycompany.com/myapp.php?foo=1&bar=3",
                                     defaultParams(), kSignature));
}

TEST(TwilioSignature, WrongPortForSchemeFails) {
  const Params params = defaultParams();
  // The https:443 signature does not validate the http URL (which adds :80), and vice versa.
  EXPECT_FALSE(validateFormSignature(kToken, "http://mycompany.com/myapp.php?foo=1&bar=2", params,
                                     "kvajT1Ptam85bY51eRf/AJRuM3w="));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, "0ZXoZLH/DfblKGATFgpif+LLRf4="));
  // Signed as https://host:80/...: not a variant of https://host/...
  const std::string crossed =
      computeSignature(kToken, "https://mycompany.com:80/myapp.php?foo=1&bar=2", params);
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, crossed));
  // A custom port is never added: https://host/... does not validate a signature over :1234.
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, "CYn1h0gLBdNxDGkKJg6hYohgeD8="));
  // Only the port is removed, never replaced: :1234 does not validate the :443 signature.
  EXPECT_FALSE(validateFormSignature(kToken, "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                     params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
}

TEST(TwilioSignature, EmptyOrMalformedSignatureFails) {
  const Params params = defaultParams();
  // twilio-node "should fail when signature undefined"; twilio-java
  // testValidateFailsWithEmptySignature.
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, ""));
  // twilio-node "WRONG_SIGNATURE"; twilio-java "NOTRSOYDt4T1cUTdK1PDd93/VVr8B8=" (one char longer),
  // "IncorrectSignatureValue123="; twilio-ruby "fake_signature".
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, "WRONG_SIGNATURE"));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, "NOTRSOYDt4T1cUTdK1PDd93/VVr8B8="));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, "IncorrectSignatureValue123="));
  // Different lengths: truncated, padded, with trailing whitespace or newline.
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, kSignature.substr(0, 27)));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, std::string(kSignature) + "="));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, std::string(kSignature) + " "));
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, std::string(kSignature) + "\n"));
  // Same length, one character flipped.
  std::string flipped(kSignature);
  flipped[0] = 'S';
  EXPECT_FALSE(validateFormSignature(kToken, kUrl, params, flipped));
}

}  // namespace
