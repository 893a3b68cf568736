// billing-stripe: customers, off-session PaymentIntents and refunds on Stripe, through the
// host's HTTP client (verified TLS, the call's deadline). Every POST carries an Idempotency-Key
// derived from the core's key, so a retry (after a timeout whose outcome is unknown, or a crash)
// charges once: Stripe answers a repeated key with the first answer. A charge is made on the
// customer's default payment method (invoice_settings.default_payment_method).
//
// What Stripe says maps to the billing ABI: a PaymentIntent that succeeded is SUCCEEDED; one
// that needs the customer or is processing is PENDING (the payment_intent.succeeded webhook
// credits it later); a decline (402) or a canceled intent is FAILED with Stripe's code and
// message. 429 and 5xx are TG_ERR_UNAVAILABLE (retry with the same key); a request Stripe
// refuses as malformed is TG_ERR_INVALID_ARGUMENT; a refused key TG_ERR_INTERNAL.
#include <tollgate/sdk/money.hpp>
#include <tollgate/sdk/plugin.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

#include "stripe_api.hpp"

namespace tollgate::plugins::billing {
namespace {

using sdk::configKey;
using sdk::lit;

std::string secretKey(const sdk::Host& host) {
  const std::string setting = host.configOr("secret_key_file", "");
  if (setting.empty()) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.secret_key_file: required");
  }
  const std::string path =
      setting.front() == '/' ? setting : std::string(host.stateDir()) + "/" + setting;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
    key.pop_back();
  }
  if (!in || key.empty()) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.secret_key_file: cannot read " + path + " (or it is empty)");
  }
  if (key.rfind("sk_", 0) != 0 && key.rfind("rk_", 0) != 0) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.secret_key_file: " + path +
                         " does not hold a Stripe secret or restricted key (sk_... or rk_...)");
  }
  return key;
}

