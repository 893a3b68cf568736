// pricing-static's table: what one unit of a product costs in a country, read from a CSV file,
// with the configured markup applied. Money in micro-units, parsed and computed in integers.
#pragma once

#include <tollgate/abi/pricing.h>

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

}  // namespace tollgate::plugins::pricing
