// Admin API: tenants and their API keys. Authenticated by the admin key only.
#include <Poco/JSON/Array.h>
#include <Poco/NumberParser.h>
#include <fmt/format.h>

#include "http/api.hpp"
#include "http/auth.hpp"

namespace tollgate::http {
namespace {

constexpr size_t kMaxName = 100;
constexpr size_t kMaxLabel = 100;

uint32_t pageLimit(Request& r) {
  const std::string v = r.query("limit", "100");
  unsigned n = 0;
  if (!Poco::NumberParser::tryParseUnsigned(v, n) || n == 0 || n > 1000) {
    throw ApiError(400, "invalid_argument", "'limit' must be an integer from 1 to 1000", "limit");
  }
  return n;
}

}  // namespace

Poco::JSON::Object tenantJson(const storage::Tenant& t) {
  Poco::JSON::Object o;
  o.set("id", t.id);
  o.set("name", t.name);
  o.set("status", tenancy::statusName(t.status));
  o.set("created_at_ms", t.created_at_ms);
  return o;
}

Poco::JSON::Object keyJson(const storage::ApiKey& k) {
  Poco::JSON::Object o;
  o.set("id", k.id);
  o.set("tenant_id", k.tenant_id);
  o.set("label", k.label);
  o.set("created_at_ms", k.created_at_ms);
  if (k.revoked_at_ms != 0) o.set("revoked_at_ms", k.revoked_at_ms);
  o.set("revoked", k.revoked_at_ms != 0);
  return o;
}

storage::Tenant existingTenant(Services& svc, const std::string& id) {
  auto t = svc.tenants->get(id);
  if (!t) throw ApiError(404, "not_found", fmt::format("no tenant '{}'", id), "tenant_id");
  return *t;
}

void addAdminRoutes(Router& router, Services& svc) {
  auto admin = [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
  };

  router.add("POST", "/admin/v1/tenants", [&svc, admin](Request& r) {
    admin(r);
    auto body = r.jsonBody();
    const std::string name = requireString(*body, "name", kMaxName);
    if (name.empty()) throw ApiError(400, "invalid_argument", "'name' must not be empty", "name");
    try {
      const storage::Tenant t = svc.tenants->create(name);
      svc.ledger->ensureWallet(t.id, t.created_at_ms);  // else at the next start
      return Response::json(201, tenantJson(t));
    } catch (const storage::StorageError& e) {
      if (e.status() != TG_ERR_CONFLICT) throw;
      throw ApiError(409, "conflict", fmt::format("a tenant named '{}' exists", name), "name");
    }
  });

  router.add("GET", "/admin/v1/tenants", [&svc, admin](Request& r) {
    admin(r);
    const uint32_t limit = pageLimit(r);
    const auto rows = svc.tenants->list(r.query("after"), limit);
    Poco::JSON::Array list;
    for (const auto& t : rows) list.add(tenantJson(t));
    Poco::JSON::Object out;
    out.set("tenants", list);
    if (rows.size() == limit) out.set("next_after", rows.back().id);
    return Response::json(200, out);
  });

  router.add("GET", "/admin/v1/tenants/{id}", [&svc, admin](Request& r) {
    admin(r);
    return Response::json(200, tenantJson(existingTenant(svc, r.param("id"))));
  });

  router.add("PATCH", "/admin/v1/tenants/{id}", [&svc, admin](Request& r) {
    admin(r);
    auto body = r.jsonBody();
    const auto status = tenancy::parseStatus(requireString(*body, "status", 20));
    if (!status) {
      throw ApiError(400, "invalid_argument", "'status' must be active, suspended or closed",
                     "status");
    }
    existingTenant(svc, r.param("id"));
    svc.tenants->setStatus(r.param("id"), *status);
    svc.routes->invalidateTenant(r.param("id"));
    return Response::json(200, tenantJson(existingTenant(svc, r.param("id"))));
  });

  router.add("POST", "/admin/v1/tenants/{id}/keys", [&svc, admin](Request& r) {
    admin(r);
    std::string label;
    if (!r.body().empty()) label = optionalString(*r.jsonBody(), "label", kMaxLabel);
    const auto tenant = existingTenant(svc, r.param("id"));
    const auto issued = svc.tenants->issueKey(tenant.id, label);
    Poco::JSON::Object out = keyJson(issued.row);
    out.set("key", issued.token);
    out.set("note", "store this key now: it is shown only once");
    return Response::json(201, out);
  });

  router.add("GET", "/admin/v1/tenants/{id}/keys", [&svc, admin](Request& r) {
    admin(r);
    const auto tenant = existingTenant(svc, r.param("id"));
    Poco::JSON::Array list;
    for (const auto& k : svc.tenants->keys(tenant.id)) list.add(keyJson(k));
    Poco::JSON::Object out;
    out.set("keys", list);
    return Response::json(200, out);
  });

  router.add("DELETE", "/admin/v1/tenants/{id}/keys/{key_id}", [&svc, admin](Request& r) {
    admin(r);
    const auto tenant = existingTenant(svc, r.param("id"));
    try {
      svc.tenants->revokeKey(tenant.id, r.param("key_id"));
    } catch (const storage::StorageError& e) {
      if (e.status() != TG_ERR_NOT_FOUND) throw;
      throw ApiError(404, "not_found",
                     fmt::format("tenant {} has no key '{}'", tenant.id, r.param("key_id")),
                     "key_id");
    }
    return Response::noContent();
  });

  router.add("GET", "/admin/v1/plugins", [&svc, admin](Request& r) {
    admin(r);
    Poco::JSON::Array list;
    for (auto* p : svc.host->all()) {
      Poco::JSON::Object o;
      o.set("id", p->id());
      o.set("version", p->version());
      o.set("kind", plugins::kindName(p->kind()));
      o.set("file", p->file().string());
      o.set("calls", p->stats().calls.load());
      o.set("errors", p->stats().errors.load());
      o.set("overruns", p->stats().overruns.load());
      list.add(o);
    }
    Poco::JSON::Object out;
    out.set("plugins", list);
    return Response::json(200, out);
  });
}

}  // namespace tollgate::http