std::string baseUrl(const sdk::Host& host) {
  std::string url = host.configOr("base_url", "https://api.stripe.com");
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.base_url: '" + url + "' is not an http(s) URL");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string code(const tg_money& m) { return std::string(m.currency, strnlen(m.currency, 4)); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

class BillingStripe : public sdk::BillingPlugin {
 public:
  explicit BillingStripe(sdk::Host host)
      : BillingPlugin(host),
        auth_("Bearer " + secretKey(host)),
        base_(baseUrl(host)),
        version_(host.configOr("stripe_version", "")) {
    host.info("Stripe at " + base_ + (version_.empty() ? "" : ", API version " + version_));
  }

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("secret_key_file"), TG_CONFIG_PATH, true, lit(""),
                  lit("file holding the Stripe secret key (sk_live_..., sk_test_... or a "
                      "restricted rk_...); relative paths are relative to the state directory")),
        configKey(lit("base_url"), TG_CONFIG_STRING, false, lit("https://api.stripe.com"),
                  lit("where Stripe's API answers")),
        configKey(lit("stripe_version"), TG_CONFIG_STRING, false, lit(""),
                  lit("Stripe-Version header to pin an API version; empty: the account's")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  Result registerCustomer(const sdk::CallContext& ctx, const tg_billing_customer& c) override {
    const std::string tenant(ctx.tenant_id);
    Form form = {{"name", std::string(sdk::view(c.display_name))}, {"metadata[tenant_id]", tenant}};
    if (!sdk::view(c.email).empty()) form.emplace_back("email", std::string(sdk::view(c.email)));
    const sdk::HttpResponse r = post(ctx, "/v1/customers", form, "tollgate-customer-" + tenant);
    if (r.status != 200) return failed(r);
    return Result{TG_PAYMENT_SUCCEEDED, idOf(r.body), {}, {}};
  }

  Result charge(const sdk::CallContext& ctx, const tg_billing_charge& c) override {
    const std::string customer(sdk::view(c.customer_ref));
    const std::string key(sdk::view(c.idempotency_key));
    if (customer.rfind("cus_", 0) != 0) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                       "customer_ref: '" + customer + "' is not a Stripe customer (cus_...)");
    }
    if (key.empty()) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "idempotency_key: required");
    const auto minor = minorUnits(c.amount);
    // The customer's default payment method: an off-session charge must name one.
    const sdk::HttpResponse got = send(ctx, "GET", "/v1/customers/" + customer, "", "");
    if (got.status != 200) return failed(got);
    const std::string method = defaultPaymentMethod(got.body);
    if (method.empty()) {
      return Result{TG_PAYMENT_FAILED, {}, {}, "the customer has no default payment method"};
    }
    const Form form = {{"amount", std::to_string(minor)},
                       {"currency", lower(code(c.amount))},
                       {"customer", customer},
                       {"payment_method", method},
                       {"confirm", "true"},
                       {"off_session", "true"},
                       {"description", std::string(sdk::view(c.description))},
                       {"metadata[tenant_id]", std::string(ctx.tenant_id)},
                       {"metadata[tollgate_key]", key}};
    const sdk::HttpResponse r = post(ctx, "/v1/payment_intents", form, key);
    if (r.status != 200) return failed(r);
    return result(parsePaymentIntent(r.body), c.amount);
  }

  Result refund(const sdk::CallContext& ctx, std::string_view payment_ref, tg_money amount,
                std::string_view key) override {
    if (payment_ref.rfind("pi_", 0) != 0) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "payment_ref: '" + std::string(payment_ref) +
                                                    "' is not a PaymentIntent (pi_...)");
    }
    if (key.empty()) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "idempotency_key: required");
    const Form form = {{"payment_intent", std::string(payment_ref)},
                       {"amount", std::to_string(minorUnits(amount))},
                       {"metadata[tenant_id]", std::string(ctx.tenant_id)},
                       {"metadata[tollgate_key]", std::string(key)}};
    const sdk::HttpResponse r = post(ctx, "/v1/refunds", form, std::string(key));
    if (r.status != 200) return failed(r);
    return result(parseRefund(r.body), amount);
  }

 private:
  static int64_t minorUnits(const tg_money& m) {
    const auto minor = sdk::toMinorUnits(m.amount_micros, code(m));
    if (m.amount_micros <= 0 || !minor) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                       "amount_micros: " + std::to_string(m.amount_micros) +
                           " is not a positive whole number of " + code(m) + "'s minor unit");
    }
    return *minor;
  }

  Result result(const StripeOutcome& o, const tg_money& asked) const {
    Result r{o.state, o.id, asked, o.failure};
    if (o.state == TG_PAYMENT_SUCCEEDED) {
      r.amount.amount_micros = sdk::fromMinorUnits(o.minor, code(asked)).value_or(0);
      sdk::setCode(r.amount.currency, o.currency.size() == 3 ? upper(o.currency) : code(asked));
    }
    return r;
  }

  static std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  // What an answer other than 200 means: a decline is a failed payment; the rest are errors.
  Result failed(const sdk::HttpResponse& r) const {
    const StripeOutcome o = parseError(r.body);
    if (r.status == 402) return Result{TG_PAYMENT_FAILED, o.id, {}, o.failure};
    const std::string what = "Stripe answered " + std::to_string(r.status) + ": " + o.failure;
    if (r.status == 429 || r.status >= 500) throw sdk::Error(TG_ERR_UNAVAILABLE, what);
    if (r.status == 401 || r.status == 403) throw sdk::Error(TG_ERR_INTERNAL, what);
    if (r.status == 404) throw sdk::Error(TG_ERR_NOT_FOUND, what);
    if (r.status == 409) throw sdk::Error(TG_ERR_CONFLICT, what);
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, what);
  }

  sdk::HttpResponse post(const sdk::CallContext& ctx, const std::string& path, const Form& form,
                         const std::string& key) const {
    return send(ctx, "POST", path, formEncode(form), key);
  }

  sdk::HttpResponse send(const sdk::CallContext& ctx, const std::string& method,
                         const std::string& path, const std::string& body,
                         const std::string& key) const {
    sdk::HttpRequest req;
    req.method = method;
    req.url = base_ + path;
    req.headers = {{"Authorization", auth_}, {"Accept", "application/json"}};
    if (method == "POST") {
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      req.headers.emplace_back("Idempotency-Key", key);
    }
    if (!version_.empty()) req.headers.emplace_back("Stripe-Version", version_);
    req.body = body;
    host().metricAdd("requests");
    return host().http(ctx, req);
  }

  const std::string auth_, base_, version_;
};

}  // namespace tollgate::plugins::billing

TOLLGATE_PLUGIN(tollgate::plugins::billing::BillingStripe, "billing-stripe", "1.0.0")
