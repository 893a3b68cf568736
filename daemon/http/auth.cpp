#include "http/auth.hpp"

#include "tenancy/secrets.hpp"

namespace tollgate::http {
namespace {

std::string bearer(Request& r) {
  const std::string h = r.header("Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (h.size() <= kScheme.size() || h.compare(0, kScheme.size(), kScheme) != 0) {
    throw ApiError(401, "unauthenticated", "missing 'Authorization: Bearer <key>' header");
  }
  return h.substr(kScheme.size());
}

}  // namespace

Auth::Auth(tenancy::Tenants& tenants, const std::string& admin_key)
    : tenants_(tenants), admin_key_sha256_(tenancy::sha256Hex(admin_key)) {}

void Auth::requireAdmin(Request& r) const {
  if (!tenancy::constantTimeEqual(tenancy::sha256Hex(bearer(r)), admin_key_sha256_)) {
    throw ApiError(401, "unauthenticated", "invalid admin key");
  }
}

storage::Tenant Auth::requireTenant(Request& r) const {
  auto key = tenants_.authenticate(bearer(r));
  if (!key) throw ApiError(401, "unauthenticated", "invalid or revoked API key");
  auto tenant = tenants_.get(key->tenant_id);
  if (!tenant) throw ApiError(401, "unauthenticated", "invalid or revoked API key");
  if (tenant->status != TG_TENANT_ACTIVE) {
    throw ApiError(403, "tenant_suspended",
                   std::string("tenant is ") + tenancy::statusName(tenant->status));
  }
  return *tenant;
}

}  // namespace tollgate::http
