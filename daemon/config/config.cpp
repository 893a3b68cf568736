#include "config/config.hpp"

#include <limits>

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <fmt/format.h>

#include <Poco/Net/IPAddress.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "net/client.hpp"
#include "plugins/settings.hpp"

namespace tollgate::config {
namespace fs = std::filesystem;
using Poco::AutoPtr;
using Poco::Util::IniFileConfiguration;

#ifndef TOLLGATE_PLUGIN_DIR_FROM_SBIN
#define TOLLGATE_PLUGIN_DIR_FROM_SBIN "../lib/tollgate/plugins"
#endif

const std::vector<KeyDoc>& coreKeys() {
  static const std::vector<KeyDoc> keys = {
      {"server.listen", "127.0.0.1:8080", "address:port the HTTP server binds"},
      {"server.threads", "16", "HTTP worker threads"},
      {"server.front", "beast",
       "beast: an event loop holds the connections, and only whole requests take a worker; "
       "poco: a thread per connection (ADR 0008)"},
      {"server.header_timeout_ms", "10000",
       "time a client has to send a request's headers (beast; slow clients are cut off)"},
      {"server.body_timeout_ms", "30000", "beast: time a client has to send a request's body"},
      {"server.max_connections", "10000", "beast: connections held at once; more are closed"},
      {"server.max_connections_per_ip", "256", "beast: connections from one client address"},
      {"server.max_queued", "512", "connections waiting for a worker before new ones are refused"},
      {"server.keepalive_requests", "100",
       "requests served on one connection before it is closed; a worker serves one connection "
       "at a time, so this bounds how long other connections wait for it"},
      {"server.keepalive_timeout_ms", "5000",
       "how long an idle keep-alive connection holds a worker"},
      {"daemon.state_dir", "/var/lib/tollgate",
       "directory for the SQLite database and generated keys"},
      {"admin.key_file", "",
       "file holding the admin API key; empty: $CREDENTIALS_DIRECTORY/admin-key, else "
       "<state_dir>/admin.key (generated on first start)"},
      {"plugins.dir", "",
       "directory of plugin .so files; empty: " TOLLGATE_PLUGIN_DIR_FROM_SBIN
       " relative to tollgated"},
      {"plugins.config_dir", "",
       "directory of plugin .ini files; empty: plugins.d beside this file"},
      {"plugins.deadline_ms", "2000", "default per-call deadline for plugins"},
      {"storage.plugin", "storage-sqlite", "id of the storage plugin"},
      {"storage.migrate_timeout_ms", "600000",
       "how long the schema migrations at start may take, waiting for another daemon's "
       "migration included, before the daemon gives up (1000-86400000)"},
      {"twilio.public_base_url", "",
       "scheme://host[:port] at which Twilio reaches this gateway (signatures cover it); empty: "
       "http:// + the request's Host header"},
      {"twilio.trusted_proxies", "",
       "space-separated IP addresses whose X-Forwarded-Proto/Host headers are believed"},
      {"twilio.account_sid", "", "the master Twilio account (AC...)"},
      {"twilio.auth_token_file", "",
       "file holding the master account's auth token; empty: $CREDENTIALS_DIRECTORY/twilio-token "
       "if present"},
      {"twilio.token_key_file", "",
       "file holding 64 hex digits: the key that encrypts subaccount tokens in storage; empty: "
       "$CREDENTIALS_DIRECTORY/token-key, else (storage-sqlite only) <state_dir>/token.key "
       "(generated); required on storage that several daemons can share"},
      {"twilio.route_cache_ms", "5000",
       "how long a number's route is cached (changes made through this daemon apply at once)"},
      {"twilio.token_cache_ms", "60000",
       "how long a decrypted subaccount token is cached; a token rotated through another daemon "
       "sharing the storage is honoured here at the latest after this (0: not cached)"},
      {"twilio.api_base_url", "https://api.twilio.com",
       "Twilio's REST API, where messages are sent (the simulator's URL in sandbox mode)"},
      {"outbox.worker", "on",
       "off: this daemon queues messages (the send API) but leaves sending them to others"},
      {"outbox.senders", "8", "messages one round sends to Twilio at once (1-256)"},
      {"outbox.rounds", "4",
       "rounds in flight at once, each claiming its own batch: one sends while another "
       "records (1-16)"},
      {"outbox.batch", "64", "messages a daemon claims from the outbox at a time (1-4096)"},
      {"outbox.lease_s", "25",
       "how long a daemon holds the messages it claimed; a message whose daemon died is "
       "reconciled after this, never sent again blindly; none is POSTed in the second half "
       "(5-3600)"},
      {"outbox.max_attempts", "8",
       "claims of a message that sent nothing (429, no connection) before it fails (1-100)"},
      {"outbox.reconcile_after_s", "10",
       "how long a message whose send may have reached Twilio waits before it is looked up "
       "there (0-3600)"},
      {"outbox.reconcile_grace_s", "600",
       "how long such a message must stay missing from Twilio's list before it is sent again "
       "(10-86400)"},
      {"outbox.long_code_sps", "1",
       "segments a second a long code sends (Twilio's limit is about 1; 0: no limit)"},
      {"outbox.toll_free_sps", "3",
       "segments a second a toll-free number sends (about 3 unless raised; 0: no limit)"},
      {"outbox.mms_per_s", "1", "MMS messages a second a number sends (0: no limit)"},
      {"outbox.price_after_s", "60",
       "how long after a message's final status Twilio's price is looked up, to reconcile it "
       "with what was reserved (0-86400)"},
      {"outbox.price_give_up_s", "86400",
       "how long after its send a message's price is looked for before the estimate stands "
       "(60-2592000)"},
      {"outbox.final_status_after_s", "3600",
       "how long an accepted message waits for Twilio's final status callback before its "
       "status is looked up at Twilio (1-604800)"},
      {"outbox.pace_window_ms", "1000",
       "how far ahead of its sender's pace a message may go to Twilio (claims run at least this "
       "often); smaller is stricter, at more claims (10-60000)"},
      {"voice.fallback_say",
       "We are sorry, this line cannot take your call right now. Please try again later.",
       "spoken when a number has no fallback of its own and its voice plugin fails"},
      {"billing.currency", "USD",
       "ISO 4217 currency of the prepaid wallet every tenant gets when it is created"},
      {"billing.credit_limit_micros", "0",
       "how far below zero a new tenant's wallet may go, in micro-units (0: prepaid only)"},
      {"billing.hold_sweep_ms", "5000",
       "how often holds past their expiry are released (every daemon sharing the storage may "
       "sweep; each hold is released once)"},
      {"billing.voice_rounding", "minute",
       "how a completed call is charged from its CallDuration: minute (per started minute) or "
       "second (the per-minute price per second, rounded up to the micro-unit)"},
      {"billing.recharge_lease_s", "600",
       "how long one daemon's auto-recharge of a wallet may run before another daemon may take "
       "it over (a lease: one recharge of a wallet at a time, across daemons)"},
      {"billing.recharge_backoff_s", "60",
       "wait after a failed auto-recharge before the next; doubled after each failure in a row, "
       "up to 64 times this"},
      {"stripe.webhook_secret_file", "",
       "file holding the signing secret (whsec_...) of the Stripe webhook endpoint, one per "
       "line (two while rolling it); empty: /stripe/webhook answers 404"},
      {"stripe.webhook_tolerance_s", "300",
       "how far a Stripe-Signature timestamp may be from now, in seconds (replays older than "
       "this are refused)"},
      {"log.level", "info", "trace, debug, info, warn, error"},
      {"outbound.extra_ca_file", "",
       "PEM file of CA certificates (a private CA) that every outbound HTTPS connection, e.g. a "
       "forward to a tenant's URL, trusts besides the system store; empty: the system store "
       "only"},
  };
  return keys;
}

std::string ConfigError::str() const {
  return key.empty() ? fmt::format("{}: {}", file, reason)
                     : fmt::format("{}: {}: {}", file, key, reason);
}

namespace {

// Flattened "section.key" -> value of an INI file; Poco lower-cases nothing, so keys are
// compared as written.
std::map<std::string, std::string> flatten(const IniFileConfiguration& ini) {
  std::map<std::string, std::string> out;
  Poco::Util::AbstractConfiguration::Keys sections;
  ini.keys(sections);
  for (const auto& s : sections) {
    Poco::Util::AbstractConfiguration::Keys keys;
    ini.keys(s, keys);
    for (const auto& k : keys) out[s + "." + k] = ini.getString(s + "." + k);
  }
  return out;
}

bool readIni(const fs::path& file, std::map<std::string, std::string>& out,
             std::vector<ConfigError>& errors) {
  try {
    AutoPtr<IniFileConfiguration> ini(new IniFileConfiguration(file.string()));
    out = flatten(*ini);
    return true;
  } catch (const Poco::Exception& e) {
    errors.push_back({file.string(), "", fmt::format("cannot read: {}", e.displayText())});
    return false;
  }
}

class Reader {
 public:
  Reader(std::string file, std::map<std::string, std::string> values,
         std::vector<ConfigError>& errors)
      : file_(std::move(file)), values_(std::move(values)), errors_(errors) {}

