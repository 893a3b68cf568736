#include "twilio_prices.hpp"

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "../pricing-static/price_table.hpp"

namespace tollgate::plugins::pricing {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

[[noreturn]] void bad(const std::string& what) {
  throw std::runtime_error("Twilio pricing document: " + what);
}

Array::Ptr arrayOf(const Object::Ptr& o, const std::string& key, const std::string& where) {
  if (!o->has(key) || o->isNull(key)) return new Array;  // absent: no prices of that kind
  Array::Ptr a = o->getArray(key);
  if (!a) bad(where + key + ": not an array");
  return a;
}

Object::Ptr objectAt(const Array::Ptr& a, size_t i, const std::string& where) {
  Object::Ptr o = a->getObject(static_cast<unsigned>(i));
  if (!o) bad(where + "[" + std::to_string(i) + "]: not an object");
  return o;
}

std::string text(const Object::Ptr& o, const std::string& key, const std::string& where) {
  if (!o->has(key) || o->isNull(key)) bad(where + key + ": missing");
  const Poco::Dynamic::Var v = o->get(key);
  if (!v.isString()) bad(where + key + ": not a string");
  return v.toString();
}

// A price as decimal text: a string as sent, a JSON number by its shortest round-trip text
// (what the server wrote, for any price of up to 15 significant digits).
int64_t micros(const Object::Ptr& o, const std::string& key, const std::string& where) {
  if (!o->has(key) || o->isNull(key)) bad(where + key + ": missing");
  const Poco::Dynamic::Var v = o->get(key);
  std::string decimal;
  if (v.isString()) {
    decimal = v.toString();
  } else if (v.isNumeric()) {
    char buf[64];
    const auto r = v.isInteger() ? std::to_chars(buf, buf + sizeof buf, v.convert<int64_t>())
                                 : std::to_chars(buf, buf + sizeof buf, v.convert<double>());
    decimal.assign(buf, r.ptr);
  } else {
    bad(where + key + ": not a price");
  }
  const auto m = parseMicros(decimal);
  if (!m) bad(where + key + ": '" + decimal + "' is not a price of at most 6 decimals");
  return *m;
}

// The current price (what the account pays now, discounts included).
int64_t current(const Object::Ptr& o, const std::string& where) {
  return micros(o, "current_price", where);
}

void keepDearest(std::vector<TypedPrice>& prices, std::string type, int64_t price) {
  for (auto& p : prices) {
    if (p.number_type == type) {
      p.micros = std::max(p.micros, price);
      return;
    }
  }
  prices.push_back(TypedPrice{.number_type = std::move(type), .micros = price});
}

std::vector<TypedPrice> typed(const Object::Ptr& doc, const std::string& key) {
  std::vector<TypedPrice> out;
  const Array::Ptr a = arrayOf(doc, key, "");
  for (size_t i = 0; i < a->size(); ++i) {
    const std::string where = key + "[" + std::to_string(i) + "].";
    const Object::Ptr p = objectAt(a, i, key);
    keepDearest(out, queryType(text(p, "number_type", where)), current(p, where));
  }
  return out;
}

}  // namespace

TwilioDoc docFor(tg_product product) {
  switch (product) {
    case TG_PRODUCT_VOICE_MINUTE_IN:
    case TG_PRODUCT_VOICE_MINUTE_OUT:
      return TwilioDoc::kVoice;
    case TG_PRODUCT_NUMBER_MONTH:
      return TwilioDoc::kNumbers;
    default:
      return TwilioDoc::kMessaging;
  }
}

const char* docName(TwilioDoc doc) {
  switch (doc) {
    case TwilioDoc::kVoice:
      return "voice";
    case TwilioDoc::kNumbers:
      return "phone number";
    default:
      return "messaging";
  }
}

