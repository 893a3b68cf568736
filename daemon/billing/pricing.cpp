#include "billing/pricing.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstring>
#include <utility>

#include "numbers/routes.hpp"
#include "plugins/deadline.hpp"

namespace tollgate::billing {
namespace {

constexpr std::array<std::pair<std::string_view, tg_product>, 5> kProducts = {{
    {"sms_out", TG_PRODUCT_SMS_SEGMENT_OUT},
    {"sms_in", TG_PRODUCT_SMS_SEGMENT_IN},
    {"voice_in_minute", TG_PRODUCT_VOICE_MINUTE_IN},
    {"voice_out_minute", TG_PRODUCT_VOICE_MINUTE_OUT},
    {"number_month", TG_PRODUCT_NUMBER_MONTH},
}};

tg_str str(const std::string& s) { return tg_str{s.data(), s.size()}; }

}  // namespace

std::optional<tg_product> productNamed(std::string_view name) {
  for (const auto& [n, p] : kProducts) {
    if (n == name) return p;
  }
  return std::nullopt;
}

const char* productName(tg_product product) {
  for (const auto& [n, p] : kProducts) {
    if (p == product) return n.data();
  }
  return "unknown";
}

Quote Pricing::quote(std::string_view tenant_id, std::string_view request_id, tg_product product,
                     const std::string& number, const std::string& number_type,
                     const std::string& currency) const {
  Quote out;
  const auto region = numbers::regionOf(number);
  if (!region) {
    out.status = TG_ERR_INVALID_ARGUMENT;
    out.error = fmt::format("'{}' is not a number of any country", number);
    return out;
  }
  out.country = *region;
  if (plugin_ == nullptr) {
    out.status = TG_ERR_UNAVAILABLE;
    out.error = "no pricing plugin is enabled (conf/plugins.d/pricing-*.ini)";
    return out;
  }
  const int64_t deadline_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() + plugin_->deadline()).time_since_epoch())
          .count();
  struct Call {
    tg_status status = TG_ERR_INTERNAL;
    tg_money price{};
    std::string error;
  };
  auto call = plugins::callWithDeadline<Call>(
      *plugin_, tenant_id,
      [plugin = plugin_, tenant = std::string(tenant_id), request = std::string(request_id),
       product, country = *region, number, number_type, currency, deadline_ms] {
        tg_price_query q{};
        q.struct_size = sizeof q;
        q.product = product;
        std::memcpy(q.country, country.data(), 2);
        q.number_type = str(number_type);
        std::memcpy(q.currency, currency.data(), std::min<size_t>(currency.size(), 3));
        q.number = str(number);
        const tg_call_ctx ctx{.struct_size = sizeof(tg_call_ctx),
                              .tenant_id = str(tenant),
                              .request_id = str(request),
                              .deadline_unix_ms = deadline_ms};
        Call c;
        tg_error err{};
        c.status = plugin->vtable<tg_pricing_vtable>()->price(plugin->instance(), &ctx, &q,
                                                              &c.price, &err);
        if (c.status != TG_OK) {
          err.message[sizeof err.message - 1] = '\0';
          c.error = err.message;
        }
        return c;
      });
  if (!call) {
    out.status = TG_ERR_UNAVAILABLE;
    out.error = fmt::format("pricing plugin {} did not answer within {} ms", plugin_->id(),
                            plugin_->deadline().count());
    return out;
  }
  out.status = call->status;
  out.error = call->error;
  if (call->status == TG_OK) {
    out.amount_micros = call->price.amount_micros;
    out.currency.assign(call->price.currency, strnlen(call->price.currency, 4));
    if (out.currency != currency || out.amount_micros < 0) {
      out.status = TG_ERR_INTERNAL;
      out.error = fmt::format("pricing plugin {} answered {} {} for a price in {}", plugin_->id(),
                              out.amount_micros, out.currency, currency);
    }
  }
  return out;
}

}  // namespace tollgate::billing
