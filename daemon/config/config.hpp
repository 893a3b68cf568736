// tollgated's configuration: /etc/tollgate/tollgate.ini plus one plugins.d/*.ini per plugin.
// Every key the core understands is declared once in config.cpp (name, default, help), so
// unknown keys and bad values are reported by file and key, never guessed at.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "messaging/pace.hpp"
#include "plugins/plugin_host.hpp"

namespace tollgate::config {

struct Config {
  std::filesystem::path file;  // tollgate.ini

  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  int http_threads = 16;
  int http_max_queued = 512;
  int keepalive_requests = 100;  // a connection is closed after this many requests
  std::chrono::milliseconds keepalive_timeout{5000};
  // "poco": Poco's HTTPServer, a thread per connection; "beast": the event-driven front
  // (http/front.hpp), whose deadlines and limits follow.
  std::string http_front = "beast";
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  int max_connections = 10000;
  int max_connections_per_ip = 256;

  std::filesystem::path state_dir;
  std::filesystem::path admin_key_file;  // empty: credential or <state_dir>/admin.key
  std::filesystem::path plugin_dir;
  std::filesystem::path plugin_config_dir;
  std::chrono::milliseconds plugin_deadline{2000};
  std::string storage_plugin;  // id of the storage plugin to use
  // Schema migrations at start, waiting for another daemon's included.
  std::chrono::milliseconds migrate_timeout{600000};

  // Twilio
  std::string public_base_url;               // scheme://host[:port] Twilio calls; empty: Host
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-* headers are believed
  std::string master_account_sid;            // AC...; empty: no master account
  std::filesystem::path master_token_file;   // its auth token
  std::filesystem::path token_key_file;      // 32-byte key (64 hex) that encrypts stored tokens
  std::chrono::milliseconds route_cache_ttl{5000};
  std::chrono::milliseconds token_cache_ttl{60000};            // decrypted subaccount tokens
  std::string twilio_api_base_url = "https://api.twilio.com";  // where messages are sent
  // The outbox (docs/adr/0014).
  bool outbox_worker = true;  // off: queue only (the send API), others send
  int outbox_senders = 8;
  int outbox_rounds = 4;
  int outbox_batch = 64;
  std::chrono::seconds outbox_lease{25};
  int outbox_max_attempts = 8;
  std::chrono::seconds outbox_reconcile_after{10};
  std::chrono::seconds outbox_reconcile_grace{600};
  messaging::SenderRates sender_rates;  // senders' pace (docs/adr/0015)
  std::chrono::milliseconds outbox_pace_window{1000};
  std::chrono::seconds outbox_price_after{60};  // Twilio's price looked up this long after final
  std::chrono::seconds outbox_price_give_up{86400};
  std::chrono::seconds outbox_final_status_after{3600};  // lost final callbacks looked up
  std::string voice_fallback_say;  // spoken when a voice plugin fails or overruns
  std::string log_level = "info";

  // Every tenant's prepaid wallet, created with the tenant.
  std::string wallet_currency = "USD";                  // ISO 4217
  int64_t wallet_credit_limit_micros = 0;               // how far below zero it may go
  std::chrono::milliseconds hold_sweep_interval{5000};  // expired holds released this often
  bool voice_per_second = false;              // calls charged per second, not per started minute
  std::chrono::seconds recharge_lease{600};   // one auto-recharge of a wallet at a time
  std::chrono::seconds recharge_backoff{60};  // after a failed one; doubled per failure in a row

  // Stripe's webhooks (POST /stripe/webhook): the endpoint's signing secrets, one per line.
  std::filesystem::path stripe_webhook_secret_file;  // empty: the endpoint is off (404)
  std::chrono::seconds stripe_webhook_tolerance{300};

  // Outbound HTTPS (forwards, Twilio, Stripe) trusts the system CA store and this PEM file.
  std::filesystem::path outbound_extra_ca_file;  // empty: the system store only

  std::vector<plugins::PluginSpec> plugins;  // enabled plugins, from plugins.d
};

struct ConfigError {
  std::string file;
  std::string key;
  std::string reason;
  std::string str() const;  // "FILE: KEY: REASON"
};

struct Loaded {
  Config config;
  std::vector<ConfigError> errors;
};

// Reads `file` (and its plugins.d), applying `overrides` ("section.key" -> value, from -D).
// `exe_dir` locates the default plugin directory relative to the executable.
Loaded load(const std::filesystem::path& file, const std::map<std::string, std::string>& overrides,
            const std::filesystem::path& exe_dir);

// Everything --check-config checks beyond load(): every plugin opens, its descriptor is
// acceptable, its settings match the keys it declares, and the storage plugin exists.
std::vector<ConfigError> checkPlugins(const Config& config, plugins::PluginHost& host);

bool validAccountSid(std::string_view sid);

// The core's keys, for --help and the admin guide: "section.key", default, help.
struct KeyDoc {
  const char* name;
  const char* default_value;
  const char* help;
};
const std::vector<KeyDoc>& coreKeys();

}  // namespace tollgate::config
