// Prices API: what one unit of a product costs, asked of the pricing plugin. Tenants see their
// own price (GET /v1/prices); the admin any tenant's (GET /admin/v1/tenants/{id}/prices).
#include <fmt/format.h>

#include "billing/pricing.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "ledger/ledger.hpp"
#include "numbers/routes.hpp"

namespace tollgate::http {
namespace {

// The `number` parameter as E.164. A '+' sent unencoded in a query means a space, so a number
// that arrives as " 14155550100" was "+14155550100".
std::string numberParam(Request& r) {
  std::string raw = r.query("number");
  if (!raw.empty() && raw.front() == ' ') raw.front() = '+';
  if (raw.empty()) throw ApiError(400, "invalid_argument", "number: required (E.164)", "number");
  const auto e164 = numbers::normalizeE164(raw);
  if (!e164) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("number: '{}' is not a phone number in E.164 (+14155550100)", raw),
                   "number");
  }
  return *e164;
}

Response priceOf(Services& svc, Request& r, const std::string& tenant_id) {
  const std::string product_name = r.query("product");
  const auto product = billing::productNamed(product_name);
  if (!product) {
    throw ApiError(400, "invalid_argument",
                   fmt::format("product: '{}' is not one of sms_out, sms_in, voice_in_minute, "
                               "voice_out_minute, number_month",
                               product_name),
                   "product");
  }
  const std::string number = numberParam(r);
  const std::string number_type = r.query("number_type");
  if (number_type.size() > 32 ||
      number_type.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos) {
    throw ApiError(400, "invalid_argument",
                   "number_type: lower-case letters and '-' (local, mobile, toll-free)",
                   "number_type");
  }
  const billing::Quote q = svc.pricing->quote(tenant_id, r.requestId(), *product, number,
                                              number_type, svc.ledger->currency());
  switch (q.status) {
    case TG_OK:
      break;
    case TG_ERR_INVALID_ARGUMENT:
      throw ApiError(400, "invalid_argument", "number: " + q.error, "number");
    case TG_ERR_NOT_FOUND:
      throw ApiError(404, "not_found", q.error);
    case TG_ERR_UNAVAILABLE:
    case TG_ERR_DEADLINE:
      throw ApiError(503, "unavailable", q.error);
    default:
      throw ApiError(502, "pricing_failed", q.error);
  }
  Poco::JSON::Object out;
  out.set("product", product_name);
  out.set("number", number);
  out.set("country", q.country);
  out.set("number_type", number_type);
  out.set("amount_micros", q.amount_micros);
  out.set("currency", q.currency);
  return Response::json(200, out);
}

}  // namespace

void addPriceRoutes(Router& router, Services& svc) {
  router.add("GET", "/v1/prices", [&svc](Request& r) {
    svc.requireReady();
    const auto tenant = svc.auth->requireTenant(r);
    return priceOf(svc, r, tenant.id);
  });
  router.add("GET", "/admin/v1/tenants/{id}/prices", [&svc](Request& r) {
    svc.requireReady();
    svc.auth->requireAdmin(r);
    const auto t = svc.tenants->get(r.param("id"));
    if (!t) {
      throw ApiError(404, "not_found", fmt::format("no tenant '{}'", r.param("id")), "tenant_id");
    }
    return priceOf(svc, r, t->id);
  });
}

}  // namespace tollgate::http
