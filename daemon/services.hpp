// What request handlers reach: the parts of the daemon that come up after the HTTP server
// starts listening (so /livez answers during start-up). Handlers call requireReady() first.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "billing/auto_recharge.hpp"
#include "billing/billing.hpp"
#include "billing/pricing.hpp"
#include "config/config.hpp"
#include "ledger/hold_sweeper.hpp"
#include "ledger/ledger.hpp"
#include "ledger/usage_charges.hpp"
#include "messaging/optouts.hpp"
#include "messaging/outbox_worker.hpp"
#include "net/http_client.hpp"
#include "numbers/routes.hpp"
#include "plugins/deadline.hpp"
#include "plugins/plugin_host.hpp"
#include "storage/store.hpp"
#include "tenancy/tenants.hpp"
#include "twilio/accounts.hpp"
#include "twilio/webhook.hpp"
#include "voice/call_prices.hpp"

namespace tollgate {

namespace http {
class Auth;
}
namespace messaging {
class Forwarder;
}

struct Services {
  const config::Config* config = nullptr;
  plugins::PluginHost* host = nullptr;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<tenancy::Tenants> tenants;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ledger::HoldSweeper> sweeper;  // null with a storage plugin without holds
  std::unique_ptr<http::Auth> auth;
  std::unique_ptr<numbers::Routes> routes;
  std::unique_ptr<twilio::Accounts> accounts;
  std::unique_ptr<twilio::WebhookGate> webhooks;
  std::unique_ptr<messaging::OptOuts> optouts;
  std::unique_ptr<messaging::Forwarder> forwarder;
  std::unique_ptr<ledger::ChargingUsageEvents> usage;
  std::unique_ptr<billing::Pricing> pricing;        // its plugin may be null: none enabled
  std::unique_ptr<billing::Billing> billing;        // the billing providers (may be none)
  std::unique_ptr<billing::AutoRecharge> recharge;  // null with a storage plugin before 1.6
  // Sending (issue 26): Twilio's REST API, and the outbox's worker (null with a storage plugin
  // before 1.8, which has no outbox).
  std::unique_ptr<net::HttpClient> twilio_http;
  std::unique_ptr<twilio::RestClient> twilio_rest;
  std::unique_ptr<messaging::OutboxWorker> outbox;
  // Twilio's price of calls, reconciled with their charges (null unless storage keeps calls'
  // prices, ABI 1.13, and a pricing plugin charges calls).
  std::unique_ptr<voice::CallPrices> call_prices;
  std::vector<std::string> stripe_webhook_secrets;  // empty: /stripe/webhook is off
  std::atomic<uint64_t> stripe_bad_signatures{0};
  // Run with a tenant's id when its subscription becomes active (the numbers issue gives it a
  // subaccount and a first number here).
  std::vector<std::function<void(const std::string&)>> provisioning;

  ~Services();

  void markReady() { ready_.store(true, std::memory_order_release); }
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  void setState(std::string s) {
    std::lock_guard lock(mu_);
    state_ = std::move(s);
  }
  std::string state() const {
    std::lock_guard lock(mu_);
    return state_;
  }
  // Throws a 503 ApiError while the daemon is still starting.
  void requireReady() const;

 private:
  std::atomic<bool> ready_{false};
  mutable std::mutex mu_;
  std::string state_ = "starting";
};

// A webhook handler behind readiness and the webhook bracket (twilio/webhook.hpp).
inline http::Response serveWebhook(Services& svc, http::Request& r, const twilio::WebhookSpec& spec,
                                   const twilio::WebhookHandler& handler) {
  svc.requireReady();
  return svc.webhooks->serve(r, spec, handler);
}

}  // namespace tollgate
