// pricing-static's table: what one unit of a product costs in a country, read from a CSV file,
// with the configured markup applied. Money in micro-units, parsed and computed in integers.
#pragma once

#include <tollgate/abi/pricing.h>
#include <tollgate/sdk/plugin.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace tollgate::plugins::pricing {

// "0.0079" -> 7900: at most 6 decimals, no sign, no exponent; nullopt otherwise.
std::optional<int64_t> parseMicros(std::string_view text);

// A markup: a percentage (at most 4 decimals) and a fixed amount per unit.
struct Markup {
  int64_t percent_ppm = 0;  // the percentage in millionths of the price: 12.5 % -> 125000
  int64_t fixed_micros = 0;
  // base + percentage (rounded up to the micro) + fixed.
  int64_t apply(int64_t base_micros) const;
};
// "12.5" -> 125000 ppm; nullopt unless 0 to 1000 with at most 4 decimals.
std::optional<int64_t> parsePercentPpm(std::string_view text);

class PriceTable {
 public:
  // Lines "country,number_type,product,price" ('#' comments and blank lines skipped): country
  // ISO 3166-1 alpha-2 or '*', number_type a word or '*', product one of sms_out, sms_in,
  // voice_in_minute, voice_out_minute, number_month, price in currency units ("0.0079").
  // Throws sdk::Error TG_ERR_INVALID_ARGUMENT naming the line of the first bad one.
  static PriceTable parse(std::string_view csv);

  // The price before markup: the country's row for that number type, else its '*' row, else
  // the '*' country's row for that number type, else its '*' row.
  std::optional<int64_t> base(tg_product product, std::string_view country,
                              std::string_view number_type) const;
  size_t size() const { return rows_.size(); }

 private:
  std::map<std::tuple<tg_product, std::string, std::string>, int64_t> rows_;
};

// A table with its currency and markup, from a plugin's settings: `table` (a CSV file; relative
// to the state directory), `currency`, `markup_percent` and `markup_micros`. pricing-static is
// this; pricing-twilio falls back to it and applies the same markup to Twilio's prices.
class StaticPrices {
 public:
  // Throws sdk::Error TG_ERR_INVALID_ARGUMENT naming the setting (or the table's line).
  // `table_key`'s setting may be empty when `table_optional`: then the table has no rows.
  static StaticPrices fromSettings(const sdk::Host& host, std::string_view table_key,
                                   bool table_optional = false);
  // Reads only `currency`, `markup_percent` and `markup_micros`.
  static Markup markupFromSettings(const sdk::Host& host);
  static std::string currencyFromSettings(const sdk::Host& host);

  // The price with markup, or nullopt (another currency, or no row).
  std::optional<tg_money> price(const tg_price_query& q) const;
  const std::string& currency() const { return currency_; }
  const Markup& markup() const { return markup_; }
  size_t size() const { return table_.size(); }

 private:
  PriceTable table_;
  std::string currency_;
  Markup markup_;
};

// A tg_money of `micros` in `currency` (three letters).
tg_money money(int64_t micros, std::string_view currency);

}  // namespace tollgate::plugins::pricing
