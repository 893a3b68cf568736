#include "messaging/outbox_json.hpp"

namespace tollgate::messaging {

std::string_view outboxStateName(tg_outbox_state s) {
  switch (s) {
    case TG_OUTBOX_QUEUED:
      return "queued";
    case TG_OUTBOX_SENDING:
      return "sending";
    case TG_OUTBOX_ACCEPTED:
      return "accepted";
    case TG_OUTBOX_UNKNOWN:
      return "unknown";
    case TG_OUTBOX_DELIVERED:
      return "delivered";
    case TG_OUTBOX_UNDELIVERED:
      return "undelivered";
    case TG_OUTBOX_FAILED:
      return "failed";
    default:
      return "?";
  }
}

void setPriceStatus(Poco::JSON::Object& o, tg_outbox_price_state state, int64_t price_micros) {
  switch (state) {
    case TG_OUTBOX_PRICE_PENDING:
      o.set("price_status", "pending");
      break;
    case TG_OUTBOX_PRICED:
      o.set("price_status", "priced");
      o.set("twilio_price_micros", price_micros);
      break;
    case TG_OUTBOX_UNPRICED:
      o.set("price_status", "unpriced");
      break;
    default:
      break;
  }
}

Poco::JSON::Object outboxJson(const storage::OutboxMessage& m) {
  Poco::JSON::Object o;
  o.set("id", m.id);
  o.set("status", std::string(outboxStateName(m.state)));
  o.set("to", m.to_number);
  o.set("from", m.from_number);
  o.set("body", m.body);
  o.set("segments", m.segments);
  o.set("attempts", m.attempts);
  o.set("twilio_sid", m.twilio_sid);
  o.set("twilio_status", m.twilio_status);
  if (m.state == TG_OUTBOX_QUEUED) o.set("next_attempt_at_ms", m.next_attempt_at_ms);
  if (m.error_code != 0) o.set("error_code", m.error_code);
  if (!m.error.empty()) o.set("error", m.error);
  // What the send reserved, and what Twilio charged once it said (docs/adr/0014 "Prices").
  o.set("estimate_micros", m.estimate_micros);
  setPriceStatus(o, m.price_state, m.price_micros);
  o.set("created_at_ms", m.created_at_ms);
  o.set("updated_at_ms", m.updated_at_ms);
  return o;
}

}  // namespace tollgate::messaging
