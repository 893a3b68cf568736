// An outbox message as the tenant API shows it: GET /v1/outbox/{id}, and the body posted to the
// tenant's own status callback URL when it changes.
#pragma once

#include <Poco/JSON/Object.h>

#include <string_view>

#include "storage/store.hpp"

namespace tollgate::messaging {

std::string_view outboxStateName(tg_outbox_state s);
Poco::JSON::Object outboxJson(const storage::OutboxMessage& m);
// Where Twilio's price of a message or call stands (docs/adr/0014 "Prices"): price_status
// (pending, priced, unpriced; absent when none was asked for) and, once priced,
// twilio_price_micros.
void setPriceStatus(Poco::JSON::Object& o, tg_outbox_price_state state, int64_t price_micros);

}  // namespace tollgate::messaging
