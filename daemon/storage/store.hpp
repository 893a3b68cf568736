// The storage interface the core sees: typed C++ over the storage plugin's C vtable.
// Every call goes through the plugin host's accounting (calls, errors, deadline overruns) and
// turns a non-OK status into StorageError carrying the status and the plugin's message.
#pragma once

#include <tollgate/abi/storage.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::plugins {
class Plugin;
}

namespace tollgate::storage {

struct Tenant {
  std::string id;
  std::string name;
  tg_tenant_status status = TG_TENANT_ACTIVE;
  int64_t created_at_ms = 0;
};

struct ApiKey {
  std::string id;
  std::string tenant_id;
  std::string secret_sha256;
  std::string label;
  int64_t created_at_ms = 0;
  int64_t revoked_at_ms = 0;
};

struct Wallet {
  std::string tenant_id;
  std::string currency;
  int64_t balance_micros = 0;
  int64_t credit_limit_micros = 0;
  int64_t created_at_ms = 0;
};

struct LedgerEntryIn {
  tg_entry_kind kind = TG_ENTRY_CHARGE;
  int64_t amount_micros = 0;
  std::string reference;
  std::string description;
};

struct LedgerEntry {
  int64_t seq = 0;
  std::string tenant_id;
  std::string currency;
  tg_entry_kind kind = TG_ENTRY_CHARGE;
  int64_t amount_micros = 0;
  int64_t balance_after_micros = 0;
  std::string idempotency_key;
  std::string reference;
  std::string description;
  int64_t created_at_ms = 0;
};

struct ApplyResult {
  tg_apply_outcome outcome = TG_APPLY_INSUFFICIENT_FUNDS;
  int64_t balance_micros = 0;
  int64_t first_seq = 0;
};

struct IdempotencyRecord {
  std::string tenant_id;
  std::string scope;
  std::string key;
  std::string request_hash;
  int32_t response_status = 0;
  std::string response_body;
  int64_t created_at_ms = 0;
};

class StorageError : public std::runtime_error {
 public:
  StorageError(tg_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  tg_status status() const noexcept { return status_; }

 private:
  tg_status status_;
};

class Store {
 public:
  explicit Store(plugins::Plugin& plugin);

  int64_t migrate();

  void createTenant(const Tenant& t);
  std::optional<Tenant> tenant(std::string_view id);
  std::vector<Tenant> tenants(std::string_view after_id, uint32_t limit);
  void setTenantStatus(std::string_view id, tg_tenant_status status);

  void createApiKey(const ApiKey& k);
  std::optional<ApiKey> apiKey(std::string_view key_id);  // across tenants
  std::vector<ApiKey> apiKeys(std::string_view tenant_id);
  void revokeApiKey(std::string_view tenant_id, std::string_view key_id, int64_t at_ms);

  void createWallet(const Wallet& w);
  std::optional<Wallet> wallet(std::string_view tenant_id, std::string_view currency);
  ApplyResult applyLedger(std::string_view tenant_id, std::string_view currency,
                          std::string_view idempotency_key,
                          const std::vector<LedgerEntryIn>& entries, int64_t now_ms);
  std::vector<LedgerEntry> ledger(std::string_view tenant_id, std::string_view currency,
                                  int64_t after_seq, uint32_t limit);

  // Returns nullopt when this call claimed the key, else the record stored earlier.
  std::optional<IdempotencyRecord> claimIdempotency(const IdempotencyRecord& r);
  void completeIdempotency(std::string_view tenant_id, std::string_view scope, std::string_view key,
                           int32_t response_status, std::string_view response_body);

  plugins::Plugin& plugin() { return plugin_; }

 private:
  template <class Fn>
  void call(std::string_view op, std::string_view tenant_id, Fn&& fn);

  plugins::Plugin& plugin_;
  const tg_storage_vtable* vt_;
};

}  // namespace tollgate::storage
