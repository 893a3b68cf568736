// The core's ledger: every tenant's prepaid wallet, money moved only through the storage
// plugin's ledger_apply (append-only entries, each with its balance_after, one idempotency key
// per apply), and the audit that checks what storage holds against those rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace tollgate::ledger {

// What `verify` found wrong in one wallet.
struct Mismatch {
  std::string tenant_id;
  std::string currency;
  int64_t seq = 0;  // the entry concerned; 0 for the wallet's balance
  std::string problem;
};

struct VerifyReport {
  uint64_t wallets = 0;
  uint64_t entries = 0;
  uint64_t holds = 0;                // active holds checked
  std::vector<Mismatch> mismatches;  // empty: every wallet is consistent
};

class Ledger {
 public:
  Ledger(storage::Store& store, std::string currency, int64_t credit_limit_micros)
      : store_(store), currency_(std::move(currency)), credit_limit_(credit_limit_micros) {}

  const std::string& currency() const { return currency_; }

  // Creates the tenant's wallet in the configured currency unless it has one. Called when a
  // tenant is created, and at start for every tenant (a crash between the two leaves none).
  void ensureWallet(const std::string& tenant_id, int64_t now_ms);
  // ensureWallet for every tenant; returns how many wallets it created.
  size_t ensureWallets(int64_t now_ms);

  // The wallet in the configured currency, or nullopt.
  std::optional<storage::Wallet> wallet(const std::string& tenant_id) {
    return store_.wallet(tenant_id, currency_);
  }

  // Checks one tenant's wallet (or every tenant's): entries in increasing seq; each
  // balance_after the one before plus its amount, from 0; the wallet's balance the last
  // balance_after and the sum of the amounts; its held total the sum of its active holds.
  VerifyReport verify(const std::optional<std::string>& tenant_id);

 private:
  void verifyWallet(const storage::Wallet& w, VerifyReport& report);

  storage::Store& store_;
  std::string currency_;
  int64_t credit_limit_;
};

}  // namespace tollgate::ledger
