#include "tenancy/tenants.hpp"

#include <chrono>

#include "tenancy/secrets.hpp"

namespace tollgate::tenancy {
namespace {
constexpr std::string_view kPrefix = "tgk_";
constexpr size_t kIdHex = 16;
constexpr size_t kSecretHex = 64;

bool isHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* statusName(tg_tenant_status s) {
  switch (s) {
    case TG_TENANT_ACTIVE:
      return "active";
    case TG_TENANT_SUSPENDED:
      return "suspended";
    case TG_TENANT_CLOSED:
      return "closed";
    default:
      return "unknown";
  }
}

std::optional<tg_tenant_status> parseStatus(std::string_view s) {
  if (s == "active") return TG_TENANT_ACTIVE;
  if (s == "suspended") return TG_TENANT_SUSPENDED;
  if (s == "closed") return TG_TENANT_CLOSED;
  return std::nullopt;
}

std::optional<ParsedKey> parseKey(std::string_view token) {
  if (token.size() != kPrefix.size() + kIdHex + 1 + kSecretHex) return std::nullopt;
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string_view id = token.substr(kPrefix.size(), kIdHex);
  if (token[kPrefix.size() + kIdHex] != '_') return std::nullopt;
  const std::string_view secret = token.substr(kPrefix.size() + kIdHex + 1);
  if (!isHex(id) || !isHex(secret)) return std::nullopt;
  return ParsedKey{"key_" + std::string(id), std::string(secret)};
}

storage::Tenant Tenants::create(const std::string& name) {
  storage::Tenant t{"tn_" + randomHex(8), name, TG_TENANT_ACTIVE, nowMs()};
  store_.createTenant(t);
  return t;
}

void Tenants::setStatus(std::string_view id, tg_tenant_status status) {
  store_.setTenantStatus(id, status);
}

IssuedKey Tenants::issueKey(std::string_view tenant_id, const std::string& label) {
  const std::string id_hex = randomHex(kIdHex / 2);
  const std::string secret = randomHex(kSecretHex / 2);
  IssuedKey k;
  k.row = storage::ApiKey{
      "key_" + id_hex, std::string(tenant_id), sha256Hex(secret), label, nowMs(), 0};
  k.token = std::string(kPrefix) + id_hex + "_" + secret;
  store_.createApiKey(k.row);
  return k;
}

void Tenants::revokeKey(std::string_view tenant_id, std::string_view key_id) {
  store_.revokeApiKey(tenant_id, key_id, nowMs());
}

std::optional<storage::ApiKey> Tenants::authenticate(std::string_view token) {
  auto parsed = parseKey(token);
  if (!parsed) return std::nullopt;
  auto row = store_.apiKey(parsed->id);
  // Hash and compare even when the key is unknown, so timing does not tell which ids exist.
  const std::string presented = sha256Hex(parsed->secret);
  const bool match = constantTimeEqual(presented, row ? row->secret_sha256 : std::string(64, '0'));
  if (!row || !match || row->revoked_at_ms != 0) return std::nullopt;
  return row;
}

}  // namespace tollgate::tenancy
