#include "price_table.hpp"

#include <tollgate/sdk/money.hpp>

#include <tollgate/sdk/plugin.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace tollgate::plugins::pricing {
namespace {

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Whole and fractional parts of "123.45" as integers, the fraction scaled to `decimals`.
std::optional<int64_t> fixedPoint(std::string_view text, size_t decimals, int64_t scale) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::string frac(dot == std::string_view::npos ? "" : text.substr(dot + 1));
  if (!digits(whole) || whole.size() > 12 || (dot != std::string_view::npos && !digits(frac)) ||
      frac.size() > decimals) {
    return std::nullopt;
  }
  frac.resize(decimals, '0');
  int64_t out = 0;
  for (const char c : whole) out = out * 10 + (c - '0');
  out *= scale;
  int64_t f = 0;
  for (const char c : frac) f = f * 10 + (c - '0');
  return out + f;
}

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t end = line.find(sep, start);
    out.push_back(line.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

constexpr std::array<std::pair<std::string_view, tg_product>, 5> kProducts = {{
    {"sms_out", TG_PRODUCT_SMS_SEGMENT_OUT},
    {"sms_in", TG_PRODUCT_SMS_SEGMENT_IN},
    {"voice_in_minute", TG_PRODUCT_VOICE_MINUTE_IN},
    {"voice_out_minute", TG_PRODUCT_VOICE_MINUTE_OUT},
    {"number_month", TG_PRODUCT_NUMBER_MONTH},
}};

}  // namespace

std::optional<int64_t> parseMicros(std::string_view text) {
  if (!text.empty() && text.front() == '-') return std::nullopt;  // a price is never negative
  return sdk::decimalMicros(text);
}

std::optional<int64_t> parsePercentPpm(std::string_view text) {
  const auto ppm = fixedPoint(text, 4, 10'000);
  if (!ppm || *ppm > 1000 * 10'000) return std::nullopt;
  return ppm;
}

int64_t Markup::apply(int64_t base_micros) const {
  const __int128 scaled = static_cast<__int128>(base_micros) * (1'000'000 + percent_ppm);
  const __int128 rounded_up = (scaled + 999'999) / 1'000'000;
  return static_cast<int64_t>(rounded_up) + fixed_micros;
}

PriceTable PriceTable::parse(std::string_view csv) {
  PriceTable t;
  size_t number = 0;
  for (const std::string_view raw : split(csv, '\n')) {
    ++number;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto bad = [&](std::string_view why) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                       "settings.table: line " + std::to_string(number) + ": " + std::string(why));
    };
    const auto f = split(line, ',');
    if (f.size() != 4) bad("want country,number_type,product,price");
    const std::string_view country = trim(f[0]), type = trim(f[1]), product = trim(f[2]);
    if (!(country == "*" || (country.size() == 2 && country[0] >= 'A' && country[0] <= 'Z' &&
                             country[1] >= 'A' && country[1] <= 'Z'))) {
      bad("country must be an ISO 3166-1 alpha-2 code (US) or *");
    }
    if (type.empty() || type.size() > 32) bad("number_type must be a word or *");
    tg_product p = 0;
    for (const auto& [name, value] : kProducts) {
      if (name == product) p = value;
    }
    if (p == 0) {
      bad("product must be sms_out, sms_in, voice_in_minute, voice_out_minute or number_month");
    }
    const auto price = parseMicros(trim(f[3]));
    if (!price) bad("price must be a decimal amount with at most 6 decimals (0.0079)");
    if (!t.rows_.emplace(std::make_tuple(p, std::string(country), std::string(type)), *price)
             .second) {
      bad("the same country, number_type and product appear twice");
    }
  }
  return t;
}

std::optional<int64_t> PriceTable::base(tg_product product, std::string_view country,
                                        std::string_view number_type) const {
  const std::string type = number_type.empty() ? "*" : std::string(number_type);
  for (const auto& key : {std::make_tuple(product, std::string(country), type),
                          std::make_tuple(product, std::string(country), std::string("*")),
                          std::make_tuple(product, std::string("*"), type),
                          std::make_tuple(product, std::string("*"), std::string("*"))}) {
    if (const auto it = rows_.find(key); it != rows_.end()) return it->second;
  }
  return std::nullopt;
}

namespace {

std::string readTable(const sdk::Host& host, std::string_view key, const std::string& setting) {
  const std::string path =
      setting.front() == '/' ? setting : std::string(host.stateDir()) + "/" + setting;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings." + std::string(key) + ": cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string StaticPrices::currencyFromSettings(const sdk::Host& host) {
  const std::string code = host.configOr("currency", "USD");
  if (code.size() != 3 ||
      !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.currency: '" + code + "' is not an ISO 4217 code (USD)");
  }
  return code;
}

Markup StaticPrices::markupFromSettings(const sdk::Host& host) {
  const std::string percent = host.configOr("markup_percent", "0");
  const std::string fixed = host.configOr("markup_micros", "0");
  const auto ppm = parsePercentPpm(percent);
  if (!ppm) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.markup_percent: '" + percent +
                         "' must be from 0 to 1000 with at most 4 decimals (12.5)");
  }
  if (fixed.size() > 12 || !digits(fixed)) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.markup_micros: '" + fixed + "' must be an integer >= 0");
  }
  return Markup{.percent_ppm = *ppm, .fixed_micros = std::stoll(fixed)};
}

StaticPrices StaticPrices::fromSettings(const sdk::Host& host, std::string_view table_key,
                                        bool table_optional) {
  StaticPrices out;
  const std::string table = host.configOr(table_key, "");
  if (table.empty() && !table_optional) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + std::string(table_key) + ": required");
  }
  if (!table.empty()) out.table_ = PriceTable::parse(readTable(host, table_key, table));
  out.currency_ = currencyFromSettings(host);
  out.markup_ = markupFromSettings(host);
  return out;
}

std::optional<tg_money> StaticPrices::price(const tg_price_query& q) const {
  const std::string_view currency(q.currency, strnlen(q.currency, 4));
  if (currency != currency_) return std::nullopt;
  const auto base = table_.base(q.product, std::string_view(q.country, strnlen(q.country, 3)),
                                sdk::view(q.number_type));
  if (!base) return std::nullopt;
  return money(markup_.apply(*base), currency_);
}

tg_money money(int64_t micros, std::string_view currency) {
  tg_money out{.amount_micros = micros, .currency = {}};
  sdk::setCode(out.currency, currency);
  return out;
}

}  // namespace tollgate::plugins::pricing
