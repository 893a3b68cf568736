// Tenants and their API keys. A key is "tgk_<id>_<secret>": the id finds the stored row, the
// secret is kept only as its SHA-256 (it is 256 random bits, so a slow hash adds nothing).
// The whole key is shown once, when issued.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.hpp"

namespace tollgate::tenancy {

struct IssuedKey {
  storage::ApiKey row;
  std::string token;  // the full key; never stored
};

// A key split into its parts, or nullopt if it does not have the shape of one.
struct ParsedKey {
  std::string id;      // "key_<16 hex>"
  std::string secret;  // 64 hex
};
std::optional<ParsedKey> parseKey(std::string_view token);

class Tenants {
 public:
  explicit Tenants(storage::Store& store) : store_(store) {}

  storage::Tenant create(const std::string& name);
  std::optional<storage::Tenant> get(std::string_view id) { return store_.tenant(id); }
  std::vector<storage::Tenant> list(std::string_view after_id, uint32_t limit) {
    return store_.tenants(after_id, limit);
  }
  void setStatus(std::string_view id, tg_tenant_status status);

  IssuedKey issueKey(std::string_view tenant_id, const std::string& label);
  std::vector<storage::ApiKey> keys(std::string_view tenant_id) {
    return store_.apiKeys(tenant_id);
  }
  void revokeKey(std::string_view tenant_id, std::string_view key_id);

  // The tenant a presented key belongs to, if the key exists, matches and is not revoked.
  std::optional<storage::ApiKey> authenticate(std::string_view token);

 private:
  storage::Store& store_;
};

int64_t nowMs();
const char* statusName(tg_tenant_status s);
std::optional<tg_tenant_status> parseStatus(std::string_view s);

}  // namespace tollgate::tenancy
