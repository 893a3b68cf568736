// Which auth token signs a number's webhooks: the master account's (from configuration) or a
// tenant subaccount's (stored encrypted with AES-256-GCM; the key never touches storage).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.hpp"
#include "storage/store.hpp"

namespace tollgate::twilio {

// Seals tokens with AES-256-GCM: 12-byte random nonce || ciphertext || 16-byte tag, with the
// account SID as associated data so a sealed token cannot be moved to another account.
class TokenVault {
 public:
  explicit TokenVault(std::string key32);  // 32 raw bytes
  static TokenVault fromHex(std::string_view hex64);
  std::string seal(std::string_view account_sid, std::string_view token) const;
  // Throws std::runtime_error if the data was not sealed with this key for this account.
  std::string open(std::string_view account_sid, std::string_view sealed) const;

 private:
  std::string key_;
};

// kCached: a token decrypted less than the cache TTL ago will do. kReload: read it from
// storage now (another daemon may have rotated it) and refresh the cache. kRecheck: as
// kReload, unless it was read less than kRecheckInterval ago: what a failed signature asks
// for, since anyone can send one and each must not cost a storage read.
enum class Freshness { kCached, kReload, kRecheck };
inline constexpr std::chrono::milliseconds kRecheckInterval{1000};

class Accounts {
 public:
  // `cache_ttl`: how long a decrypted subaccount token is used before it is read again (0: never
  // cached). Bounds how long a token rotated through another daemon sharing the storage is
  // ignored here.
  Accounts(storage::Store& store, TokenVault vault, std::string master_sid,
           std::string master_token, std::chrono::milliseconds cache_ttl);

  // The auth token of `account_sid`, or nullopt if the gateway does not know that account.
  std::optional<std::string> authToken(std::string_view account_sid,
                                       Freshness freshness = Freshness::kCached);
  // Stores (or replaces) a tenant's subaccount and its token.
  void put(std::string_view tenant_id, std::string_view account_sid, std::string_view token,
           std::string_view friendly_name, int64_t now_ms);
  const std::string& masterSid() const { return master_sid_; }

 private:
  storage::Store& store_;
  TokenVault vault_;
  std::string master_sid_;
  std::string master_token_;
  struct Cached {
    std::string token;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::optional<std::string> cached(const std::string& sid, std::chrono::milliseconds max_age);
  void remember(const std::string& sid, std::string token);

  const std::chrono::milliseconds cache_ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // sid -> decrypted token
};

}  // namespace tollgate::twilio
