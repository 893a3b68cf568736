#include "stripe_api.hpp"

#include <Poco/JSON/Parser.h>

#include <cstdint>
#include <stdexcept>

namespace tollgate::plugins::billing {
namespace {

using Poco::JSON::Object;

Object::Ptr parse(std::string_view json) {
  try {
    auto v = Poco::JSON::Parser().parse(std::string(json));
    auto o = v.extract<Object::Ptr>();
    if (o) return o;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("Stripe's answer is not JSON: " + e.displayText());
  }
  throw std::runtime_error("Stripe's answer is not a JSON object");
}

std::string str(const Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return {};
  const auto v = o->get(key);
  return v.isString() ? v.toString() : std::string();
}

int64_t integer(const Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key) || !o->get(key).isInteger()) return 0;
  return o->getValue<int64_t>(key);
}

// A small integer field (card.exp_month, card.exp_year); 0 when absent or out of range.
int32_t int32(const Object::Ptr& o, const std::string& key) {
  const int64_t v = integer(o, key);
  return v >= 0 && v <= INT32_MAX ? static_cast<int32_t>(v) : 0;
}

Object::Ptr object(const Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return nullptr;
  return o->getObject(key);  // null when the field is not an object
}

// A field that is an id, or the object it names when expanded.
std::string idOrObjectId(const Object::Ptr& o, const std::string& key) {
  if (const Object::Ptr expanded = object(o, key)) return str(expanded, "id");
  return str(o, key);
}

StripePaymentMethod paymentMethodOf(const Object::Ptr& pm) {
  StripePaymentMethod out;
  out.id = str(pm, "id");
  out.customer = idOrObjectId(pm, "customer");
  const Object::Ptr card = object(pm, "card");
  out.brand = str(card, "brand");
  out.last4 = str(card, "last4");
  out.exp_month = int32(card, "exp_month");
  out.exp_year = int32(card, "exp_year");
  return out;
}

std::string failureOf(const Object::Ptr& err) {
  std::string code = str(err, "code");
  const std::string decline = str(err, "decline_code");
  if (!decline.empty()) code += (code.empty() ? "" : "/") + decline;
  const std::string message = str(err, "message");
  if (code.empty()) return message;
  return message.empty() ? code : code + ": " + message;
}

}  // namespace

std::string formEncode(const Form& form) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  auto encode = [&](std::string_view s, bool key) {
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
          (key && (c == '[' || c == ']'))) {
        out += ch;
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  };
  for (const auto& [k, v] : form) {
    if (!out.empty()) out += '&';
    encode(k, true);
    out += '=';
    encode(v, false);
  }
  return out;
}

StripeOutcome parsePaymentIntent(std::string_view json) {
  const Object::Ptr pi = parse(json);
  StripeOutcome out;
  out.id = str(pi, "id");
  out.currency = str(pi, "currency");
  out.minor = integer(pi, "amount_received");
  const std::string status = str(pi, "status");
  if (status == "succeeded") {
    out.state = TG_PAYMENT_SUCCEEDED;
  } else if (status == "processing" || status == "requires_action" ||
             status == "requires_confirmation" || status == "requires_capture") {
    out.state = TG_PAYMENT_PENDING;
  } else {
    out.state = TG_PAYMENT_FAILED;
    const Object::Ptr err = pi->has("last_payment_error") && !pi->isNull("last_payment_error")
                                ? pi->getObject("last_payment_error")
                                : nullptr;
    const std::string why = err ? failureOf(err) : std::string();
    out.failure = status + (why.empty() ? "" : ": " + why);
  }
  return out;
}

StripeOutcome parseRefund(std::string_view json) {
  const Object::Ptr re = parse(json);
  StripeOutcome out;
  out.id = str(re, "id");
  out.currency = str(re, "currency");
  out.minor = integer(re, "amount");
  const std::string status = str(re, "status");
  if (status == "succeeded") {
    out.state = TG_PAYMENT_SUCCEEDED;
  } else if (status == "pending" || status == "requires_action") {
    out.state = TG_PAYMENT_PENDING;
  } else {
    out.state = TG_PAYMENT_FAILED;
    out.failure =
        status + (str(re, "failure_reason").empty() ? "" : ": " + str(re, "failure_reason"));
  }
  return out;
}

StripeOutcome parseError(std::string_view json) {
  StripeOutcome out;
  try {
    const Object::Ptr root = parse(json);
    const Object::Ptr err =
        root->has("error") && !root->isNull("error") ? root->getObject("error") : nullptr;
    if (!err) {
      out.failure = std::string(json.substr(0, 200));
      return out;
    }
    out.failure = failureOf(err);
    if (err->has("payment_intent") && !err->isNull("payment_intent")) {
      out.id = str(err->getObject("payment_intent"), "id");
    }
  } catch (const std::exception&) {
    out.failure = std::string(json.substr(0, 200));
  }
  return out;
}

std::string defaultPaymentMethod(std::string_view customer_json) {
  const Object::Ptr c = parse(customer_json);
  if (!c->has("invoice_settings") || c->isNull("invoice_settings")) return {};
  return str(c->getObject("invoice_settings"), "default_payment_method");
}

bool isDeletedCustomer(std::string_view customer_json) {
  const Object::Ptr c = parse(customer_json);
  return c->has("deleted") && c->get("deleted").isBoolean() && c->getValue<bool>("deleted");
}

StripePaymentMethod parsePaymentMethod(std::string_view json) {
  return paymentMethodOf(parse(json));
}

StripePaymentMethodPage parsePaymentMethodList(std::string_view json) {
  const Object::Ptr list = parse(json);
  StripePaymentMethodPage out;
  out.has_more = list->has("has_more") && list->get("has_more").isBoolean() &&
                 list->getValue<bool>("has_more");
  const Poco::JSON::Array::Ptr data =
      list->has("data") && !list->isNull("data") ? list->getArray("data") : nullptr;
  if (!data) throw std::runtime_error("Stripe's list of payment methods has no data array");
  for (size_t i = 0; i < data->size(); ++i) {
    const Object::Ptr pm = data->getObject(static_cast<unsigned>(i));
    if (pm) out.methods.push_back(paymentMethodOf(pm));
  }
  return out;
}

std::string idOf(std::string_view json) { return str(parse(json), "id"); }

}  // namespace tollgate::plugins::billing
