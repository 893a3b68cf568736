// pricing-static: what the tenant pays for one unit of a product, from a table file with a
// markup (a percentage, rounded up to the micro-unit, and a fixed amount per unit). Prices are
// in the table's one currency; a query in another is answered TG_ERR_NOT_FOUND (no exchange
// rates here). The table is read once, at init: a bad line stops the daemon from starting,
// naming it.
#include <tollgate/sdk/plugin.hpp>

#include <cstring>

#include "price_table.hpp"

namespace tollgate::plugins::pricing {

using sdk::configKey;
using sdk::lit;

class PricingStatic : public sdk::PricingPlugin {
 public:
  explicit PricingStatic(sdk::Host host)
      : PricingPlugin(host), prices_(StaticPrices::fromSettings(host, "table")) {
    host.info("pricing table: " + std::to_string(prices_.size()) + " price(s) in " +
              prices_.currency());
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
    if (auto p = prices_.price(q)) return *p;
    const std::string_view currency(q.currency, strnlen(q.currency, 4));
    if (currency != prices_.currency()) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-static: prices are in " + prices_.currency() +
                                             ", not " + std::string(currency));
    }
    throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-static: no price for product " +
                                           std::to_string(q.product) + " in '" +
                                           std::string(q.country, strnlen(q.country, 3)) + "'");
  }

 private:
  StaticPrices prices_;
};

}  // namespace tollgate::plugins::pricing

TOLLGATE_PLUGIN(tollgate::plugins::pricing::PricingStatic, "pricing-static", "1.0.0")
