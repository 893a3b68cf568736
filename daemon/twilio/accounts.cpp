#include "twilio/accounts.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace tollgate::twilio {
namespace {

constexpr int kNonce = 12;
constexpr int kTag = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx newCtx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return ctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

TokenVault::TokenVault(std::string key32) : key_(std::move(key32)) {
  if (key_.size() != 32) throw std::runtime_error("token key must be 32 bytes");
}

TokenVault TokenVault::fromHex(std::string_view hex) {
  if (hex.size() != 64) throw std::runtime_error("token key must be 64 hex digits");
  std::string key;
  for (size_t i = 0; i < 64; i += 2) {
    const std::string byte(hex.substr(i, 2));
    size_t used = 0;
    const unsigned long v = std::stoul(byte, &used, 16);
    if (used != 2) throw std::runtime_error("token key must be 64 hex digits");
    key.push_back(static_cast<char>(v));
  }
  return TokenVault(std::move(key));
}

std::string TokenVault::seal(std::string_view account_sid, std::string_view token) const {
  std::string out(kNonce + token.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(o, kNonce) != 1) throw std::runtime_error("RAND_bytes failed");
  auto ctx = newCtx();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(account_sid),
                        static_cast<int>(account_sid.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kNonce, &len, bytes(token),
                        static_cast<int>(token.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonce + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + token.size()) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  return out;
}

std::string TokenVault::open(std::string_view account_sid, std::string_view sealed) const {
  if (sealed.size() < static_cast<size_t>(kNonce + kTag)) {
    throw std::runtime_error("sealed token is too short");
  }
  const size_t n = sealed.size() - kNonce - kTag;
  std::string out(n, '\0');
  auto ctx = newCtx();
  int len = 0;
  std::string tag(sealed.substr(kNonce + n));
  const bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_), bytes(sealed)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(account_sid),
                        static_cast<int>(account_sid.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        bytes(sealed) + kNonce, static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok)
    throw std::runtime_error("sealed token does not open with this key (tampered or wrong key)");
  return out;
}

Accounts::Accounts(storage::Store& store, TokenVault vault, std::string master_sid,
                   std::string master_token, std::chrono::milliseconds cache_ttl)
    : store_(store),
      vault_(std::move(vault)),
      master_sid_(std::move(master_sid)),
      master_token_(std::move(master_token)),
      cache_ttl_(cache_ttl) {}

std::optional<std::string> Accounts::cached(const std::string& sid,
                                            std::chrono::milliseconds max_age) {
  std::lock_guard lock(mu_);
  const auto it = cache_.find(sid);
  if (it == cache_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.loaded_at >= max_age) {
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.token;
}

void Accounts::remember(const std::string& sid, std::string token) {
  if (cache_ttl_.count() <= 0) return;
  std::lock_guard lock(mu_);
  cache_[sid] = Cached{std::move(token), std::chrono::steady_clock::now()};
}

std::optional<std::string> Accounts::authToken(std::string_view account_sid, Freshness freshness) {
  if (!master_sid_.empty() && account_sid == master_sid_ && !master_token_.empty()) {
    return master_token_;
  }
  const std::string sid(account_sid);
  if (freshness != Freshness::kReload) {
    const auto max_age = freshness == Freshness::kCached ? cache_ttl_ : kRecheckInterval;
    if (auto token = cached(sid, max_age)) return token;
  }
  auto row = store_.twilioAccount("", account_sid);
  if (!row) {
    std::lock_guard lock(mu_);
    cache_.erase(sid);
    return std::nullopt;
  }
  std::string token = vault_.open(account_sid, row->auth_token_enc);
  remember(sid, token);
  return token;
}

void Accounts::put(std::string_view tenant_id, std::string_view account_sid, std::string_view token,
                   std::string_view friendly_name, int64_t now_ms) {
  storage::TwilioAccount a{std::string(account_sid),
                           std::string(tenant_id),
                           vault_.seal(account_sid, token),
                           std::string(friendly_name),
                           true,
                           now_ms};
  store_.putTwilioAccount(a);
  remember(std::string(account_sid), std::string(token));
}

}  // namespace tollgate::twilio
