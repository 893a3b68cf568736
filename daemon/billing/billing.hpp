// The billing providers (plugins of the billing kind: billing-manual, billing-stripe), called
// by the core under each plugin's deadline on its own lane. The core records what a provider
// says in the ledger; a provider never touches the ledger itself (abi/billing.h).
#pragma once

#include <tollgate/abi/billing.h>

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::plugins {
class Plugin;
class PluginHost;
}  // namespace tollgate::plugins

namespace tollgate::billing {

struct Payment {
  tg_status status = TG_ERR_INTERNAL;  // of the call; TG_OK: the fields below are the answer
  tg_payment_state state = TG_PAYMENT_FAILED;
  std::string provider_ref;
  int64_t amount_micros = 0;
  std::string currency;
  std::string failure;  // the provider's decline reason for TG_PAYMENT_FAILED
  std::string error;    // why the call failed, when status is not TG_OK
};

struct ChargeRequest {
  std::string tenant_id, request_id;
  std::string customer_ref;
  int64_t amount_micros = 0;
  std::string currency;
  std::string idempotency_key;  // required: the provider passes it on, so a retry charges once
  std::string description;
};

// The ledger key of the top-up a provider's payment pays for: the same whoever credits it
// first (the call that charged, or the provider's webhook), so it is credited once.
std::string paymentLedgerKey(std::string_view provider_id, std::string_view payment_ref);

// A customer's saved payment method, as the provider reports it (no card data but these).
struct PaymentMethod {
  std::string ref, brand, last4;
  int exp_month = 0, exp_year = 0;
  bool is_default = false;
};

struct MethodsRequest {
  std::string tenant_id, request_id;
  std::string customer_ref;
  tg_payment_method_action action = TG_PM_LIST;
  std::string method_ref;       // ATTACH, SET_DEFAULT, DETACH
  bool make_default = false;    // ATTACH
  std::string idempotency_key;  // ATTACH, SET_DEFAULT, DETACH: required
};

struct Methods {
  tg_status status = TG_ERR_INTERNAL;  // of the call; TG_OK: `methods` is the answer
  std::vector<PaymentMethod> methods;
  std::string error;  // why the call failed, when status is not TG_OK
};

class Billing {
 public:
  // Every billing plugin `host` has loaded.
  explicit Billing(plugins::PluginHost& host);

  // The provider called `id`, or null.
  plugins::Plugin* provider(std::string_view id) const;
  std::vector<std::string> providerIds() const;

  // Registers the tenant as a customer of the provider; provider_ref is its id there. Only
  // tenant_id, request_id and description (the customer's display name) of `request` are used.
  Payment registerCustomer(plugins::Plugin& provider, const ChargeRequest& request) const;
  Payment charge(plugins::Plugin& provider, const ChargeRequest& request) const;
  Payment refund(plugins::Plugin& provider, const ChargeRequest& request,
                 const std::string& payment_ref) const;
  // The customer's saved payment methods at the provider (ABI 1.6): TG_ERR_UNSUPPORTED when the
  // provider has no payment_methods callback (built for 1.5 or older, or one that left it null).
  Methods paymentMethods(plugins::Plugin& provider, const MethodsRequest& request) const;

 private:
  std::vector<plugins::Plugin*> providers_;
};

}  // namespace tollgate::billing
