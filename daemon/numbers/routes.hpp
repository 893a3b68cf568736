// Called number -> number record -> tenant, with the number's plugin choice and settings.
// Cached for route_cache_ms; changes made through this daemon invalidate at once, changes made
// by another daemon sharing the database are seen when the entry expires.
//
// Routing runs before the signature check (the signing token depends on the number), so anyone
// can make the gateway look up a number nobody owns. Such "unknown" answers are cached apart
// from real routes and at most kMaxUnknown of them; past that, unknown numbers are looked up
// each time and not remembered, so memory stays bounded whatever strangers send.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/store.hpp"

namespace tollgate::numbers {

struct Route {
  storage::Number number;
  storage::Tenant tenant;
  // settings_json flattened for plugins: top-level keys; strings raw, other values as JSON.
  std::vector<std::pair<std::string, std::string>> settings;
};

class Routes {
 public:
  Routes(storage::Store& store, std::chrono::milliseconds ttl) : store_(store), ttl_(ttl) {}

  // The route for a called number, or nullptr when no tenant owns it.
  std::shared_ptr<const Route> lookup(std::string_view e164);
  void invalidate(std::string_view e164);
  void invalidateTenant(std::string_view tenant_id);

  // How many numbers are cached: owned ones and unknown ones (at most kMaxUnknown).
  size_t cachedRoutes();
  size_t cachedUnknown();

  static constexpr size_t kMaxUnknown = 4096;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::shared_ptr<const Route> route;
    Clock::time_point expires;
  };
  void rememberUnknown(const std::string& e164, Clock::time_point expires);

  storage::Store& store_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;                // owned numbers
  std::unordered_map<std::string, Clock::time_point> unknown_;  // numbers nobody owns: expiry
};

// True for "+" and 2-15 digits, the shape Twilio sends numbers in. Routing only needs this:
// attached numbers were validated (normalizeE164) when they were attached.
bool looksE164(std::string_view text);

// Parses a number as E.164 with libphonenumber; nullopt if it is not a possible number.
std::optional<std::string> normalizeE164(std::string_view text);

// The ISO 3166-1 region of an E.164 number by libphonenumber ("US", "CA" for +1 area codes in
// Canada, "GB"); for a number no region's plan knows, its calling code's main region; nullopt
// for non-geographic codes (+800, +882).
std::optional<std::string> regionOf(std::string_view e164);

// A settings JSON object flattened as Route::settings; throws std::invalid_argument with a
// message when `json` is not a JSON object.
std::vector<std::pair<std::string, std::string>> flattenSettings(const std::string& json);

}  // namespace tollgate::numbers