  std::string str(const std::string& key, const std::string& def) const {
    auto it = values_.find(key);
    return it == values_.end() ? def : it->second;
  }
  int64_t integer(const std::string& key, int64_t def, int64_t min, int64_t max) const {
    auto it = values_.find(key);
    if (it == values_.end()) return def;
    Poco::Int64 v = 0;
    if (!Poco::NumberParser::tryParse64(it->second, v) || v < min || v > max) {
      error(key, fmt::format("'{}' is not an integer in [{}, {}]", it->second, min, max));
      return def;
    }
    return v;
  }
  bool boolean(const std::string& key, bool def) const {
    auto it = values_.find(key);
    if (it == values_.end()) return def;
    bool v = def;
    if (!Poco::NumberParser::tryParseBool(it->second, v)) {
      error(key, fmt::format("'{}' is not a boolean (true/false)", it->second));
    }
    return v;
  }
  void error(const std::string& key, const std::string& reason) const {
    errors_.push_back({file_, key, reason});
  }
  void rejectUnknown(const std::set<std::string>& known) const {
    for (const auto& [k, v] : values_) {
      if (!known.count(k)) error(k, "unknown key");
    }
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::map<std::string, std::string> values_;
  std::vector<ConfigError>& errors_;
};

void parseListen(const Reader& r, Config& c) {
  const std::string v = r.str("server.listen", "127.0.0.1:8080");
  const auto colon = v.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !Poco::NumberParser::tryParseUnsigned(v.substr(colon + 1), port) || port > 65535) {
    r.error("server.listen", fmt::format("'{}' is not host:port (e.g. 127.0.0.1:8080)", v));
    return;
  }
  c.listen_host = v.substr(0, colon);
  if (c.listen_host.size() > 2 && c.listen_host.front() == '[') {  // [::1]:8080
    c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
  }
  c.listen_port = static_cast<uint16_t>(port);
}

fs::path resolve(const fs::path& base, const std::string& p) {
  return fs::path(p).is_absolute() ? fs::path(p) : (base / p).lexically_normal();
}

void loadPlugins(Config& c, std::vector<ConfigError>& errors) {
  std::error_code ec;
  if (!fs::is_directory(c.plugin_config_dir, ec)) {
    errors.push_back({c.file.string(), "plugins.config_dir",
                      fmt::format("'{}' is not a directory", c.plugin_config_dir.string())});
    return;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(c.plugin_config_dir, ec)) {
    if (e.path().extension() == ".ini") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::map<std::string, std::string> values;
    if (!readIni(f, values, errors)) continue;
    std::map<std::string, std::string> settings, plugin;
    for (const auto& [k, v] : values) {
      if (k.rfind("settings.", 0) == 0)
        settings[k.substr(9)] = v;
      else
        plugin[k] = v;
    }
    Reader r(f.string(), plugin, errors);
    r.rejectUnknown({"plugin.file", "plugin.enabled", "plugin.required", "plugin.deadline_ms",
                     "plugin.workers", "plugin.tenant_workers", "plugin.max_queued"});
    if (!r.boolean("plugin.enabled", true)) continue;
    const std::string file = r.str("plugin.file", "");
    if (file.empty()) {
      r.error("plugin.file", "required: the plugin's .so, relative to plugins.dir");
      continue;
    }
    plugins::PluginSpec spec;
    spec.config_file = f.string();
    spec.file = resolve(c.plugin_dir, file);
    spec.required = r.boolean("plugin.required", false);
    spec.deadline = std::chrono::milliseconds(
        r.integer("plugin.deadline_ms", c.plugin_deadline.count(), 1, 60000));
    spec.lane.workers = static_cast<size_t>(r.integer("plugin.workers", 4, 1, 256));
    // A tenant whose calls hang leaves a worker for the others (when there are two or more).
    spec.lane.tenant_workers = static_cast<size_t>(r.integer(
        "plugin.tenant_workers", std::max<int64_t>(1, static_cast<int64_t>(spec.lane.workers) - 1),
        1, static_cast<int64_t>(spec.lane.workers)));
    spec.lane.max_queued = static_cast<size_t>(r.integer("plugin.max_queued", 64, 1, 100000));
    spec.settings = std::move(settings);
    c.plugins.push_back(std::move(spec));
  }
}

// Loads it the way outbound HTTPS will, so a file that is not PEM is reported here too.
void checkCaFile(const Reader& r, const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    r.error("outbound.extra_ca_file", fmt::format("'{}' does not exist", file.string()));
    return;
  }
  if (!fs::is_regular_file(file, ec)) {
    r.error("outbound.extra_ca_file", fmt::format("'{}' is not a file", file.string()));
    return;
  }
  try {
    net::makeTlsClientContext(file);
  } catch (const std::exception& e) {
    r.error("outbound.extra_ca_file", e.what());
  }
}

}  // namespace