std::string docPath(TwilioDoc doc, std::string_view country) {
  switch (doc) {
    case TwilioDoc::kVoice:
      return "/v2/Voice/Countries/" + std::string(country);
    case TwilioDoc::kNumbers:
      return "/v1/PhoneNumbers/Countries/" + std::string(country);
    default:
      return "/v1/Messaging/Countries/" + std::string(country);
  }
}

std::string queryType(std::string_view twilio_type) {
  std::string out;
  for (const char c : twilio_type) {
    out += c == ' ' ? '-' : (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

CountryPrices parseTwilioPrices(TwilioDoc doc, std::string_view json) {
  Object::Ptr root;
  try {
    root = Poco::JSON::Parser().parse(std::string(json)).extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {
    bad("not a JSON object: " + e.displayText());
  }
  if (!root) bad("not a JSON object");
  CountryPrices out;
  out.currency = text(root, "price_unit", "");
  if (out.currency.size() != 3) bad("price_unit: '" + out.currency + "' is not a currency");
  for (char& c : out.currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  switch (doc) {
    case TwilioDoc::kMessaging: {
      out.inbound = typed(root, "inbound_sms_prices");
      const Array::Ptr carriers = arrayOf(root, "outbound_sms_prices", "");
      for (size_t i = 0; i < carriers->size(); ++i) {
        const std::string where = "outbound_sms_prices[" + std::to_string(i) + "].";
        for (const auto& p : typed(objectAt(carriers, i, where), "prices")) {
          keepDearest(out.outbound, p.number_type, p.micros);
        }
      }
      break;
    }
    case TwilioDoc::kVoice: {
      out.inbound = typed(root, "inbound_call_prices");
      const Array::Ptr a = arrayOf(root, "outbound_prefix_prices", "");
      for (size_t i = 0; i < a->size(); ++i) {
        const std::string where = "outbound_prefix_prices[" + std::to_string(i) + "].";
        const Object::Ptr p = objectAt(a, i, where);
        const int64_t price = current(p, where);
        const Array::Ptr prefixes = arrayOf(p, "destination_prefixes", where);
        for (size_t j = 0; j < prefixes->size(); ++j) {
          out.prefixes.push_back(
              PrefixPrice{.prefix = prefixes->getElement<std::string>(static_cast<unsigned>(j)),
                          .micros = price});
        }
      }
      break;
    }
    case TwilioDoc::kNumbers:
      out.inbound = typed(root, "phone_number_prices");
      break;
  }
  return out;
}

std::optional<int64_t> lookup(const CountryPrices& prices, tg_product product,
                              std::string_view number_type, std::string_view number) {
  if (product == TG_PRODUCT_VOICE_MINUTE_OUT) {
    if (!number.empty() && number.front() == '+') number.remove_prefix(1);
    const PrefixPrice* best = nullptr;
    for (const auto& p : prices.prefixes) {
      if (!number.empty() && number.substr(0, p.prefix.size()) == p.prefix &&
          (best == nullptr || p.prefix.size() > best->prefix.size())) {
        best = &p;
      }
    }
    if (best != nullptr) return best->micros;
    std::optional<int64_t> dearest;
    for (const auto& p : prices.prefixes) dearest = std::max(dearest.value_or(0), p.micros);
    return dearest;
  }
  const auto& list = product == TG_PRODUCT_SMS_SEGMENT_OUT ? prices.outbound : prices.inbound;
  if (product != TG_PRODUCT_SMS_SEGMENT_OUT && product != TG_PRODUCT_SMS_SEGMENT_IN &&
      product != TG_PRODUCT_VOICE_MINUTE_IN && product != TG_PRODUCT_NUMBER_MONTH) {
    return std::nullopt;
  }
  std::optional<int64_t> found;
  for (const auto& p : list) {
    if (number_type.empty()) {
      found = std::max(found.value_or(0), p.micros);
    } else if (p.number_type == number_type) {
      return p.micros;
    }
  }
  return found;
}

}  // namespace tollgate::plugins::pricing
