// Weekly opening hours in the tenant's time zone, with the real rules of that zone (daylight
// saving time included) from the system's tz database, through Howard Hinnant's date library.
#pragma once

#include <Poco/JSON/Object.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace date {
class time_zone;
}

namespace tollgate::plugins::ivr {

class BusinessHours {
 public:
  // Opening ranges of one day, in minutes since local midnight, [start, end).
  using Ranges = std::vector<std::pair<int, int>>;

  // `timezone`: an IANA name ("America/New_York"); empty means UTC. `hours`: mon..sun ->
  // ["09:00","17:00"], a list of such pairs, or null (closed); a day not listed is closed.
  // Throws sdk::Error naming settings.timezone / settings.hours.<day> when they are bad.
  static BusinessHours parse(const std::string& timezone, const Poco::JSON::Object::Ptr& hours);

  bool isOpen(int64_t unix_ms) const;

  // Day index 0 = Sunday ... 6 = Saturday.
  const Ranges& day(int index) const { return days_[static_cast<size_t>(index)]; }

 private:
  const date::time_zone* zone_ = nullptr;  // owned by the date library's tz database
  std::array<Ranges, 7> days_;
};

// The zone with this IANA name; throws sdk::Error naming settings.timezone when unknown.
const date::time_zone* findZone(const std::string& name);

}  // namespace tollgate::plugins::ivr
