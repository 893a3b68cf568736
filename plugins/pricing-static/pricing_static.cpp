// pricing-static: what the tenant pays for one unit of a product, from a table file with a
// markup (a percentage, rounded up to the micro-unit, and a fixed amount per unit). Prices are
// in the table's one currency; a query in another is answered TG_ERR_NOT_FOUND (no exchange
// rates here). The table is read once, at init: a bad line stops the daemon from starting,
// naming it.
#include <tollgate/sdk/plugin.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "price_table.hpp"

namespace tollgate::plugins::pricing {
namespace {

using sdk::configKey;
using sdk::lit;

std::string readTable(const sdk::Host& host, const std::string& setting) {
  if (setting.empty()) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.table: required");
  const std::string path =
      setting.front() == '/' ? setting : std::string(host.stateDir()) + "/" + setting;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.table: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string checkedCurrency(const std::string& code) {
  if (code.size() != 3 ||
      !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.currency: '" + code + "' is not an ISO 4217 code (USD)");
  }
  return code;
}

Markup markupOf(const sdk::Host& host) {
  const std::string percent = host.configOr("markup_percent", "0");
  const std::string fixed = host.configOr("markup_micros", "0");
  const auto ppm = parsePercentPpm(percent);
  if (!ppm) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.markup_percent: '" + percent +
                         "' must be from 0 to 1000 with at most 4 decimals (12.5)");
  }
  int64_t micros = 0;
  if (fixed.empty() || fixed.size() > 12 ||
      !std::all_of(fixed.begin(), fixed.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.markup_micros: '" + fixed + "' must be an integer >= 0");
  }
  for (const char c : fixed) micros = micros * 10 + (c - '0');
  return Markup{.percent_ppm = *ppm, .fixed_micros = micros};
}

}  // namespace

class PricingStatic : public sdk::PricingPlugin {
 public:
  explicit PricingStatic(sdk::Host host)
      : PricingPlugin(host),
        table_(PriceTable::parse(readTable(host, host.configOr("table", "")))),
        currency_(checkedCurrency(host.configOr("currency", "USD"))),
        markup_(markupOf(host)) {
    host.info("pricing table: " + std::to_string(table_.size()) + " price(s) in " + currency_);
  }

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("table"), TG_CONFIG_PATH, true, lit(""),
                  lit("CSV file of country,number_type,product,price lines (country ISO "
                      "3166-1 or *, number_type local/mobile/toll-free or *, product sms_out, "
                      "sms_in, voice_in_minute, voice_out_minute or number_month, price in "
                      "currency units); relative paths are relative to the state directory")),
        configKey(lit("currency"), TG_CONFIG_STRING, false, lit("USD"),
                  lit("ISO 4217 currency of the table's prices")),
        configKey(lit("markup_percent"), TG_CONFIG_STRING, false, lit("0"),
                  lit("added to every price, in percent (at most 4 decimals), rounded up to "
                      "the micro-unit")),
        configKey(lit("markup_micros"), TG_CONFIG_INT, false, lit("0"),
                  lit("added to every price after the percentage, in micro-units")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  tg_money price(const sdk::CallContext&, const tg_price_query& q) override {
    const std::string_view currency(q.currency, strnlen(q.currency, 4));
    const std::string_view country(q.country, strnlen(q.country, 3));
    if (currency != currency_) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-static: prices are in " + currency_ + ", not " +
                                             std::string(currency));
    }
    const auto base = table_.base(q.product, country, sdk::view(q.number_type));
    if (!base) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-static: no price for product " +
                                             std::to_string(q.product) + " in '" +
                                             std::string(country) + "'");
    }
    tg_money out{.amount_micros = markup_.apply(*base), .currency = {}};
    std::memcpy(out.currency, currency_.c_str(), 4);
    return out;
  }

 private:
  PriceTable table_;
  std::string currency_;
  Markup markup_;
};

}  // namespace tollgate::plugins::pricing

TOLLGATE_PLUGIN(tollgate::plugins::pricing::PricingStatic, "pricing-static", "1.0.0")
