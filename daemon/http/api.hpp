// Route tables, one function per audience.
#pragma once

#include "http/router.hpp"
#include "services.hpp"

namespace tollgate::http {

void addOpsRoutes(Router& router, Services& svc);     // /livez /readyz /metrics
void addAdminRoutes(Router& router, Services& svc);   // /admin/v1/...
void addTenantRoutes(Router& router, Services& svc);  // /v1/...
void addNumberRoutes(Router& router, Services& svc);  // /admin/v1/tenants/{id}/numbers, accounts
void addLogRoutes(Router& router, Services& svc);     // /v1/messages, /v1/calls
void addWalletRoutes(Router& router, Services& svc);  // wallets and the ledger, admin and tenant

// JSON shapes shared by the admin and tenant APIs.
Poco::JSON::Object tenantJson(const storage::Tenant& t);
Poco::JSON::Object keyJson(const storage::ApiKey& k);

}  // namespace tollgate::http

namespace tollgate::messaging {
void addSmsWebhookRoutes(http::Router& router, Services& svc);  // /twilio/sms[/status]
}
namespace tollgate::voice {
void addVoiceWebhookRoutes(http::Router& router, Services& svc);  // /twilio/voice[/next|/status]
}
