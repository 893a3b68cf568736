// Route tables, one function per audience.
#pragma once

#include <optional>

#include "http/router.hpp"
#include "services.hpp"

namespace tollgate::http {

void addOpsRoutes(Router& router, Services& svc);     // /livez /readyz /metrics
void addAdminRoutes(Router& router, Services& svc);   // /admin/v1/...
void addTenantRoutes(Router& router, Services& svc);  // /v1/...
void addNumberRoutes(Router& router, Services& svc);  // /admin/v1/tenants/{id}/numbers, accounts
void addLogRoutes(Router& router, Services& svc);     // /v1/messages, /v1/calls
void addWalletRoutes(Router& router, Services& svc);  // wallets and the ledger, admin and tenant
void addPriceRoutes(Router& router, Services& svc);   // what a unit costs: /v1/prices
// POST /v1/messages, GET /v1/outbox/{id}, and the same for the admin under /admin/v1/tenants/{id}
void addSendRoutes(Router& router, Services& svc);

// JSON shapes shared by the admin and tenant APIs.
Poco::JSON::Object tenantJson(const storage::Tenant& t);
// The tenant `id`, or an ApiError 404 naming tenant_id.
storage::Tenant existingTenant(Services& svc, const std::string& id);
Poco::JSON::Object keyJson(const storage::ApiKey& k);

// An ISO 8601 / RFC 3339 time with its offset ("2026-11-21T10:00:00Z", fractions allowed) in
// milliseconds since the epoch, or nothing.
std::optional<int64_t> isoTimeMs(const std::string& text);
// Query parameter `name` as a time: ISO 8601 / RFC 3339 ("2026-11-21T10:00:00Z") or
// milliseconds since the epoch; 0 when absent; a 400 naming it otherwise.
int64_t timeParam(Request& r, const std::string& name);

}  // namespace tollgate::http

namespace tollgate::messaging {
void addSmsWebhookRoutes(http::Router& router, Services& svc);  // /twilio/sms[/status]
}
namespace tollgate::voice {
void addVoiceWebhookRoutes(http::Router& router, Services& svc);  // /twilio/voice[/next|/status]
}