bool validAccountSid(std::string_view sid) {
  return sid.size() == 34 && sid.substr(0, 2) == "AC" &&
         std::all_of(sid.begin() + 2, sid.end(),
                     [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); });
}

Loaded load(const fs::path& file, const std::map<std::string, std::string>& overrides,
            const fs::path& exe_dir) {
  Loaded out;
  Config& c = out.config;
  c.file = fs::absolute(file).lexically_normal();
  std::map<std::string, std::string> values;
  if (!readIni(c.file, values, out.errors)) return out;
  for (const auto& [k, v] : overrides) values[k] = v;

  Reader r(c.file.string(), values, out.errors);
  std::set<std::string> known;
  for (const auto& k : coreKeys()) known.insert(k.name);
  r.rejectUnknown(known);

  parseListen(r, c);
  c.http_threads = static_cast<int>(r.integer("server.threads", 16, 1, 1024));
  c.http_max_queued = static_cast<int>(r.integer("server.max_queued", 512, 1, 100000));
  c.keepalive_requests = static_cast<int>(r.integer("server.keepalive_requests", 100, 1, 1000000));
  c.keepalive_timeout =
      std::chrono::milliseconds(r.integer("server.keepalive_timeout_ms", 5000, 100, 600000));
  c.http_front = r.str("server.front", "beast");
  if (c.http_front != "poco" && c.http_front != "beast") {
    r.error("server.front", fmt::format("'{}' is neither poco nor beast", c.http_front));
  }
  c.header_timeout =
      std::chrono::milliseconds(r.integer("server.header_timeout_ms", 10000, 100, 600000));
  c.body_timeout =
      std::chrono::milliseconds(r.integer("server.body_timeout_ms", 30000, 100, 600000));
  c.max_connections = static_cast<int>(r.integer("server.max_connections", 10000, 1, 1000000));
  c.max_connections_per_ip =
      static_cast<int>(r.integer("server.max_connections_per_ip", 256, 1, 1000000));
  const fs::path base = c.file.parent_path();
  c.state_dir = resolve(base, r.str("daemon.state_dir", "/var/lib/tollgate"));
  const std::string key_file = r.str("admin.key_file", "");
  if (!key_file.empty()) c.admin_key_file = resolve(base, key_file);
  const std::string plugin_dir = r.str("plugins.dir", "");
  c.plugin_dir = plugin_dir.empty() ? (exe_dir / TOLLGATE_PLUGIN_DIR_FROM_SBIN).lexically_normal()
                                    : resolve(base, plugin_dir);
  const std::string plugin_conf = r.str("plugins.config_dir", "");
  c.plugin_config_dir = plugin_conf.empty() ? base / "plugins.d" : resolve(base, plugin_conf);
  c.plugin_deadline = std::chrono::milliseconds(r.integer("plugins.deadline_ms", 2000, 1, 60000));
  c.storage_plugin = r.str("storage.plugin", "storage-sqlite");
  c.migrate_timeout =
      std::chrono::milliseconds(r.integer("storage.migrate_timeout_ms", 600000, 1000, 86400000));
  c.public_base_url = r.str("twilio.public_base_url", "");
  while (!c.public_base_url.empty() && c.public_base_url.back() == '/')
    c.public_base_url.pop_back();
  if (!c.public_base_url.empty() && c.public_base_url.rfind("https://", 0) != 0 &&
      c.public_base_url.rfind("http://", 0) != 0) {
    r.error("twilio.public_base_url",
            fmt::format("'{}' must start with https:// (or http://)", c.public_base_url));
  }
  {
    std::istringstream in(r.str("twilio.trusted_proxies", ""));
    for (std::string ip; in >> ip;) {
      Poco::Net::IPAddress parsed;
      if (!Poco::Net::IPAddress::tryParse(ip, parsed)) {
        r.error("twilio.trusted_proxies", fmt::format("'{}' is not an IP address", ip));
      } else {
        c.trusted_proxies.push_back(parsed.toString());
      }
    }
  }
  c.master_account_sid = r.str("twilio.account_sid", "");
  if (!c.master_account_sid.empty() && !validAccountSid(c.master_account_sid)) {
    r.error("twilio.account_sid",
            fmt::format("'{}' is not an account SID (AC + 32 hex digits)", c.master_account_sid));
  }
  const std::string token_file = r.str("twilio.auth_token_file", "");
  if (!token_file.empty()) c.master_token_file = resolve(base, token_file);
  const std::string key_file2 = r.str("twilio.token_key_file", "");
  if (!key_file2.empty()) c.token_key_file = resolve(base, key_file2);
  c.route_cache_ttl =
      std::chrono::milliseconds(r.integer("twilio.route_cache_ms", 5000, 0, 3600000));
  c.token_cache_ttl =
      std::chrono::milliseconds(r.integer("twilio.token_cache_ms", 60000, 0, 3600000));
  c.twilio_api_base_url = r.str("twilio.api_base_url", "https://api.twilio.com");
  if (c.twilio_api_base_url.rfind("https://", 0) != 0 &&
      c.twilio_api_base_url.rfind("http://", 0) != 0) {
    r.error("twilio.api_base_url",
            fmt::format("'{}' is not an http:// or https:// URL", c.twilio_api_base_url));
  }
  c.outbox_worker = r.boolean("outbox.worker", true);
  c.outbox_senders = static_cast<int>(r.integer("outbox.senders", 8, 1, 256));
  c.outbox_rounds = static_cast<int>(r.integer("outbox.rounds", 4, 1, 16));
  c.outbox_batch = static_cast<int>(r.integer("outbox.batch", 64, 1, 4096));
  c.outbox_lease = std::chrono::seconds(r.integer("outbox.lease_s", 25, 5, 3600));
  c.outbox_max_attempts = static_cast<int>(r.integer("outbox.max_attempts", 8, 1, 100));
  c.outbox_reconcile_after =
      std::chrono::seconds(r.integer("outbox.reconcile_after_s", 10, 0, 3600));
  c.outbox_reconcile_grace =
      std::chrono::seconds(r.integer("outbox.reconcile_grace_s", 600, 10, 86400));
  c.sender_rates =
      messaging::SenderRates{.long_code_sps = r.integer("outbox.long_code_sps", 1, 0, 1'000'000),
                             .toll_free_sps = r.integer("outbox.toll_free_sps", 3, 0, 1'000'000),
                             .mms_per_s = r.integer("outbox.mms_per_s", 1, 0, 1'000'000)};
  c.outbox_price_after = std::chrono::seconds(r.integer("outbox.price_after_s", 60, 0, 86400));
  c.outbox_price_give_up =
      std::chrono::seconds(r.integer("outbox.price_give_up_s", 86400, 60, 2592000));
  c.outbox_final_status_after =
      std::chrono::seconds(r.integer("outbox.final_status_after_s", 3600, 1, 604800));
  c.outbox_pace_window =
      std::chrono::milliseconds(r.integer("outbox.pace_window_ms", 1000, 10, 60000));
  c.voice_fallback_say =
      r.str("voice.fallback_say",
            "We are sorry, this line cannot take your call right now. Please try again later.");
  c.wallet_currency = r.str("billing.currency", "USD");
  if (c.wallet_currency.size() != 3 ||
      !std::all_of(c.wallet_currency.begin(), c.wallet_currency.end(),
                   [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
    r.error("billing.currency",
            fmt::format("'{}' is not an ISO 4217 code (three capital letters, e.g. USD)",
                        c.wallet_currency));
  }
  c.wallet_credit_limit_micros =
      r.integer("billing.credit_limit_micros", 0, 0, std::numeric_limits<int64_t>::max() / 2);
  c.hold_sweep_interval =
      std::chrono::milliseconds(r.integer("billing.hold_sweep_ms", 5000, 100, 3600000));
  const std::string rounding = r.str("billing.voice_rounding", "minute");
  if (rounding != "minute" && rounding != "second") {
    r.error("billing.voice_rounding", fmt::format("'{}' is not minute or second", rounding));
  }
  c.voice_per_second = rounding == "second";
  c.recharge_lease = std::chrono::seconds(r.integer("billing.recharge_lease_s", 600, 10, 86400));
  c.recharge_backoff = std::chrono::seconds(r.integer("billing.recharge_backoff_s", 60, 1, 86400));
  const std::string stripe_secrets = r.str("stripe.webhook_secret_file", "");
  if (!stripe_secrets.empty()) c.stripe_webhook_secret_file = resolve(base, stripe_secrets);
  c.stripe_webhook_tolerance =
      std::chrono::seconds(r.integer("stripe.webhook_tolerance_s", 300, 1, 86400));
  c.log_level = r.str("log.level", "info");
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error"};
  if (!levels.count(c.log_level)) {
    r.error("log.level",
            fmt::format("'{}' is not one of trace, debug, info, warn, error", c.log_level));
  }
  const std::string ca_file = r.str("outbound.extra_ca_file", "");
  if (!ca_file.empty()) {
    c.outbound_extra_ca_file = resolve(base, ca_file);
    checkCaFile(r, c.outbound_extra_ca_file);
  }
  loadPlugins(c, out.errors);
  return out;
}

std::vector<ConfigError> checkPlugins(const Config& c, plugins::PluginHost& host) {
  std::vector<ConfigError> errors;
  bool storage_found = false;
  for (const auto& spec : c.plugins) {
    plugins::LoadFailure failure;
    auto in = host.inspect(spec.file, &failure);
    if (!in) {
      errors.push_back({spec.config_file, "plugin.file", failure.message});
      continue;
    }
    for (const auto& e : plugins::applySettings(*in, spec.settings).errors) {
      errors.push_back({spec.config_file, "", e});
    }
    if (in->id == c.storage_plugin) {
      storage_found = true;
      if (in->kind != TG_KIND_STORAGE) {
        errors.push_back({c.file.string(), "storage.plugin",
                          fmt::format("plugin '{}' is a {} plugin, not storage", in->id,
                                      plugins::kindName(in->kind))});
      }
    }
  }
  if (!storage_found) {
    errors.push_back({c.file.string(), "storage.plugin",
                      fmt::format("no enabled plugin in {} has id '{}'",
                                  c.plugin_config_dir.string(), c.storage_plugin)});
  }
  return errors;
}

}  // namespace tollgate::config
