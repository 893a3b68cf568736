#include "business_hours.hpp"

#include <Poco/JSON/Array.h>
#include <date/tz.h>

#include <cctype>
#include <chrono>
#include <stdexcept>

#include "ivr_json.hpp"

namespace tollgate::plugins::ivr {
namespace {

// In date::weekday's C encoding: 0 = Sunday.
constexpr std::array<const char*, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

int dayIndex(const std::string& name) {
  for (size_t i = 0; i < kDayNames.size(); ++i) {
    if (name == kDayNames[i]) return static_cast<int>(i);
  }
  return -1;
}

// "HH:MM" -> minutes since midnight; "24:00" is the end of the day.
int parseClock(const Var& v, const std::string& path) {
  const std::string s = v.isString() ? v.extract<std::string>() : std::string();
  const bool shape = s.size() == 5 && s[2] == ':' &&
                     std::isdigit(static_cast<unsigned char>(s[0])) &&
                     std::isdigit(static_cast<unsigned char>(s[1])) &&
                     std::isdigit(static_cast<unsigned char>(s[3])) &&
                     std::isdigit(static_cast<unsigned char>(s[4]));
  if (!shape) fail(path, "expected a time of day as \"HH:MM\"");
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) fail(path, "no such time of day '" + s + "'");
  return h * 60 + m;
}

std::pair<int, int> parseRange(const Poco::JSON::Array::Ptr& a, const std::string& path) {
  if (a->size() != 2) fail(path, "expected [\"HH:MM\", \"HH:MM\"]");
  const int start = parseClock(a->get(0), path + "[0]");
  const int end = parseClock(a->get(1), path + "[1]");
  // Ranges past midnight would need the next day's rules; say so instead of guessing.
  if (end <= start)
    fail(path, "closing time must be after opening time (split overnight hours over two days)");
  return {start, end};
}

BusinessHours::Ranges parseDay(const Var& v, const std::string& path) {
  if (v.isEmpty()) return {};  // null: closed
  if (v.type() != typeid(Poco::JSON::Array::Ptr)) {
    fail(path, "expected [\"HH:MM\", \"HH:MM\"], a list of such pairs, or null for closed");
  }
  const auto a = v.extract<Poco::JSON::Array::Ptr>();
  if (a->size() > 0 && a->get(0).type() == typeid(Poco::JSON::Array::Ptr)) {
    BusinessHours::Ranges ranges;
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      if (a->get(i).type() != typeid(Poco::JSON::Array::Ptr))
        fail(item, "expected [\"HH:MM\", \"HH:MM\"]");
      ranges.push_back(parseRange(a->get(i).extract<Poco::JSON::Array::Ptr>(), item));
    }
    return ranges;
  }
  return {parseRange(a, path)};
}

}  // namespace

const date::time_zone* findZone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::runtime_error&) {
    fail("timezone",
         "unknown time zone '" + name + "' (expected an IANA name like America/New_York)");
  }
}

BusinessHours BusinessHours::parse(const std::string& timezone,
                                   const Poco::JSON::Object::Ptr& hours) {
  BusinessHours bh;
  bh.zone_ = findZone(timezone.empty() ? "UTC" : timezone);
  for (const auto& [key, value] : *hours) {
    const int day = dayIndex(key);
    if (day < 0) fail("hours." + key, "unknown day (expected mon, tue, wed, thu, fri, sat, sun)");
    bh.days_[static_cast<size_t>(day)] = parseDay(value, "hours." + key);
  }
  return bh;
}

bool BusinessHours::isOpen(int64_t unix_ms) const {
  using namespace std::chrono;
  const date::sys_time<milliseconds> now{milliseconds{unix_ms}};
  const auto local = zone_->to_local(now);
  const auto midnight = date::floor<date::days>(local);
  const int weekday = static_cast<int>(date::weekday(midnight).c_encoding());
  const auto minute = static_cast<int>(duration_cast<minutes>(local - midnight).count());
  for (const auto& [start, end] : days_[static_cast<size_t>(weekday)]) {
    if (minute >= start && minute < end) return true;
  }
  return false;
}

}  // namespace tollgate::plugins::ivr
