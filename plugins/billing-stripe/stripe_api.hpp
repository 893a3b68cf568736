// The parts of Stripe's API that billing-stripe speaks, kept apart from the plugin so they can be
// tested alone: form encoding as Stripe's own libraries send it, amounts in the currency's minor
// unit, and what a PaymentIntent, a Refund, a PaymentMethod or an error body says.
#pragma once

#include <tollgate/abi/billing.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::plugins::billing {

using Form = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded, each byte outside A-Z a-z 0-9 - . _ ~ as %XX (a space too),
// except the brackets of keys such as metadata[tenant_id], which stay literal: what
// stripe-node and stripe-python send.
std::string formEncode(const Form& form);

// What a Stripe response body says, for the billing result.
struct StripeOutcome {
  tg_payment_state state = TG_PAYMENT_FAILED;
  std::string id;        // pi_..., re_..., cus_...
  int64_t minor = 0;     // amount_received (PaymentIntent) or amount (Refund)
  std::string currency;  // as Stripe wrote it (lower case)
  std::string failure;   // decline code or status, and Stripe's message
};

// A PaymentIntent: succeeded; processing or requires_action/_confirmation/_capture: pending (it
// is confirmed later, and the webhook credits it); requires_payment_method or canceled: failed,
// with the last payment error.
StripeOutcome parsePaymentIntent(std::string_view json);
// A Refund: succeeded; pending or requires_action: pending; failed or canceled: failed.
StripeOutcome parseRefund(std::string_view json);
// An error body {"error":{"type","code","decline_code","message","payment_intent":{"id"}}}:
// failure text "card_declined/insufficient_funds: Your card has insufficient funds."; the id of
// the PaymentIntent it carries, if any.
StripeOutcome parseError(std::string_view json);
// The customer's default payment method (invoice_settings.default_payment_method), or "".
std::string defaultPaymentMethod(std::string_view customer_json);
// Whether a customer body is that of a deleted customer ({"id":"cus_...","deleted":true}).
bool isDeletedCustomer(std::string_view customer_json);

// What a PaymentMethod says: its card (brand, last4 and expiry; empty or 0 for a method without
// a card) and the customer it is attached to ("" when none).
struct StripePaymentMethod {
  std::string id;        // pm_...
  std::string customer;  // cus_..., or "" when detached
  std::string brand;     // card.brand: visa, mastercard, amex, ... as Stripe names it
  std::string last4;     // card.last4
  int32_t exp_month = 0;
  int32_t exp_year = 0;
};
StripePaymentMethod parsePaymentMethod(std::string_view json);

// One page of a list of PaymentMethods ({"object":"list","data":[...],"has_more":...}).
struct StripePaymentMethodPage {
  std::vector<StripePaymentMethod> methods;
  bool has_more = false;
};
StripePaymentMethodPage parsePaymentMethodList(std::string_view json);
// The "id" of an object.
std::string idOf(std::string_view json);

}  // namespace tollgate::plugins::billing
