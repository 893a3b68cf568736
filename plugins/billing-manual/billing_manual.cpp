// billing-manual: the billing provider behind the admin's credits. A manual payment (a bank
// transfer, a cheque, a goodwill credit) has already happened when the admin records it, so a
// charge succeeds at once, up to `max_charge_micros`, and is logged with its reason and key as
// the audit trail; a refund likewise. It is idempotent the only way a stateless provider can
// be: its reference is derived from the idempotency key, so a repeat answers the same.
#include <tollgate/sdk/plugin.hpp>

#include <string>

namespace tollgate::plugins::billing {
namespace {

using sdk::configKey;
using sdk::lit;

int64_t maxCharge(const sdk::Host& host) {
  const std::string v = host.configOr("max_charge_micros", "10000000000");
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(v) == 0) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.max_charge_micros: '" + v + "' must be a whole number > 0");
  }
  return std::stoll(v);
}

std::string amountText(const tg_money& m) {
  const int64_t v = m.amount_micros;
  std::string frac = std::to_string(v % 1000000);
  frac.insert(0, 6 - frac.size(), '0');
  return std::to_string(v / 1000000) + "." + frac + " " + std::string(m.currency);
}

}  // namespace

class BillingManual : public sdk::BillingPlugin {
 public:
  explicit BillingManual(sdk::Host host) : BillingPlugin(host), max_(maxCharge(host)) {}

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("max_charge_micros"), TG_CONFIG_INT, false, lit("10000000000"),
                  lit("the largest manual credit or refund, in micro-units (a typo guard)")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  Result registerCustomer(const sdk::CallContext& ctx, const tg_billing_customer&) override {
    return Result{TG_PAYMENT_SUCCEEDED, "manual:" + std::string(ctx.tenant_id), {}, {}};
  }

  Result charge(const sdk::CallContext& ctx, const tg_billing_charge& c) override {
    check(c.amount, sdk::view(c.idempotency_key));
    const std::string ref = "manual:" + std::string(sdk::view(c.idempotency_key));
    host().info("manual payment " + ref + " of " + amountText(c.amount) + " for tenant " +
                std::string(ctx.tenant_id) + ": " + std::string(sdk::view(c.description)));
    return Result{TG_PAYMENT_SUCCEEDED, ref, c.amount, {}};
  }

  Result refund(const sdk::CallContext& ctx, std::string_view payment_ref, tg_money amount,
                std::string_view key) override {
    check(amount, key);
    const std::string ref = "manual-refund:" + std::string(key);
    host().info("manual refund " + ref + " of " + amountText(amount) + " of " +
                std::string(payment_ref) + " for tenant " + std::string(ctx.tenant_id));
    return Result{TG_PAYMENT_SUCCEEDED, ref, amount, {}};
  }

 private:
  void check(const tg_money& amount, std::string_view key) const {
    if (amount.amount_micros <= 0 || amount.amount_micros > max_) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "amount_micros: a manual payment is from 1 to " +
                                                    std::to_string(max_) +
                                                    " (settings.max_charge_micros)");
    }
    if (key.empty()) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "idempotency_key: required");
  }

  const int64_t max_;
};

}  // namespace tollgate::plugins::billing

TOLLGATE_PLUGIN(tollgate::plugins::billing::BillingManual, "billing-manual", "1.0.0")
