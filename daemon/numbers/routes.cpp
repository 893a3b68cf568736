#include "numbers/routes.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace tollgate::numbers {

std::shared_ptr<const Route> Routes::lookup(std::string_view e164) {
  const auto now = Clock::now();
  const std::string key(e164);
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end() && it->second.expires > now) {
      return it->second.route;
    }
    if (auto it = unknown_.find(key); it != unknown_.end() && it->second > now) return nullptr;
  }
  std::shared_ptr<const Route> route;
  if (auto number = store_.number("", e164)) {
    if (auto tenant = store_.tenant(number->tenant_id)) {
      auto r = std::make_shared<Route>();
      r->settings = flattenSettings(number->settings_json);
      r->number = std::move(*number);
      r->tenant = std::move(*tenant);
      route = std::move(r);
    }
  }
  std::lock_guard lock(mu_);
  if (route) {
    unknown_.erase(key);
    cache_[key] = Entry{route, now + ttl_};
  } else {
    cache_.erase(key);
    rememberUnknown(key, now + ttl_);
  }
  return route;
}

void Routes::rememberUnknown(const std::string& e164, Clock::time_point expires) {
  if (unknown_.size() >= kMaxUnknown && !unknown_.contains(e164)) {
    const auto now = Clock::now();
    std::erase_if(unknown_, [now](const auto& e) { return e.second <= now; });
    if (unknown_.size() >= kMaxUnknown) return;  // full of live entries: look it up next time
  }
  unknown_[e164] = expires;
}

size_t Routes::cachedRoutes() {
  std::lock_guard lock(mu_);
  return cache_.size();
}

size_t Routes::cachedUnknown() {
  std::lock_guard lock(mu_);
  return unknown_.size();
}

void Routes::invalidate(std::string_view e164) {
  std::lock_guard lock(mu_);
  cache_.erase(std::string(e164));
  unknown_.erase(std::string(e164));
}

void Routes::invalidateTenant(std::string_view tenant_id) {
  std::lock_guard lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.route && it->second.route->tenant.id == tenant_id) {
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

bool looksE164(std::string_view text) {
  return text.size() >= 3 && text.size() <= 16 && text[0] == '+' && text[1] >= '1' &&
         text[1] <= '9' &&
         std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::string> normalizeE164(std::string_view text) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  if (text.empty() || text.front() != '+' || text.size() > 20) return std::nullopt;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util.Parse(std::string(text), "ZZ", &parsed) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  if (!util.IsPossibleNumber(parsed)) return std::nullopt;
  std::string out;
  util.Format(parsed, PhoneNumberUtil::E164, &out);
  // Some regions' possible lengths go past E.164's 15 digits; routing (looksE164) would never
  // match such a number.
  if (!looksE164(out)) return std::nullopt;
  // libphonenumber drops a national prefix written after the country code ("+20 0118..." loses
  // a 0), so such a result parses again to yet another number. No one is reachable on it, and
  // storing it would store digits the caller never typed: refuse anything not a fixed point.
  PhoneNumber again;
  std::string check;
  if (util.Parse(out, "ZZ", &again) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  util.Format(again, PhoneNumberUtil::E164, &check);
  if (check != out) return std::nullopt;
  return out;
}

std::optional<std::string> regionOf(std::string_view e164) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  if (!looksE164(e164)) return std::nullopt;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util.Parse(std::string(e164), "ZZ", &parsed) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  std::string region;
  util.GetRegionCodeForNumber(parsed, &region);
  // A number no region's plan knows (a reserved or newly opened range) is priced by its
  // calling code's main country: +1 is US, +44 GB. Non-geographic codes (+800, +882) have none.
  if (region.size() != 2 || region == "ZZ") {
    util.GetRegionCodeForCountryCode(parsed.country_code(), &region);
  }
  if (region.size() != 2 || region == "ZZ") return std::nullopt;
  return region;
}

std::vector<std::pair<std::string, std::string>> flattenSettings(const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  Poco::JSON::Object::Ptr obj;
  try {
    obj = Poco::JSON::Parser().parse(json.empty() ? "{}" : json).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    throw std::invalid_argument("settings must be a JSON object");
  }
  if (obj.isNull()) throw std::invalid_argument("settings must be a JSON object");
  for (const auto& [name, value] : *obj) {
    if (value.isString()) {
      out.emplace_back(name, value.convert<std::string>());
    } else {
      std::ostringstream os;
      Poco::JSON::Stringifier::stringify(value, os);
      out.emplace_back(name, os.str());
    }
  }
  return out;
}

}  // namespace tollgate::numbers
