// Tenant API: the call and message logs, by date range, status and number, newest first, with
// an opaque cursor for the next page.
#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Array.h>
#include <Poco/NumberParser.h>
#include <fmt/format.h>

#include <regex>

#include "http/api.hpp"
#include "http/auth.hpp"
#include "messaging/outbox_json.hpp"

namespace tollgate::http {

std::optional<int64_t> isoTimeMs(const std::string& v) {
  // Poco's parser is lenient (it accepts "yesterday", and the format without fractions reads
  // "10:00:00.5+01:00" as 10:00:00 UTC), so the shape is checked first and picks the format.
  static const std::regex kIso(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2}))");
  std::smatch shape;
  if (!std::regex_match(v, shape, kIso)) return std::nullopt;
  Poco::DateTime dt;
  int tz = 0;
  if (!Poco::DateTimeParser::tryParse(shape[1].matched ? Poco::DateTimeFormat::ISO8601_FRAC_FORMAT
                                                       : Poco::DateTimeFormat::ISO8601_FORMAT,
                                      v, dt, tz)) {
    return std::nullopt;
  }
  dt.makeUTC(tz);
  const int64_t ms = dt.timestamp().epochMicroseconds() / 1000;
  if (ms < 0) return std::nullopt;
  return ms;
}

int64_t timeParam(Request& r, const std::string& name) {
  const std::string v = r.query(name);
  if (v.empty()) return 0;
  Poco::Int64 ms = 0;
  if (Poco::NumberParser::tryParse64(v, ms) && ms >= 0) return ms;
  if (const auto iso = isoTimeMs(v)) return *iso;
  throw ApiError(
      400, "invalid_argument",
      fmt::format("'{}' must be an ISO 8601 time (2026-11-21T10:00:00Z) or epoch ms", name), name);
}

namespace {

storage::LogQuery query(Request& r) {
  storage::LogQuery q;
  q.from_ms = timeParam(r, "from");
  q.to_ms = timeParam(r, "to");
  q.status = r.query("status");
  if (q.status.size() > 32)
    throw ApiError(400, "invalid_argument", "'status' is too long", "status");
  const std::string number = r.query("number");
  if (!number.empty()) {
    auto e164 = numbers::normalizeE164(number);
    if (!e164)
      throw ApiError(400, "invalid_argument", "'number' must be an E.164 number", "number");
    q.number = *e164;
  }
  const std::string limit = r.query("limit", "50");
  unsigned n = 0;
  if (!Poco::NumberParser::tryParseUnsigned(limit, n) || n == 0 || n > 1000) {
    throw ApiError(400, "invalid_argument", "'limit' must be an integer from 1 to 1000", "limit");
  }
  q.limit = n;
  const std::string cursor = r.query("cursor");
  if (!cursor.empty()) {
    const auto dot = cursor.find('.');
    Poco::Int64 ms = 0;
    if (dot == std::string::npos || !Poco::NumberParser::tryParse64(cursor.substr(0, dot), ms) ||
        dot + 1 >= cursor.size()) {
      throw ApiError(400, "invalid_argument", "'cursor' is not one this API returned", "cursor");
    }
    q.before_ms = ms;
    q.before_sid = cursor.substr(dot + 1);
  }
  return q;
}

template <class Row>
void page(Poco::JSON::Object& out, const std::vector<Row>& rows, uint32_t limit) {
  if (rows.size() == limit) {
    out.set("next_cursor", fmt::format("{}.{}", rows.back().created_at_ms, rows.back().sid));
  }
}

const char* direction(tg_direction d) { return d == TG_DIRECTION_INBOUND ? "inbound" : "outbound"; }

}  // namespace

void addLogRoutes(Router& router, Services& svc) {
  router.add("GET", "/v1/messages", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    const auto q = query(r);
    const auto rows = svc.store->messages(tenant.id, q);
    Poco::JSON::Array list;
    for (const auto& m : rows) {
      Poco::JSON::Object o;
      o.set("sid", m.sid);
      o.set("direction", direction(m.direction));
      o.set("from", m.from_number);
      o.set("to", m.to_number);
      o.set("body", m.body);
      o.set("status", m.status);
      if (m.error_code != 0) o.set("error_code", m.error_code);
      o.set("num_segments", m.num_segments);
      o.set("created_at_ms", m.created_at_ms);
      o.set("updated_at_ms", m.updated_at_ms);
      list.add(o);
    }
    Poco::JSON::Object out;
    out.set("messages", list);
    page(out, rows, q.limit);
    return Response::json(200, out);
  });

  router.add("GET", "/v1/calls", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    const auto q = query(r);
    const auto rows = svc.store->calls(tenant.id, q);
    Poco::JSON::Array list;
    for (const auto& c : rows) {
      Poco::JSON::Object o;
      o.set("sid", c.sid);
      o.set("direction", direction(c.direction));
      o.set("from", c.from_number);
      o.set("to", c.to_number);
      o.set("status", c.status);
      o.set("duration_s", c.duration_s);
      if (!c.recording_url.empty()) o.set("recording_url", c.recording_url);
      // What the call was charged, and Twilio's price once known (docs/adr/0014 "Prices").
      messaging::setPriceStatus(o, c.price_state, c.price_micros);
      if (c.price_state == TG_OUTBOX_PRICED) o.set("charged_micros", c.charged_micros);
      o.set("created_at_ms", c.created_at_ms);
      o.set("updated_at_ms", c.updated_at_ms);
      list.add(o);
    }
    Poco::JSON::Object out;
    out.set("calls", list);
    page(out, rows, q.limit);
    return Response::json(200, out);
  });
}

}  // namespace tollgate::http
