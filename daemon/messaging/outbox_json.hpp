// An outbox message as the tenant API shows it: GET /v1/outbox/{id}, and the body posted to the
// tenant's own status callback URL when it changes.
#pragma once

#include <Poco/JSON/Object.h>

#include <string_view>

#include "storage/store.hpp"

namespace tollgate::messaging {

std::string_view outboxStateName(tg_outbox_state s);
Poco::JSON::Object outboxJson(const storage::OutboxMessage& m);

}  // namespace tollgate::messaging
