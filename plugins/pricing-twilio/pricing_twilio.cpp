// pricing-twilio: what the tenant pays, from Twilio's Pricing API with a markup.
//
// Each country's document (messaging, voice, phone numbers) is fetched on first use through the
// host's HTTP client and kept for `cache_ttl_s` (24 h). When Twilio cannot be asked (down,
// refusing the credentials, too slow for the call's deadline, or answering nonsense) the plugin
// answers from what it fetched before, however old, else from `fallback_table` (pricing-static's
// format), and logs that it does once per document until Twilio answers again. After a failed
// fetch it asks Twilio again only `retry_after_failure_s` later, so an outage costs each call
// nothing. The cache is this process's own (docs/adr/0011).
#include <Poco/Base64Encoder.h>
#include <tollgate/sdk/plugin.hpp>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "../pricing-static/price_table.hpp"
#include "twilio_prices.hpp"

namespace tollgate::plugins::pricing {
namespace {

using sdk::configKey;
using sdk::lit;

std::string fileSetting(const sdk::Host& host, std::string_view key) {
  const std::string setting = host.configOr(key, "");
  if (setting.empty())
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + std::string(key) + ": required");
  const std::string path =
      setting.front() == '/' ? setting : std::string(host.stateDir()) + "/" + setting;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  if (!in || value.empty()) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + std::string(key) + ": cannot read " +
                                                  path + " (or it is empty)");
  }
  return value;
}

std::string accountSid(const sdk::Host& host) {
  const std::string sid = host.configOr("account_sid", "");
  const bool ok = sid.size() == 34 && sid.rfind("AC", 0) == 0 &&
                  sid.find_first_not_of("0123456789abcdefABCDEF", 2) == std::string::npos;
  if (!ok) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings.account_sid: '" + sid + "' is not an account SID (AC + 32 hex)");
  }
  return sid;
}

std::string basicAuth(const std::string& user, const std::string& password) {
  std::ostringstream out;
  Poco::Base64Encoder b64(out);
  b64.rdbuf()->setLineLength(0);
  b64 << user << ':' << password;
  b64.close();
  return "Basic " + out.str();
}

int64_t positiveSetting(const sdk::Host& host, std::string_view key, const char* fallback) {
  const std::string v = host.configOr(key, fallback);
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(v) == 0) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings." + std::string(key) + ": '" + v + "' must be a whole number > 0");
  }
  return std::stoll(v);
}

std::string baseUrl(const sdk::Host& host, std::string_view key) {
  std::string url = host.configOr(key, "https://pricing.twilio.com");
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                     "settings." + std::string(key) + ": '" + url + "' is not an http(s) URL");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// What the cache knows of one country's document.
struct Entry {
  std::mutex fetch_mu;  // one fetch at a time
  // The fields below are guarded by PricingTwilio::mu_.
  std::shared_ptr<const CountryPrices> prices;  // null: never fetched, or Twilio has none
  bool absent = false;                          // Twilio answered 404: no prices there
  int64_t fetched_ms = 0;                       // when `prices`/`absent` came; 0: never
  int64_t failed_ms = 0;                        // the last failed fetch; 0: none since
  bool degraded = false;                        // said so in the log
};

}  // namespace

