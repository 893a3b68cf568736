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
//
// A customer's saved cards (ABI 1.6) stay at Stripe: the plugin lists, attaches, makes default
// and detaches PaymentMethods by their ids, tokens that Stripe.js made in the customer's browser,
// and reports only brand, last four and expiry. A method is changed only after Stripe says it is
// this customer's.
#include <tollgate/sdk/money.hpp>
#include <tollgate/sdk/plugin.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

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

// A Stripe id that goes into a URL path: `prefix` and then only [A-Za-z0-9_], so that no '/',
// '?', '%' or '.' can reach another endpoint. Throws TG_ERR_INVALID_ARGUMENT naming `field`.
std::string stripeId(std::string_view ref, std::string_view field, std::string_view prefix,
                     std::string_view what) {
  bool ok = ref.size() > prefix.size() && ref.substr(0, prefix.size()) == prefix;
  for (size_t i = prefix.size(); ok && i < ref.size(); ++i) {
    const auto c = static_cast<unsigned char>(ref[i]);
    ok = std::isalnum(c) || c == '_';
  }
  if (!ok) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, std::string(field) + ": '" + std::string(ref) +
                                                  "' is not " + std::string(what) + " (" +
                                                  std::string(prefix) +
                                                  "... of letters, digits and _)");
  }
  return std::string(ref);
}

std::string customerId(std::string_view ref) {
  return stripeId(ref, "customer_ref", "cus_", "a Stripe customer");
}
std::string methodId(std::string_view ref) {
  return stripeId(ref, "method_ref", "pm_", "a Stripe PaymentMethod");
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
    const std::string customer = customerId(sdk::view(c.customer_ref));
    const std::string key(sdk::view(c.idempotency_key));
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

  std::vector<PaymentMethod> paymentMethods(const sdk::CallContext& ctx,
                                            const tg_payment_method_request& req) override {
    const std::string customer = customerId(sdk::view(req.customer_ref));
    if (req.action == TG_PM_LIST) return listMethods(ctx, customer);
    if (req.action != TG_PM_ATTACH && req.action != TG_PM_SET_DEFAULT &&
        req.action != TG_PM_DETACH) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                       "action: " + std::to_string(req.action) + " is not a payment method action");
    }
    const std::string method = methodId(sdk::view(req.method_ref));
    const std::string key(sdk::view(req.idempotency_key));
    if (key.empty()) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "idempotency_key: required");
    switch (req.action) {
      case TG_PM_ATTACH:
        return {attachMethod(ctx, customer, method, req.make_default != 0, key)};
      case TG_PM_SET_DEFAULT: {
        PaymentMethod m = ownedMethod(ctx, customer, method);
        makeDefault(ctx, customer, method, key);
        m.is_default = true;
        return {m};
      }
      default: {  // TG_PM_DETACH
        PaymentMethod m = ownedMethod(ctx, customer, method);
        m.is_default = customerDefault(ctx, customer) == method;
        const sdk::HttpResponse r = post(ctx, "/v1/payment_methods/" + method + "/detach", {}, key);
        if (r.status != 200) refuse(r, parseError(r.body));
        return {m};
      }
    }
  }

 private:
  static PaymentMethod row(const StripePaymentMethod& m, bool is_default) {
    PaymentMethod out;
    out.ref = m.id;
    out.brand = m.brand;
    out.last4 = m.last4;
    out.exp_month = m.exp_month;
    out.exp_year = m.exp_year;
    out.is_default = is_default;
    return out;
  }

  // The customer's default method, or "" when it has none. TG_ERR_NOT_FOUND for a customer
  // Stripe does not know (404) or has deleted.
  std::string customerDefault(const sdk::CallContext& ctx, const std::string& customer) const {
    const sdk::HttpResponse r = send(ctx, "GET", "/v1/customers/" + customer, "", "");
    if (r.status != 200) refuse(r, parseError(r.body));
    if (isDeletedCustomer(r.body)) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "customer_ref: " + customer + " was deleted at Stripe");
    }
    return defaultPaymentMethod(r.body);
  }

  // Every card of the customer, page after page (Stripe's pages hold at most 100), the default
  // first and the rest in Stripe's order (newest first).
  std::vector<PaymentMethod> listMethods(const sdk::CallContext& ctx,
                                         const std::string& customer) const {
    const std::string default_method = customerDefault(ctx, customer);
    std::vector<PaymentMethod> out;
    std::set<std::string> seen;
    std::string after;
    for (;;) {
      const sdk::HttpResponse r =
          send(ctx, "GET",
               "/v1/customers/" + customer + "/payment_methods?type=card&limit=100" +
                   (after.empty() ? "" : "&starting_after=" + formEncode({{"", after}}).substr(1)),
               "", "");
      if (r.status != 200) refuse(r, parseError(r.body));
      const StripePaymentMethodPage page = parsePaymentMethodList(r.body);
      bool progressed = false;
      for (const StripePaymentMethod& m : page.methods) {
        if (m.id.empty() || !seen.insert(m.id).second) continue;  // a page that repeats one
        out.push_back(row(m, m.id == default_method));
        progressed = true;
      }
      if (!page.has_more || !progressed) break;
      after = out.back().ref;
    }
    std::stable_partition(out.begin(), out.end(),
                          [](const PaymentMethod& m) { return m.is_default; });
    return out;
  }

  // A card declined on attach (Stripe checks it with the issuer: 402) is a token the provider
  // refuses, so the caller's argument is what was wrong.
  PaymentMethod attachMethod(const sdk::CallContext& ctx, const std::string& customer,
                             const std::string& method, bool make_default,
                             const std::string& key) const {
    const sdk::HttpResponse r =
        post(ctx, "/v1/payment_methods/" + method + "/attach", {{"customer", customer}}, key);
    if (r.status == 402) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "method_ref: " + parseError(r.body).failure);
    }
    if (r.status != 200) refuse(r, parseError(r.body));
    PaymentMethod m = row(parsePaymentMethod(r.body), false);
    if (m.ref.empty()) m.ref = method;
    if (make_default) {
      // Its own key: Stripe would answer a repeat of the attach's key with the attach's answer.
      makeDefault(ctx, customer, method, key + ":default");
      m.is_default = true;
    }
    return m;
  }

  // The method, if it is attached to `customer`; TG_ERR_NOT_FOUND otherwise (a method of another
  // customer is not told apart from one that does not exist).
  PaymentMethod ownedMethod(const sdk::CallContext& ctx, const std::string& customer,
                            const std::string& method) const {
    const sdk::HttpResponse r = send(ctx, "GET", "/v1/payment_methods/" + method, "", "");
    if (r.status != 200) refuse(r, parseError(r.body));
    const StripePaymentMethod m = parsePaymentMethod(r.body);
    if (m.customer != customer) {
      throw sdk::Error(TG_ERR_NOT_FOUND,
                       "method_ref: " + method + " is not a payment method of " + customer);
    }
    PaymentMethod out = row(m, false);
    if (out.ref.empty()) out.ref = method;
    return out;
  }

  void makeDefault(const sdk::CallContext& ctx, const std::string& customer,
                   const std::string& method, const std::string& key) const {
    const sdk::HttpResponse r = post(ctx, "/v1/customers/" + customer,
                                     {{"invoice_settings[default_payment_method]", method}}, key);
    if (r.status != 200) refuse(r, parseError(r.body));
  }

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
    refuse(r, o);
  }

  // An answer other than 200 as an error, by what the caller may do next.
  [[noreturn]] static void refuse(const sdk::HttpResponse& r, const StripeOutcome& o) {
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
