// Auto-recharge (issue 25): when a debit takes a wallet's available balance under its
// profile's threshold, charge the tenant's default payment method once for the profile's
// amount, and credit the wallet with what the provider took.
//
// One recharge of a wallet at a time, however many debits cross the threshold at once and
// however many daemons share the storage: debits only queue the wallet for a check (a wallet
// already queued is not queued twice), one thread checks, and the check begins a recharge
// only through the storage's lease (recharge_begin), which one caller wins. The payment's
// idempotency key is the lease's (tenant, currency, started_at), so a retry of the same
// recharge (an answer lost to a timeout) charges once. A failure is recorded in the profile
// and holds back the next recharge (backoff, doubled per failure in a row); a payment the
// provider confirms later (pending) keeps the lease until the provider's webhook credits it or
// the lease runs out. Usage is never blocked by any of it: the check runs after the debit, off
// the caller's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "billing/billing.hpp"
#include "storage/store.hpp"

namespace tollgate::billing {

struct RechargeOptions {
  std::chrono::milliseconds lease{std::chrono::minutes(10)};
  std::chrono::milliseconds backoff{std::chrono::minutes(1)};  // after a first failure
  // Attempts of one recharge whose outcome is unknown or whose provider did not answer, with
  // the same key, before it counts as failed.
  int attempts = 3;
};

class AutoRecharge {
 public:
  AutoRecharge(storage::Store& store, const Billing& billing, std::string currency,
               RechargeOptions options);
  ~AutoRecharge();  // stops the thread after the check in progress
  AutoRecharge(const AutoRecharge&) = delete;
  AutoRecharge& operator=(const AutoRecharge&) = delete;

  // The tenant's available balance went down: check its wallet soon. Cheap, never blocks on
  // storage or a provider.
  void spent(std::string_view tenant_id);

  // Checks the tenant's wallet now, on the caller's thread, and recharges it if it is due.
  void check(const std::string& tenant_id);

  // Waits until every queued check is done (tests).
  void drain();

  // The provider's webhook says how a payment it had left pending ended: `key` is the payment's
  // idempotency key (Stripe: metadata[tollgate_key]). If it is one of this wallet's recharges,
  // its lease ends now (a success; or a failure, `why`, with the backoff) instead of running out.
  // Any other key is not a recharge's: false.
  bool settled(const std::string& tenant_id, std::string_view key, bool succeeded,
               const std::string& why);

  // The idempotency key of the recharge under the lease begun at `started_at_ms`.
  static std::string keyOf(std::string_view tenant_id, std::string_view currency,
                           int64_t started_at_ms);

  uint64_t charged() const { return charged_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  void loop();
  // Charges `profile`'s provider under the lease begun at `started`; ends the lease.
  void recharge(const storage::BillingProfile& profile, int64_t started);
  void fail(const storage::BillingProfile& profile, int64_t started, const std::string& why);

  storage::Store& store_;
  const Billing& billing_;
  const std::string currency_;
  const RechargeOptions options_;

  std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::deque<std::string> queue_;
  std::set<std::string, std::less<>> queued_;
  bool busy_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> charged_{0}, failed_{0};
  std::thread thread_;
};

}  // namespace tollgate::billing