class PricingTwilio : public sdk::PricingPlugin {
 public:
  explicit PricingTwilio(sdk::Host host)
      : PricingPlugin(host),
        auth_(basicAuth(accountSid(host), fileSetting(host, "auth_token_file"))),
        base_v1_(baseUrl(host, "base_url_v1")),
        base_v2_(baseUrl(host, "base_url_v2")),
        ttl_ms_(positiveSetting(host, "cache_ttl_s", "86400") * 1000),
        retry_ms_(positiveSetting(host, "retry_after_failure_s", "60") * 1000),
        timeout_ms_(positiveSetting(host, "fetch_timeout_ms", "1500")),
        fallback_(StaticPrices::fromSettings(host, "fallback_table", true)) {
    host.info("Twilio pricing from " + base_v1_ + " (v1) and " + base_v2_ + " (v2), kept " +
              std::to_string(ttl_ms_ / 1000) + " s; fallback table: " +
              std::to_string(fallback_.size()) + " price(s) in " + fallback_.currency());
  }

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("account_sid"), TG_CONFIG_STRING, true, lit(""),
                  lit("the Twilio account whose prices apply (AC...)")),
        configKey(lit("auth_token_file"), TG_CONFIG_PATH, true, lit(""),
                  lit("file holding the account's auth token; relative paths are relative to "
                      "the state directory")),
        configKey(lit("base_url_v1"), TG_CONFIG_STRING, false, lit("https://pricing.twilio.com"),
                  lit("where the v1 Pricing API (messaging, phone numbers) answers")),
        configKey(lit("base_url_v2"), TG_CONFIG_STRING, false, lit("https://pricing.twilio.com"),
                  lit("where the v2 Pricing API (voice) answers")),
        configKey(lit("cache_ttl_s"), TG_CONFIG_INT, false, lit("86400"),
                  lit("how long a country's fetched prices are used before asking again")),
        configKey(lit("retry_after_failure_s"), TG_CONFIG_INT, false, lit("60"),
                  lit("after a failed fetch, how long to answer from the fallbacks only")),
        configKey(lit("fetch_timeout_ms"), TG_CONFIG_INT, false, lit("1500"),
                  lit("longest wait for Twilio (the call's deadline bounds it too)")),
        configKey(lit("fallback_table"), TG_CONFIG_PATH, false, lit(""),
                  lit("pricing-static's CSV, used when Twilio cannot be asked and nothing was "
                      "fetched before")),
        configKey(lit("currency"), TG_CONFIG_STRING, false, lit("USD"),
                  lit("ISO 4217 currency of the fallback table")),
        configKey(lit("markup_percent"), TG_CONFIG_STRING, false, lit("0"),
                  lit("added to every price, in percent (at most 4 decimals), rounded up")),
        configKey(lit("markup_micros"), TG_CONFIG_INT, false, lit("0"),
                  lit("added to every price after the percentage, in micro-units")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  tg_money price(const sdk::CallContext& ctx, const tg_price_query& q) override {
    const std::string country(q.country, strnlen(q.country, 3));
    if (country.size() != 2 || !std::isupper(static_cast<unsigned char>(country[0])) ||
        !std::isupper(static_cast<unsigned char>(country[1]))) {
      throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "country: '" + country + "' is not ISO 3166-1");
    }
    const TwilioDoc doc = docFor(q.product);
    const auto entry = entryFor(doc, country);
    std::string why;
    Snapshot snap = snapshot(*entry);
    if (!snap.fresh(host().nowUnixMs(), ttl_ms_)) {
      std::lock_guard one_at_a_time(entry->fetch_mu);
      snap = snapshot(*entry);  // another caller may have fetched it meanwhile
      const int64_t now = host().nowUnixMs();
      if (!snap.fresh(now, ttl_ms_)) {
        if (snap.failed_ms != 0 && now - snap.failed_ms < retry_ms_) {
          why = "the last fetch failed " + std::to_string((now - snap.failed_ms) / 1000) + " s ago";
        } else {
          why = fetch(ctx, doc, country, *entry);
          snap = snapshot(*entry);
        }
      }
    }
    const int64_t now = host().nowUnixMs();
    if (snap.fresh(now, ttl_ms_)) {
      if (snap.degraded) recovered(doc, country, *entry);
      return answer(snap, q, country);
    }
    // Twilio could not be asked: what was fetched before, else the fallback table.
    if (snap.fetched_ms != 0) {
      degraded(doc, country, *entry,
               why + "; using the prices fetched " +
                   std::to_string((now - snap.fetched_ms) / 1000) + " s ago");
      return answer(snap, q, country);
    }
    if (auto p = fallback_.price(q)) {
      degraded(doc, country, *entry, why + "; using the fallback table");
      host().metricAdd("fallback_answers");
      return *p;
    }
    throw sdk::Error(TG_ERR_UNAVAILABLE, "pricing-twilio: no " + std::string(docName(doc)) +
                                             " prices for " + country + ": " + why +
                                             ", and the fallback table has none");
  }

 private:
  struct Snapshot {
    std::shared_ptr<const CountryPrices> prices;
    bool absent = false;
    int64_t fetched_ms = 0, failed_ms = 0;
    bool degraded = false;
    bool fresh(int64_t now, int64_t ttl) const {
      return fetched_ms != 0 && failed_ms == 0 && now - fetched_ms < ttl;
    }
  };

  std::shared_ptr<Entry> entryFor(TwilioDoc doc, const std::string& country) {
    std::lock_guard lock(mu_);
    auto& e = entries_[{doc, country}];
    if (!e) e = std::make_shared<Entry>();
    return e;
  }

  Snapshot snapshot(const Entry& e) {
    std::lock_guard lock(mu_);
    return Snapshot{.prices = e.prices,
                    .absent = e.absent,
                    .fetched_ms = e.fetched_ms,
                    .failed_ms = e.failed_ms,
                    .degraded = e.degraded};
  }

  // Asks Twilio; stores what it said. Returns "" on success, else why it failed.
  std::string fetch(const sdk::CallContext& ctx, TwilioDoc doc, const std::string& country,
                    Entry& e) {
    const std::string base = doc == TwilioDoc::kVoice ? base_v2_ : base_v1_;
    host().metricAdd("fetches");
    std::string why;
    try {
      sdk::HttpRequest req;
      req.url = base + docPath(doc, country);
      req.headers = {{"Authorization", auth_}, {"Accept", "application/json"}};
      req.timeout_ms = timeout_ms_;
      const sdk::HttpResponse resp = host().http(ctx, req);
      if (resp.status == 200 || resp.status == 404) {
        auto prices = resp.status == 200
                          ? std::make_shared<const CountryPrices>(parseTwilioPrices(doc, resp.body))
                          : nullptr;
        std::lock_guard lock(mu_);
        e.prices = std::move(prices);
        e.absent = resp.status == 404;
        e.fetched_ms = host().nowUnixMs();
        e.failed_ms = 0;
        return "";
      }
      why = "Twilio answered " + std::to_string(resp.status) + ": " + resp.body.substr(0, 200);
    } catch (const sdk::Error& err) {
      why = std::string("Twilio could not be asked: ") + err.what();
    } catch (const std::runtime_error& err) {  // a document that does not parse
      why = err.what();
    }
    host().metricAdd("fetch_failures");
    std::lock_guard lock(mu_);
    e.failed_ms = host().nowUnixMs();
    return why;
  }

  tg_money answer(const Snapshot& snap, const tg_price_query& q, const std::string& country) {
    const std::string_view currency(q.currency, strnlen(q.currency, 4));
    if (snap.absent || !snap.prices) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-twilio: Twilio has no prices for " + country);
    }
    if (currency != snap.prices->currency) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-twilio: Twilio's prices for " + country +
                                             " are in " + snap.prices->currency + ", not " +
                                             std::string(currency));
    }
    const std::string_view number =
        TG_HAS_FIELD(tg_price_query, q.struct_size, number) ? sdk::view(q.number) : "";
    const auto base = lookup(*snap.prices, q.product, sdk::view(q.number_type), number);
    if (!base) {
      throw sdk::Error(TG_ERR_NOT_FOUND, "pricing-twilio: Twilio has no price for product " +
                                             std::to_string(q.product) + " (" +
                                             std::string(sdk::view(q.number_type)) + ") in " +
                                             country);
    }
    return money(fallback_.markup().apply(*base), snap.prices->currency);
  }

  void degraded(TwilioDoc doc, const std::string& country, Entry& e, const std::string& why) {
    {
      std::lock_guard lock(mu_);
      if (e.degraded) return;
      e.degraded = true;
    }
    host().warn(std::string("Twilio ") + docName(doc) + " prices for " + country + ": " + why);
  }

  void recovered(TwilioDoc doc, const std::string& country, Entry& e) {
    {
      std::lock_guard lock(mu_);
      if (!e.degraded) return;
      e.degraded = false;
    }
    host().info(std::string("Twilio ") + docName(doc) + " prices for " + country +
                ": Twilio answers again");
  }

  const std::string auth_, base_v1_, base_v2_;
  const int64_t ttl_ms_, retry_ms_, timeout_ms_;
  const StaticPrices fallback_;
  std::mutex mu_;
  std::map<std::pair<TwilioDoc, std::string>, std::shared_ptr<Entry>> entries_;
};

}  // namespace tollgate::plugins::pricing

TOLLGATE_PLUGIN(tollgate::plugins::pricing::PricingTwilio, "pricing-twilio", "1.0.0")
