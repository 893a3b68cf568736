// tollgated: the gateway daemon.
#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/ServerApplication.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>
#include <sstream>
#include <thread>

#include "billing/stripe_webhooks.hpp"
#include "config/config.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "http/front.hpp"
#include "ledger/usage_charges.hpp"
#include "messaging/forwarder.hpp"
#include "messaging/outbox_json.hpp"
#include "net/client.hpp"
#include "ops/logging.hpp"
#include "ops/termination.hpp"
#include "services.hpp"
#include "tenancy/secret_file.hpp"

namespace tollgate {
namespace fs = std::filesystem;
using Poco::Util::Option;
using Poco::Util::OptionSet;

namespace {
constexpr int kExitConfig = 78;  // sysexits EX_CONFIG
constexpr int kExitStart = 1;
// The one storage plugin that is never shared between daemons (see loadTokenKey).
constexpr const char* kEmbeddedStorage = "storage-sqlite";

fs::path exeDir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : self.parent_path();
}
}  // namespace

class Tollgated : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(
        Option("config", "c", "configuration file").argument("FILE").binding("tg.config"));
    options.addOption(
        Option("check-config", "", "validate the configuration and plugins, then exit"));
    options.addOption(Option("define", "D", "override a key of the main file: -D section.key=value")
                          .argument("KEY=VALUE")
                          .repeatable(true));
    options.addOption(Option("version", "v", "print the version and exit"));
    options.addOption(Option("help", "h", "print this help and exit"));
  }

  void handleOption(const std::string& name, const std::string& value) override {
    ServerApplication::handleOption(name, value);
    if (name == "help") {
      Poco::Util::HelpFormatter f(options());
      f.setCommand(commandName());
      f.setUsage("[--config FILE] [--check-config] [-D section.key=value]...");
      f.setHeader("Tollgate telephony gateway daemon.");
      f.format(std::cout);
      std::cout << "\nKeys of tollgate.ini:\n";
      for (const auto& k : config::coreKeys()) {
        std::cout << fmt::format("  {:<22} default '{}': {}\n", k.name, k.default_value, k.help);
      }
      exit_now_ = true;
      stopOptionsProcessing();
    } else if (name == "version") {
      std::cout << fmt::format("tollgated {} (plugin ABI {}.{})\n", TOLLGATE_VERSION, TG_ABI_MAJOR,
                               TG_ABI_MINOR);
      exit_now_ = true;
      stopOptionsProcessing();
    } else if (name == "check-config") {
      check_only_ = true;
    } else if (name == "define") {
      const auto eq = value.find('=');
      if (eq == std::string::npos)
        throw Poco::InvalidArgumentException("-D wants section.key=value");
      overrides_[value.substr(0, eq)] = value.substr(eq + 1);
    }
  }

  int main(const std::vector<std::string>&) override {
    if (exit_now_) return EXIT_OK;
    const fs::path file = config().getString("tg.config", "/etc/tollgate/tollgate.ini");
    auto loaded = config::load(file, overrides_, exeDir());
    if (check_only_) return checkConfig(loaded);
    terminations_ = std::make_unique<ops::TerminationRequests>();  // before any other thread

    ops::setupLogging(loaded.errors.empty() ? loaded.config.log_level : "info");
    if (!loaded.errors.empty()) {
      for (const auto& e : loaded.errors) spdlog::error("config: {}", e.str());
      spdlog::error(
          "not starting: fix the configuration (tollgated --check-config names every error)");
      return kExitConfig;
    }
    return serve(loaded.config);
  }

 private:
  std::unique_ptr<ops::TerminationRequests> terminations_;

  int checkConfig(config::Loaded& loaded) {
    auto errors = loaded.errors;
    if (fs::exists(loaded.config.file)) {
      plugins::PluginHost host(loaded.config.state_dir.string());
      for (auto& e : config::checkPlugins(loaded.config, host)) errors.push_back(std::move(e));
    }
    for (const auto& e : errors) std::cerr << e.str() << "\n";
    if (!errors.empty()) {
      std::cerr << errors.size() << " error(s) in " << loaded.config.file.string() << "\n";
      return kExitConfig;
    }
    std::cout << "configuration OK: " << loaded.config.file.string() << " ("
              << loaded.config.plugins.size() << " plugin(s))\n";
    return EXIT_OK;
  }

  int serve(const config::Config& c) {
    // Every connection is a file descriptor: take the hard limit (systemd's LimitNOFILE), as the
    // event-driven front holds up to server.max_connections of them.
    if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
      lim.rlim_cur = lim.rlim_max;
      setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::error_code ec;
    fs::create_directories(c.state_dir, ec);
    if (ec) {
      spdlog::error("cannot create state directory {}: {}", c.state_dir.string(), ec.message());
      return kExitStart;
    }
    plugins::PluginHost host(c.state_dir.string());
    Services svc;
    svc.host = &host;
    svc.config = &c;

    http::Router router;
    http::addOpsRoutes(router, svc);
    http::addAdminRoutes(router, svc);
    http::addTenantRoutes(router, svc);
    http::addWalletRoutes(router, svc);
    http::addPriceRoutes(router, svc);
    http::addSendRoutes(router, svc);
    billing::addStripeWebhookRoutes(router, svc);
    http::addNumberRoutes(router, svc);
    http::addLogRoutes(router, svc);
    messaging::addSmsWebhookRoutes(router, svc);
    voice::addVoiceWebhookRoutes(router, svc);

    // The front: Poco's HTTPServer (a thread per connection) or the event-driven one.
    std::unique_ptr<http::Front> front;
    std::unique_ptr<Poco::ThreadPool> pool;
    std::unique_ptr<Poco::Net::HTTPServer> server;
    std::string url;
    if (c.http_front == "beast") {
      try {
        front = std::make_unique<http::Front>(
            router, http::FrontOptions{
                        .host = c.listen_host,
                        .port = static_cast<uint16_t>(c.listen_port),
                        .io_threads = 1,
                        .workers = static_cast<size_t>(c.http_threads),
                        .header_timeout = c.header_timeout,
                        .body_timeout = c.body_timeout,
                        .keepalive_timeout = c.keepalive_timeout,
                        .keepalive_requests = static_cast<size_t>(c.keepalive_requests),
                        .max_connections = static_cast<size_t>(c.max_connections),
                        .max_connections_per_ip = static_cast<size_t>(c.max_connections_per_ip)});
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return kExitStart;
      }
      front->start();
      url = "http://" + front->address();
    } else {
      Poco::Net::ServerSocket socket;
      try {
        socket.bind(Poco::Net::SocketAddress(c.listen_host, c.listen_port), true);
        socket.listen(256);
      } catch (const Poco::Exception& e) {
        spdlog::error("cannot listen on {}:{}: {}", c.listen_host, c.listen_port, e.displayText());
        return kExitStart;
      }
      auto* params = new Poco::Net::HTTPServerParams;
      params->setMaxThreads(c.http_threads);
      params->setMaxQueued(c.http_max_queued);
      params->setKeepAlive(true);
      // Poco gives a worker to a connection for its whole life: without these bounds, clients
      // beyond server.threads would wait for others to disconnect (seen in bench/).
      params->setMaxKeepAliveRequests(c.keepalive_requests);
      params->setKeepAliveTimeout(Poco::Timespan(c.keepalive_timeout.count() * 1000));
      pool = std::make_unique<Poco::ThreadPool>(c.http_threads, c.http_threads);
      server = std::make_unique<Poco::Net::HTTPServer>(http::newPocoFront(router), *pool, socket,
                                                       params);
      server->start();
      url = fmt::format("http://{}", socket.address().toString());
    }
    spdlog::info("tollgated {} listening on {} (GET {}/readyz)", TOLLGATE_VERSION, url, url);

    const int rc = start(c, svc, host);
    if (rc == EXIT_OK) {
      ops::notify("READY=1\nSTATUS=serving on " + url);
      spdlog::info("ready: storage {} migrated, {} plugin(s) loaded", c.storage_plugin,
                   host.all().size());
      terminations_->wait();
      spdlog::info("stopping: finishing requests in flight");
      ops::notify("STOPPING=1");
    }
    if (front) {
      front->stop(std::chrono::seconds(10));  // no new connections; those in flight end
    } else {
      server->stop();  // no new connections; those open are served to the end
      for (int i = 0; i < 100 && server->currentConnections() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      server->stopAll(true);
      pool->joinAll();
    }
    svc.call_prices.reset();           // its lookups too
    svc.outbox.reset();                // finishes its round, before the storage plugin goes
    svc.sweeper.reset();               // before the storage plugin it calls goes
    if (svc.usage) svc.usage->stop();  // settles what is queued, with the pricing plugin
    svc.recharge.reset();              // and the storage and billing plugins it calls
    host.shutdownAll();
    spdlog::info("stopped");
    return rc;
  }

  // Everything /readyz waits for: plugins, storage migrated, admin key.
  int start(const config::Config& c, Services& svc, plugins::PluginHost& host) {
    // Before any plugin is loaded or any outbound connection can be opened.
    try {
      net::initTlsClient(c.outbound_extra_ca_file);
    } catch (const std::exception& e) {
      spdlog::error("not starting: outbound HTTPS: {}", e.what());
      return kExitStart;
    }
    if (!c.outbound_extra_ca_file.empty()) {
      spdlog::info("outbound HTTPS trusts the system CA store and {}",
                   c.outbound_extra_ca_file.string());
    }
    for (const auto& spec : c.plugins) {
      if (host.load(spec) && spec.required) {
        spdlog::error("not starting: required plugin {} was rejected (see above)",
                      spec.file.string());
        return kExitStart;
      }
    }
    plugins::Plugin* storage = host.find(c.storage_plugin);
    if (storage == nullptr || storage->kind() != TG_KIND_STORAGE) {
      spdlog::error("not starting: storage plugin '{}' is not loaded (storage.plugin in {})",
                    c.storage_plugin, c.file.string());
      return kExitStart;
    }
    svc.store = std::make_unique<storage::Store>(*storage);
    if (const plugins::CallbackSlot* missing = svc.store->missingCallback()) {
      const bool older_minor =
          missing->since_minor > 0 &&
          !plugins::holds(storage->vtable<tg_storage_vtable>()->struct_size, *missing);
      spdlog::error(
          "not starting: storage plugin {}: vtable lacks required callback '{}' (ABI {}.{}){}",
          storage->file().string(), missing->name, TG_ABI_MAJOR, missing->since_minor,
          older_minor ? fmt::format("; it implements plugin ABI {}.{} only; tollgated needs the "
                                    "{}.{} operations (numbers, messages, calls, opt-outs): "
                                    "rebuild it against Tollgate SDK {}.{}",
                                    TG_ABI_MAJOR, missing->since_minor - 1, TG_ABI_MAJOR,
                                    storage::Store::kNeededMinor, TG_ABI_MAJOR,
                                    storage::Store::kNeededMinor)
                      : std::string());
      return kExitStart;
    }
    try {
      svc.setState("migrating storage");
      // A migration may wait for another daemon's and build indexes on large tables: systemd's
      // start timeout is stretched to cover it (and more, for what follows).
      ops::notify(fmt::format("EXTEND_TIMEOUT_USEC={}",
                              (c.migrate_timeout + std::chrono::seconds(30)).count() * 1000));
      const int64_t version = svc.store->migrate(c.migrate_timeout);
      spdlog::info("storage {} at schema version {}", storage->id(), version);
      fs::path key_source;
      const std::string admin_key = tenancy::loadAdminKey(c, key_source);
      spdlog::info("admin key from {}", key_source.string());
      svc.tenants = std::make_unique<tenancy::Tenants>(*svc.store);
      svc.ledger = std::make_unique<ledger::Ledger>(*svc.store, c.wallet_currency,
                                                    c.wallet_credit_limit_micros);
      // Every tenant has its wallet: one created but not its wallet (a crash between the two)
      // gets it now.
      if (const size_t created = svc.ledger->ensureWallets(tenancy::nowMs())) {
        spdlog::info("created {} missing {} wallet(s)", created, c.wallet_currency);
      }
      if (svc.store->hasHolds()) {
        svc.sweeper = std::make_unique<ledger::HoldSweeper>(*svc.store, c.hold_sweep_interval);
      } else {
        spdlog::warn("storage {} has no holds (ABI 1.4): reserves are refused", storage->id());
      }
      svc.auth = std::make_unique<http::Auth>(*svc.tenants, admin_key);
      svc.pricing = std::make_unique<billing::Pricing>(pricingPlugin(svc));
      svc.billing = std::make_unique<billing::Billing>(*svc.host);
      if (svc.store->hasBillingProfiles()) {
        svc.recharge = std::make_unique<billing::AutoRecharge>(
            *svc.store, *svc.billing, c.wallet_currency,
            billing::RechargeOptions{.lease = c.recharge_lease, .backoff = c.recharge_backoff});
        svc.store->onSpend([r = svc.recharge.get()](std::string_view t) { r->spent(t); });
      } else {
        spdlog::warn("storage {} has no billing profiles (ABI 1.6): no auto-recharge",
                     storage->id());
      }
      if (!c.stripe_webhook_secret_file.empty()) {
        svc.stripe_webhook_secrets = billing::loadStripeSecrets(c.stripe_webhook_secret_file);
        spdlog::info("Stripe webhooks on /stripe/webhook ({} signing secret(s))",
                     svc.stripe_webhook_secrets.size());
      }
      startTwilio(c, svc);
    } catch (const std::exception& e) {
      spdlog::error("not starting: {}", e.what());
      return kExitStart;
    }
    svc.setState("ready");
    terminations_->ready();  // before /readyz says so: a stop from then on is a clean one
    svc.markReady();
    return EXIT_OK;
  }

  // The enabled pricing plugin; with several, the first loaded (plugins.d's order), said so.
  static plugins::Plugin* pricingPlugin(Services& svc) {
    plugins::Plugin* first = nullptr;
    for (plugins::Plugin* p : svc.host->all()) {
      if (p->kind() != TG_KIND_PRICING) continue;
      if (first == nullptr) {
        first = p;
        spdlog::info("prices from plugin {}", p->id());
      } else {
        spdlog::warn("pricing plugin {} is enabled too but not used: prices come from {}", p->id(),
                     first->id());
      }
    }
    return first;
  }

  // The key that seals subaccount tokens in storage. Every daemon sharing the storage must use
  // the same one, so it may be generated only for the embedded SQLite database, which one
  // daemon owns; any other storage plugin counts as shared.
  static std::string loadTokenKey(const config::Config& c, fs::path& used) {
    const bool shared = c.storage_plugin != kEmbeddedStorage;
    const fs::path generated = c.state_dir / "token.key";
    auto key = tenancy::loadSecret(
        {c.token_key_file, "token-key", shared ? fs::path() : generated, 64}, used);
    if (key) return *key;
    std::error_code ec;
    throw std::runtime_error(fmt::format(
        "no subaccount token key: storage plugin '{}' can be shared by several daemons, and "
        "they must all seal tokens with the same key, so tollgated does not generate one. Set "
        "twilio.token_key_file to a file holding 64 hex digits (create it once with 'openssl "
        "rand -hex 32' and give every daemon the same file), or provide the systemd credential "
        "token-key{}",
        c.storage_plugin,
        fs::exists(generated, ec)
            ? fmt::format("; {} holds the key this daemon generated before: point "
                          "twilio.token_key_file at it and copy it to the other daemons",
                          generated.string())
            : std::string()));
  }

  // Webhook machinery: routes, account tokens, the gate, opt-outs, plugin workers.
  static void startTwilio(const config::Config& c, Services& svc) {
    fs::path used;
    std::string master_token;
    if (!c.master_account_sid.empty()) {
      auto token = tenancy::loadSecret({c.master_token_file, "twilio-token", {}, 16}, used);
      if (!token) {
        throw std::runtime_error(
            "twilio.account_sid is set but no auth token: set "
            "twilio.auth_token_file or the credential twilio-token");
      }
      master_token = *token;
      spdlog::info("Twilio master account {} (token from {})", c.master_account_sid, used.string());
    } else {
      spdlog::warn(
          "no Twilio master account configured: only numbers of registered "
          "subaccounts can be served");
    }
    const std::string key = loadTokenKey(c, used);
    spdlog::info("subaccount token key from {}", used.string());
    svc.routes = std::make_unique<numbers::Routes>(*svc.store, c.route_cache_ttl);
    svc.accounts = std::make_unique<twilio::Accounts>(
        *svc.store, twilio::TokenVault::fromHex(key.substr(0, 64)), c.master_account_sid,
        master_token, c.token_cache_ttl);
    svc.webhooks = std::make_unique<twilio::WebhookGate>(c, *svc.routes, *svc.accounts, *svc.store);
    svc.optouts = std::make_unique<messaging::OptOuts>(*svc.store);
    svc.forwarder = std::make_unique<messaging::Forwarder>(2);
    svc.usage = std::make_unique<ledger::ChargingUsageEvents>(
        *svc.store, *svc.pricing, c.wallet_currency, c.voice_per_second);
    startOutbox(c, svc);
  }

  // Whether `url` is on this machine (Twilio's API there is a simulator: sandbox mode).
  static bool isLoopback(const std::string& url) {
    const std::string host = Poco::URI(url).getHost();
    return host == "127.0.0.1" || host == "localhost" || host == "::1";
  }

  // Where Twilio reports the statuses of what the outbox sent: the public URL; with none, the
  // listening address when Twilio is a simulator on this machine; otherwise nowhere (logged).
  static std::string statusCallbackBase(const config::Config& c, const Services& svc) {
    if (!svc.store->takesOutboxStatus()) {
      spdlog::warn("storage plugin before ABI 1.9: sent messages get no status callbacks");
      return {};
    }
    if (!c.public_base_url.empty()) return c.public_base_url;
    if (isLoopback(c.twilio_api_base_url)) {
      return fmt::format("http://{}:{}", c.listen_host, c.listen_port);
    }
    spdlog::warn("no [twilio] public_base_url: Twilio cannot report what happens to sent messages");
    return {};
  }

  // The Twilio account of a tenant's number (its credentials), or nullopt if it has none.
  static std::optional<twilio::Credentials> accountOf(Services& svc, const std::string& tenant_id,
                                                      const std::string& e164) {
    const auto number = svc.store->number(tenant_id, e164);
    if (!number || number->account_sid.empty()) return std::nullopt;
    const auto token = svc.accounts->authToken(number->account_sid);
    if (!token) return std::nullopt;
    return twilio::Credentials{.account_sid = number->account_sid, .auth_token = *token};
  }

  // The outbox's worker: sends what the send API queued, through Twilio's REST API, with the
  // account of the number it is sent from (docs/adr/0014).
  static void startOutbox(const config::Config& c, Services& svc) {
    if (!svc.store->hasOutbox()) {
      spdlog::warn("storage has no outbox (ABI 1.8): sending is off");
      return;
    }
    svc.twilio_http = std::make_unique<net::HttpClient>();
    svc.twilio_rest = std::make_unique<twilio::RestClient>(
        *svc.twilio_http, twilio::RestClient::Options{.api_base_url = c.twilio_api_base_url});
    Services* s = &svc;
    svc.outbox = std::make_unique<messaging::OutboxWorker>(
        *svc.store, *svc.twilio_rest,
        [s](const storage::OutboxMessage& m) { return accountOf(*s, m.tenant_id, m.from_number); },
        [base = statusCallbackBase(c, svc)](const storage::OutboxMessage& m) {
          if (base.empty()) return std::string();
          return fmt::format("{}/twilio/sms/status?m={}{}", base, m.id,
                             m.status_callback.empty() ? "" : "&cb=1");
        },
        messaging::OutboxWorker::Options{
            .owner = fmt::format("{}:{}", Poco::Environment::nodeName(), ::getpid()),
            .lease = c.outbox_lease,
            .batch = static_cast<uint32_t>(c.outbox_batch),
            .senders = static_cast<size_t>(c.outbox_senders),
            .rounds = static_cast<size_t>(c.outbox_rounds),
            .max_attempts = c.outbox_max_attempts,
            .reconcile_after = c.outbox_reconcile_after,
            .reconcile_grace = c.outbox_reconcile_grace,
            .pace_window = c.outbox_pace_window,
            .price_after = c.outbox_price_after,
            .price_give_up = c.outbox_price_give_up,
            .final_status_after = c.outbox_final_status_after,
            .found_at_twilio = [s](const storage::OutboxMessage& m) {
              if (m.status_callback.empty()) return;
              std::ostringstream body;
              messaging::outboxJson(m).stringify(body);
              s->forwarder->post(messaging::Forward{m.status_callback, body.str(), m.id});
            }});
    // Calls' prices: only calls the pricing plugin charges have a charge to reconcile.
    if (svc.store->pricesCalls() && svc.pricing->plugin() != nullptr) {
      svc.call_prices = std::make_unique<voice::CallPrices>(
          *svc.store, *svc.twilio_rest,
          [s](const storage::Call& call) {
            return accountOf(
                *s, call.tenant_id,
                call.direction == TG_DIRECTION_INBOUND ? call.to_number : call.from_number);
          },
          voice::CallPrices::Options{.currency = c.wallet_currency,
                                     .price_after = c.outbox_price_after,
                                     .price_give_up = c.outbox_price_give_up,
                                     .poll = std::chrono::seconds(2)});
      svc.call_prices->start();
    }
    if (!svc.store->pacesSenders()) {
      spdlog::warn(
          "outbox: the storage plugin predates ABI 1.10: senders' rates ([outbox] "
          "long_code_sps, ...) are not kept; Twilio queues what comes faster");
    }
    if (!c.outbox_worker) {
      spdlog::warn(
          "outbox: worker off ([outbox] worker): messages are queued here, sent by others");
      return;
    }
    svc.outbox->start();
    if (isLoopback(c.twilio_api_base_url)) {
      spdlog::warn(
          "SANDBOX MODE: Twilio's API is {} on this machine (tollgate-twilio-sim): "
          "messages go to a simulator and never reach a phone",
          c.twilio_api_base_url);
    } else {
      spdlog::info("outbox: sending through {}", c.twilio_api_base_url);
    }
  }

  bool exit_now_ = false;
  bool check_only_ = false;
  std::map<std::string, std::string> overrides_;
};

}  // namespace tollgate

POCO_SERVER_MAIN(tollgate::Tollgated)
