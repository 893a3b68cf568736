// The JSON request bodies of the admin and tenant APIs, as their handlers read them:
// http::parseJsonObject, then requireString/optionalString on the field names the handlers use
// (with their max lengths), and for a "settings" object what numbers_api.cpp stores and
// numbers::flattenSettings later reads. Oracles: only http::ApiError with status 400 (or
// std::invalid_argument from flattenSettings) may come out, anything else escapes to libFuzzer
// as a finding; an accepted string never holds a control character nor exceeds its max length.
#include <Poco/JSON/Object.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "http/router.hpp"
#include "numbers/routes.hpp"

namespace {

using tollgate::http::ApiError;

struct Field {
  const char* name;
  size_t max_len;
  bool required;
};

// From admin_api.cpp and numbers_api.cpp.
constexpr Field kFields[] = {
    {"name", 100, true},         {"status", 20, true},
    {"label", 100, false},       {"e164", 20, true},
    {"account_sid", 34, false},  {"twilio_sid", 34, false},
    {"voice_plugin", 64, false}, {"sms_plugin", 64, false},
    {"auth_token", 128, true},   {"friendly_name", 100, false},
};

void checkAccepted(const std::string& s, size_t max_len) {
  FUZZ_CHECK(s.size() <= max_len);
  for (unsigned char c : s) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
}

void readField(const Poco::JSON::Object& body, const Field& f) {
  try {
    const std::string s = f.required ? tollgate::http::requireString(body, f.name, f.max_len)
                                     : tollgate::http::optionalString(body, f.name, f.max_len);
    checkAccepted(s, f.max_len);
    tollgate::numbers::normalizeE164(s);
  } catch (const ApiError& e) {
    FUZZ_CHECK(e.status() == 400);
  }
}

void readSettings(const Poco::JSON::Object& body) {
  if (!body.has("settings") || body.isNull("settings")) return;
  auto settings = body.getObject("settings");
  if (settings.isNull()) return;  // the handler answers 400
  std::ostringstream os;
  settings->stringify(os);
  try {
    tollgate::numbers::flattenSettings(os.str());
  } catch (const std::invalid_argument&) {
    // What the handler stored is a JSON object, so reading it back on every webhook to that
    // number must not fail.
    FUZZ_CHECK(!"stored settings read back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  try {
    tollgate::numbers::flattenSettings(text);  // also what a settings column may hold
  } catch (const std::invalid_argument&) {
  }

  Poco::JSON::Object::Ptr body;
  try {
    body = tollgate::http::parseJsonObject(text);
  } catch (const ApiError& e) {
    FUZZ_CHECK(e.status() == 400);
    return 0;
  }
  FUZZ_CHECK(!body.isNull());
  for (const Field& f : kFields) readField(*body, f);
  readSettings(*body);
  return 0;
}
