// Tenant API: every request is scoped to the tenant of its API key.
#include <Poco/JSON/Array.h>

#include "http/api.hpp"
#include "http/auth.hpp"

namespace tollgate::http {

void addTenantRoutes(Router& router, Services& svc) {
  router.add("GET", "/v1/tenant", [&svc](Request& r) {
    svc.requireReady();
    return Response::json(200, tenantJson(svc.auth->requireTenant(r)));
  });

  router.add("GET", "/v1/keys", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    Poco::JSON::Array list;
    for (const auto& k : svc.tenants->keys(tenant.id)) list.add(keyJson(k));
    Poco::JSON::Object out;
    out.set("keys", list);
    return Response::json(200, out);
  });
}

}  // namespace tollgate::http
