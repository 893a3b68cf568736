// Admin API: attach numbers a tenant already owns on Twilio (and detach them), with their
// plugin choice and settings; register a tenant's Twilio subaccount and its auth token.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <fmt/format.h>

#include <sstream>

#include "config/config.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"

namespace tollgate::http {
namespace {

Poco::JSON::Object numberJson(const storage::Number& n) {
  Poco::JSON::Object o;
  o.set("e164", n.e164);
  o.set("tenant_id", n.tenant_id);
  o.set("account_sid", n.account_sid);
  o.set("twilio_sid", n.twilio_sid);
  o.set("voice_plugin", n.voice_plugin);
  o.set("sms_plugin", n.sms_plugin);
  o.set("settings", Poco::JSON::Parser().parse(n.settings_json));
  o.set("created_at_ms", n.created_at_ms);
  o.set("updated_at_ms", n.updated_at_ms);
  return o;
}

void requirePlugin(Services& svc, const std::string& id, tg_plugin_kind kind, const char* field) {
  if (id.empty()) return;
  plugins::Plugin* p = svc.host->find(id);
  if (p == nullptr || p->kind() != kind) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("'{}' is not a loaded {} plugin", id, plugins::kindName(kind)),
                   field);
  }
}

}  // namespace

void addNumberRoutes(Router& router, Services& svc) {
  router.add("POST", "/admin/v1/tenants/{id}/numbers", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    const auto tenant = existingTenant(svc, r.param("id"));
    auto body = r.jsonBody();
    const std::string raw = requireString(*body, "e164", 20);
    const auto e164 = numbers::normalizeE164(raw);
    if (!e164) {
      throw ApiError(400, "invalid_argument", fmt::format("'{}' is not an E.164 number", raw),
                     "e164");
    }
    storage::Number n;
    n.e164 = *e164;
    n.tenant_id = tenant.id;
    n.account_sid = optionalString(*body, "account_sid", 34);
    if (n.account_sid.empty()) n.account_sid = svc.accounts->masterSid();
    if (!config::validAccountSid(n.account_sid)) {
      throw ApiError(400, "invalid_argument", "'account_sid' must be AC followed by 32 hex digits",
                     "account_sid");
    }
    if (n.account_sid != svc.accounts->masterSid()) {
      auto acct = svc.store->twilioAccount(tenant.id, n.account_sid);
      if (!acct) {
        throw ApiError(400, "invalid_argument",
                       fmt::format("account {} is neither the master account nor a subaccount "
                                   "registered for this tenant",
                                   n.account_sid),
                       "account_sid");
      }
    }
    n.twilio_sid = optionalString(*body, "twilio_sid", 34);
    n.voice_plugin = optionalString(*body, "voice_plugin", 64);
    n.sms_plugin = optionalString(*body, "sms_plugin", 64);
    requirePlugin(svc, n.voice_plugin, TG_KIND_VOICE, "voice_plugin");
    requirePlugin(svc, n.sms_plugin, TG_KIND_SMS_KEYWORDS, "sms_plugin");
    if (body->has("settings") && !body->isNull("settings")) {
      auto settings = body->getObject("settings");
      if (settings.isNull())
        throw ApiError(400, "invalid_argument", "'settings' must be an object", "settings");
      std::ostringstream os;
      settings->stringify(os);
      n.settings_json = os.str();
      if (n.settings_json.size() > 64 * 1024) {
        throw ApiError(400, "invalid_argument", "'settings' is larger than 64 KiB", "settings");
      }
    }
    n.created_at_ms = n.updated_at_ms = tenancy::nowMs();
    try {
      svc.store->putNumber(n);
    } catch (const storage::StorageError& e) {
      if (e.status() != TG_ERR_CONFLICT) throw;
      throw ApiError(409, "conflict", fmt::format("{} is attached to another tenant", n.e164),
                     "e164");
    }
    svc.routes->invalidate(n.e164);
    return Response::json(201, numberJson(*svc.store->number(tenant.id, n.e164)));
  });

  router.add("GET", "/admin/v1/tenants/{id}/numbers", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    const auto tenant = existingTenant(svc, r.param("id"));
    Poco::JSON::Array list;
    for (const auto& n : svc.store->numbers(tenant.id)) list.add(numberJson(n));
    Poco::JSON::Object out;
    out.set("numbers", list);
    return Response::json(200, out);
  });

  router.add("DELETE", "/admin/v1/tenants/{id}/numbers/{e164}", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    const auto tenant = existingTenant(svc, r.param("id"));
    const auto e164 = numbers::normalizeE164(r.param("e164"));
    try {
      if (!e164) throw storage::StorageError(TG_ERR_NOT_FOUND, "");
      svc.store->detachNumber(tenant.id, *e164);
    } catch (const storage::StorageError& e) {
      if (e.status() != TG_ERR_NOT_FOUND) throw;
      throw ApiError(404, "not_found",
                     fmt::format("tenant {} has no number {}", tenant.id, r.param("e164")), "e164");
    }
    svc.routes->invalidate(*e164);
    return Response::noContent();
  });

  router.add("POST", "/admin/v1/tenants/{id}/twilio-accounts", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    const auto tenant = existingTenant(svc, r.param("id"));
    auto body = r.jsonBody();
    const std::string sid = requireString(*body, "account_sid", 34);
    if (!config::validAccountSid(sid)) {
      throw ApiError(400, "invalid_argument", "'account_sid' must be AC followed by 32 hex digits",
                     "account_sid");
    }
    if (sid == svc.accounts->masterSid()) {
      throw ApiError(400, "invalid_argument",
                     "that is the master account, configured in tollgate.ini", "account_sid");
    }
    const std::string token = requireString(*body, "auth_token", 128);
    if (token.size() < 16)
      throw ApiError(400, "invalid_argument", "'auth_token' is too short", "auth_token");
    const std::string name = optionalString(*body, "friendly_name", 100);
    try {
      svc.accounts->put(tenant.id, sid, token, name, tenancy::nowMs());
    } catch (const storage::StorageError& e) {
      if (e.status() != TG_ERR_CONFLICT) throw;
      throw ApiError(409, "conflict", fmt::format("{} belongs to another tenant", sid),
                     "account_sid");
    }
    svc.routes->invalidateTenant(tenant.id);
    Poco::JSON::Object out;
    out.set("account_sid", sid);
    out.set("tenant_id", tenant.id);
    out.set("friendly_name", name);
    return Response::json(201, out);
  });
}

}  // namespace tollgate::http
