#include "billing/auto_recharge.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "ops/untrusted.hpp"
#include "plugins/plugin_host.hpp"
#include "tenancy/tenants.hpp"

namespace tollgate::billing {

AutoRecharge::AutoRecharge(storage::Store& store, const Billing& billing, std::string currency,
                           RechargeOptions options)
    : store_(store),
      billing_(billing),
      currency_(std::move(currency)),
      options_(options),
      thread_([this] { loop(); }) {}

AutoRecharge::~AutoRecharge() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AutoRecharge::spent(std::string_view tenant_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queued_.contains(tenant_id)) return;
    queued_.emplace(tenant_id);
    queue_.emplace_back(tenant_id);
  }
  wake_.notify_one();
}

void AutoRecharge::drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return stopping_ || (queue_.empty() && !busy_); });
}

void AutoRecharge::loop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    const std::string tenant = std::move(queue_.front());
    queue_.pop_front();
    // Out of the queue before the check reads the wallet: a debit from now on queues it again.
    queued_.erase(tenant);
    busy_ = true;
    lock.unlock();
    try {
      check(tenant);
    } catch (const std::exception& e) {
      spdlog::error("auto-recharge: checking tenant {}'s {} wallet failed: {}", tenant, currency_,
                    e.what());
    }
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

void AutoRecharge::check(const std::string& tenant_id) {
  const auto profile = store_.billingProfile(tenant_id, currency_);
  if (!profile || profile->recharge_amount_micros <= 0) return;
  const auto wallet = store_.wallet(tenant_id, currency_);
  if (!wallet || wallet->availableMicros() >= profile->recharge_threshold_micros) return;
  const int64_t started = store_.beginRecharge(
      tenant_id, currency_, tenancy::nowMs(),
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease).count());
  if (started == 0) return;  // one is in flight, or failures hold it back
  recharge(*profile, started);
}

void AutoRecharge::recharge(const storage::BillingProfile& profile, int64_t started) {
  plugins::Plugin* provider = billing_.provider(profile.provider);
  if (provider == nullptr || profile.customer_ref.empty()) {
    fail(profile, started,
         provider == nullptr ? fmt::format("billing provider '{}' is not loaded", profile.provider)
                             : "no customer at the billing provider: add a payment method");
    return;
  }
  const ChargeRequest request{.tenant_id = profile.tenant_id,
                              .request_id = fmt::format("auto-recharge-{}", started),
                              .customer_ref = profile.customer_ref,
                              .amount_micros = profile.recharge_amount_micros,
                              .currency = currency_,
                              .idempotency_key = keyOf(profile.tenant_id, currency_, started),
                              .description = "Tollgate auto-recharge"};
  Payment paid;
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    paid = billing_.charge(*provider, request);
    const bool retry = paid.status == TG_ERR_UNAVAILABLE || paid.status == TG_ERR_DEADLINE ||
                       paid.status == TG_ERR_OUTCOME_UNKNOWN;
    if (!retry || attempt == options_.attempts) break;
    // The same key again: if the first attempt did charge, the provider answers with it.
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, std::chrono::seconds(attempt), [&] { return stopping_; })) break;
  }
  if (paid.status != TG_OK) {
    fail(profile, started, paid.error);
    return;
  }
  if (paid.state == TG_PAYMENT_FAILED) {
    fail(profile, started, fmt::format("{} declined: {}", provider->id(), paid.failure));
    return;
  }
  if (paid.state == TG_PAYMENT_PENDING) {
    // The lease stays: the provider's webhook credits the payment when it is confirmed, and the
    // lease's end lets the next recharge begin.
    spdlog::info("auto-recharge: {} payment {} for tenant {} is pending; credited when confirmed",
                 provider->id(), ops::untrusted(paid.provider_ref), profile.tenant_id);
    return;
  }
  const storage::LedgerEntryIn entry{.kind = TG_ENTRY_TOPUP,
                                     .amount_micros = paid.amount_micros,
                                     .reference = paid.provider_ref,
                                     .description = "Auto-recharge"};
  const storage::ApplyResult res = store_.applyLedger(
      profile.tenant_id, currency_, paymentLedgerKey(provider->id(), paid.provider_ref), {entry},
      tenancy::nowMs());
  store_.endRecharge(profile.tenant_id, storage::RechargeEnd{.currency = currency_,
                                                             .started_at_ms = started,
                                                             .failed = false,
                                                             .error = "",
                                                             .retry_at_ms = 0,
                                                             .now_ms = tenancy::nowMs()});
  ++charged_;
  spdlog::info("auto-recharge: {} {} micros to tenant {} ({} {}), balance {}",
               res.outcome == TG_APPLY_APPLIED ? "credited" : "already credited",
               paid.amount_micros, profile.tenant_id, provider->id(),
               ops::untrusted(paid.provider_ref), res.balance_micros);
}

std::string AutoRecharge::keyOf(std::string_view tenant_id, std::string_view currency,
                                int64_t started_at_ms) {
  return fmt::format("auto-recharge:{}:{}:{}", tenant_id, currency, started_at_ms);
}

bool AutoRecharge::settled(const std::string& tenant_id, std::string_view key, bool succeeded,
                           const std::string& why) {
  const std::string prefix = keyOf(tenant_id, currency_, 0);
  const std::string_view stem(prefix.data(), prefix.size() - 1);  // without the "0"
  if (key.substr(0, stem.size()) != stem) return false;
  const std::string_view digits = key.substr(stem.size());
  int64_t started = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), started);
  if (ec != std::errc() || end != digits.data() + digits.size() || started <= 0) return false;
  const auto profile = store_.billingProfile(tenant_id, currency_);
  if (!profile) return false;
  if (succeeded) {
    // Counted once: a recharge that succeeded at once was ended (and counted) by recharge().
    if (store_.endRecharge(tenant_id, storage::RechargeEnd{.currency = currency_,
                                                           .started_at_ms = started,
                                                           .failed = false,
                                                           .error = "",
                                                           .retry_at_ms = 0,
                                                           .now_ms = tenancy::nowMs()})) {
      ++charged_;
    }
  } else {
    fail(*profile, started, why);
  }
  return true;
}

void AutoRecharge::fail(const storage::BillingProfile& profile, int64_t started,
                        const std::string& why) {
  // Doubled per failure in a row, at most 64 times the first wait.
  const int doublings = std::clamp(profile.recharge_failures, 0, 6);
  const auto wait = options_.backoff * (int64_t{1} << doublings);
  const int64_t now = tenancy::nowMs();
  const int64_t retry_at =
      now + std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  const bool ended = store_.endRecharge(profile.tenant_id,
                                        storage::RechargeEnd{.currency = currency_,
                                                             .started_at_ms = started,
                                                             .failed = true,
                                                             .error = why.empty() ? "failed" : why,
                                                             .retry_at_ms = retry_at,
                                                             .now_ms = now});
  if (!ended) return;  // taken over, or ended already: its end is recorded
  ++failed_;
  spdlog::warn("auto-recharge of tenant {}'s {} wallet failed ({} in a row): {}; next try in {} s",
               profile.tenant_id, currency_, profile.recharge_failures + 1,
               ops::untrusted(why, 300),
               std::chrono::duration_cast<std::chrono::seconds>(wait).count());
}

}  // namespace tollgate::billing
