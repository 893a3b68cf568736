// Who is calling: the admin (one key, from a file or systemd credential) or a tenant (one of
// its API keys). Every tenant endpoint takes the tenant from the key, never from the request.
#pragma once

#include <string>

#include "http/router.hpp"
#include "storage/store.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::http {

class Auth {
 public:
  Auth(tenancy::Tenants& tenants, const std::string& admin_key);

  // 401 unless the request carries "Authorization: Bearer <admin key>".
  void requireAdmin(Request& r) const;

  // The calling tenant. 401 for a missing, unknown or revoked key; 403 for a tenant that is
  // suspended or closed.
  storage::Tenant requireTenant(Request& r) const;

 private:
  tenancy::Tenants& tenants_;
  std::string admin_key_sha256_;
};

}  // namespace tollgate::http
