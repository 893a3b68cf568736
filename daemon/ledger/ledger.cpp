#include "ledger/ledger.hpp"

#include <fmt/format.h>

namespace tollgate::ledger {

void Ledger::ensureWallet(const std::string& tenant_id, int64_t now_ms) {
  if (store_.wallet(tenant_id, currency_)) return;
  try {
    store_.createWallet(storage::Wallet{.tenant_id = tenant_id,
                                        .currency = currency_,
                                        .balance_micros = 0,
                                        .credit_limit_micros = credit_limit_,
                                        .created_at_ms = now_ms});
  } catch (const storage::StorageError& e) {
    if (e.status() != TG_ERR_CONFLICT) throw;  // another daemon created it meanwhile
  }
}

size_t Ledger::ensureWallets(int64_t now_ms) {
  size_t created = 0;
  std::string after;
  for (;;) {
    const auto page = store_.tenants(after, 1000);
    for (const auto& t : page) {
      if (store_.wallet(t.id, currency_)) continue;
      ensureWallet(t.id, now_ms);
      ++created;
    }
    if (page.size() < 1000) return created;
    after = page.back().id;
  }
}

VerifyReport Ledger::verify(const std::optional<std::string>& tenant_id) {
  VerifyReport report;
  auto check = [&](const std::string& id) {
    if (auto w = store_.wallet(id, currency_)) verifyWallet(*w, report);
  };
  if (tenant_id) {
    check(*tenant_id);
    return report;
  }
  std::string after;
  for (;;) {
    const auto page = store_.tenants(after, 1000);
    for (const auto& t : page) check(t.id);
    if (page.size() < 1000) return report;
    after = page.back().id;
  }
}

void Ledger::verifyWallet(const storage::Wallet& w, VerifyReport& report) {
  ++report.wallets;
  auto mismatch = [&](int64_t seq, std::string problem) {
    report.mismatches.push_back(Mismatch{.tenant_id = w.tenant_id,
                                         .currency = w.currency,
                                         .seq = seq,
                                         .problem = std::move(problem)});
  };
  int64_t sum = 0;    // of the amounts: what the balance must be
  int64_t chain = 0;  // the balance_after before the entry at hand (0 before the first)
  int64_t last_seq = 0;
  bool overflow = false;
  for (;;) {
    const auto page = store_.ledger(w.tenant_id, w.currency, last_seq, 1000);
    for (const auto& e : page) {
      ++report.entries;
      if (e.seq <= last_seq) {
        mismatch(e.seq, fmt::format("seq {} does not follow {}", e.seq, last_seq));
      }
      int64_t expected = 0;
      if (__builtin_add_overflow(sum, e.amount_micros, &sum) ||
          __builtin_add_overflow(chain, e.amount_micros, &expected)) {
        overflow = true;
      }
      if (e.balance_after_micros != expected) {
        mismatch(e.seq, fmt::format("balance_after is {}; the entry before it and its amount {} "
                                    "make {}",
                                    e.balance_after_micros, e.amount_micros, expected));
      }
      chain = e.balance_after_micros;  // each break reported once, not at every entry after it
      last_seq = e.seq;
    }
    if (page.size() < 1000) break;
  }
  if (overflow) mismatch(0, "the sum of the entries overflows int64");
  if (w.balance_micros != sum) {
    mismatch(0, fmt::format("the balance is {}; its entries sum to {}", w.balance_micros, sum));
  }
  if (w.balance_micros != chain) {
    mismatch(0, fmt::format("the balance is {}; the last entry's balance_after is {}",
                            w.balance_micros, chain));
  }
  if (!store_.hasHolds()) return;  // a plugin older than ABI 1.4 has none
  int64_t held = 0;
  storage::HoldQuery q{.currency = w.currency,
                       .status = TG_HOLD_ACTIVE,
                       .hold_id = "",
                       .after_id = "",
                       .limit = 1000};
  for (;;) {
    const auto page = store_.holds(w.tenant_id, q);
    for (const auto& h : page) {
      ++report.holds;
      if (__builtin_add_overflow(held, h.amount_micros, &held)) {
        mismatch(0, "the active holds' amounts overflow int64");
        return;
      }
    }
    if (page.size() < q.limit) break;
    q.after_id = page.back().hold_id;
  }
  if (w.held_micros != held) {
    mismatch(0,
             fmt::format("the held total is {}; the active holds sum to {}", w.held_micros, held));
  }
}

}  // namespace tollgate::ledger
