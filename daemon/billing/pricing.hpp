// What one unit of a product costs a tenant, asked of the enabled pricing plugin (pricing-static,
// pricing-twilio) under its deadline. The core decides which number's country prices a unit
// (libphonenumber's region of it); the plugin decides the price.
#pragma once

#include <tollgate/abi/pricing.h>

#include <optional>
#include <string>
#include <string_view>

namespace tollgate::plugins {
class Plugin;
}

namespace tollgate::billing {

// The products by their API names: sms_out, sms_in, voice_in_minute, voice_out_minute,
// number_month.
std::optional<tg_product> productNamed(std::string_view name);
const char* productName(tg_product product);

struct Quote {
  tg_status status = TG_ERR_INTERNAL;  // TG_OK: amount_micros and currency hold the price
  int64_t amount_micros = 0;
  std::string currency;
  std::string country;  // ISO 3166-1 of the number that priced it
  std::string error;    // why not, when status is not TG_OK
};

class Pricing {
 public:
  explicit Pricing(plugins::Plugin* plugin) : plugin_(plugin) {}
  // The pricing plugin asked, or null when none is enabled.
  plugins::Plugin* plugin() const { return plugin_; }

  // The price of one unit of `product` in `currency`. `number` (E.164) is the one whose country
  // prices it: the other party of an outbound message or call, the tenant's own number for
  // inbound traffic and for the number itself. `number_type` ("local", "mobile", "toll-free")
  // may be empty. Statuses: TG_ERR_INVALID_ARGUMENT (no region has the number), TG_ERR_NOT_FOUND
  // (no price), TG_ERR_UNAVAILABLE (no plugin, or it did not answer in time), the plugin's.
  Quote quote(std::string_view tenant_id, std::string_view request_id, tg_product product,
              const std::string& number, const std::string& number_type,
              const std::string& currency) const;

 private:
  plugins::Plugin* plugin_;
};

}  // namespace tollgate::billing
