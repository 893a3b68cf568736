// Liveness, readiness and Prometheus metrics.
#include <Poco/JSON/Array.h>
#include <fmt/format.h>

#include "http/api.hpp"
#include "http/auth.hpp"
#include "messaging/forwarder.hpp"
#include "messaging/outbox_worker.hpp"

namespace tollgate {

Services::~Services() = default;

void Services::requireReady() const {
  if (!ready()) throw http::ApiError(503, "starting", "tollgated is " + state());
}

namespace http {
namespace {

// A Prometheus label value: backslash, double quote and newline escaped. (A plugin names its
// own counters; nothing it chooses can break the exposition format.)
std::string labelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void addOpsRoutes(Router& router, Services& svc) {
  router.add("GET", "/livez", [](Request&) {
    Poco::JSON::Object o;
    o.set("status", "ok");
    return Response::json(200, o);
  });

  // 503 until storage is migrated and every required plugin is up.
  router.add("GET", "/readyz", [&svc](Request&) {
    Poco::JSON::Object o;
    const bool ready = svc.ready();
    o.set("status", ready ? "ready" : svc.state());
    if (svc.host != nullptr) {
      Poco::JSON::Array list;
      Poco::JSON::Object stuck;  // plugins with workers stuck in one call (Plugin::kStuckAfter)
      for (auto* p : svc.host->all()) {
        list.add(p->id());
        if (const size_t n = p->stuckWorkers(); n > 0) stuck.set(p->id(), n);
      }
      o.set("plugins", list);
      if (stuck.size() > 0) o.set("stuck_workers", stuck);
    }
    return Response::json(ready ? 200 : 503, o);
  });

  router.add("GET", "/metrics", [&svc](Request&) {
    std::string out;
    out +=
        "# HELP tollgate_ready 1 when the daemon is ready to serve.\n# TYPE tollgate_ready gauge\n";
    out += fmt::format("tollgate_ready {}\n", svc.ready() ? 1 : 0);
    out +=
        "# HELP tollgate_plugin_calls_total Calls into each plugin.\n"
        "# TYPE tollgate_plugin_calls_total counter\n"
        "# HELP tollgate_plugin_errors_total Plugin calls that returned an error status.\n"
        "# TYPE tollgate_plugin_errors_total counter\n"
        "# HELP tollgate_plugin_overruns_total Plugin calls that passed their deadline.\n"
        "# TYPE tollgate_plugin_overruns_total counter\n"
        "# HELP tollgate_plugin_refused_total Plugin calls refused at once: the plugin's queue, or "
        "the tenant's half of it, was full.\n"
        "# TYPE tollgate_plugin_refused_total counter\n"
        "# HELP tollgate_plugin_skipped_total Queued plugin calls dropped because their caller had "
        "gone.\n"
        "# TYPE tollgate_plugin_skipped_total counter\n"
        "# HELP tollgate_plugin_stuck_workers Workers in one plugin call for longer than 3 "
        "deadlines.\n"
        "# TYPE tollgate_plugin_stuck_workers gauge\n";
    if (svc.host != nullptr) {
      for (auto* p : svc.host->all()) {
        out += fmt::format("tollgate_plugin_calls_total{{plugin=\"{}\"}} {}\n", p->id(),
                           p->stats().calls.load());
        out += fmt::format("tollgate_plugin_errors_total{{plugin=\"{}\"}} {}\n", p->id(),
                           p->stats().errors.load());
        out += fmt::format("tollgate_plugin_overruns_total{{plugin=\"{}\"}} {}\n", p->id(),
                           p->stats().overruns.load());
        out += fmt::format("tollgate_plugin_refused_total{{plugin=\"{}\"}} {}\n", p->id(),
                           p->stats().refused.load());
        out += fmt::format("tollgate_plugin_skipped_total{{plugin=\"{}\"}} {}\n", p->id(),
                           p->skippedCalls());
        out += fmt::format("tollgate_plugin_stuck_workers{{plugin=\"{}\"}} {}\n", p->id(),
                           p->stuckWorkers());
      }
      out +=
          "# HELP tollgate_plugin_counter_total What plugins count of their own work (metric_add), "
          "by plugin and name.\n"
          "# TYPE tollgate_plugin_counter_total counter\n";
      for (auto* p : svc.host->all()) {
        for (const auto& [name, value] : p->metrics()) {
          out += fmt::format("tollgate_plugin_counter_total{{plugin=\"{}\",name=\"{}\"}} {}\n",
                             p->id(), labelValue(name), value);
        }
      }
    }
    if (svc.ready() && svc.webhooks) {
      const auto& w = svc.webhooks->counters();
      auto counter = [&out](const char* name, const char* help, uint64_t v) {
        out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
      };
      counter("tollgate_webhooks_total", "Twilio webhooks received.", w.received.load());
      counter("tollgate_webhook_bad_signature_total",
              "Webhooks refused for a missing or wrong signature.", w.bad_signature.load());
      counter("tollgate_webhook_unknown_number_total", "Webhooks for numbers no tenant owns.",
              w.unknown_number.load());
      counter("tollgate_webhook_suspended_total", "Webhooks for suspended tenants.",
              w.suspended.load());
      counter("tollgate_webhook_replayed_total",
              "Retried webhooks answered from the stored response.", w.replayed.load());
      counter("tollgate_plugin_fallbacks_total",
              "Answers that fell back because a plugin failed or overran.",
              w.plugin_fallbacks.load());
      counter("tollgate_replies_suppressed_total", "Replies withheld because the sender opted out.",
              w.replies_suppressed.load());
      counter("tollgate_messages_received_total", "Inbound messages recorded.",
              svc.usage->messages_received.load());
      counter("tollgate_calls_completed_total", "Calls that reached completed.",
              svc.usage->calls_completed.load());
      counter("tollgate_usage_charged_total", "Inbound SMS and calls charged to a wallet.",
              svc.usage->charged.load());
      counter("tollgate_usage_unpriced_total", "Usage the pricing source has no price for.",
              svc.usage->unpriced.load());
      counter("tollgate_usage_unbilled_total",
              "Usage that was priced or to be priced but not charged (see the log).",
              svc.usage->unbilled.load());
      if (svc.recharge) {
        counter("tollgate_auto_recharges_total", "Wallets recharged on their own.",
                svc.recharge->charged());
        counter("tollgate_auto_recharge_failures_total",
                "Auto-recharges that failed (see the log and the wallet's auto-recharge state).",
                svc.recharge->failed());
      }
      if (svc.outbox) {
        const auto& o = *svc.outbox;
        counter("tollgate_outbox_accepted_total", "Messages Twilio accepted (one POST each).",
                o.accepted.load());
        counter("tollgate_outbox_failed_total", "Messages that failed before the carrier.",
                o.failed.load());
        counter("tollgate_outbox_retried_total",
                "Sends that certainly sent nothing (429, no connection), queued again.",
                o.retried.load());
        counter("tollgate_outbox_unknown_total",
                "Sends whose outcome is unknown (no answer, a 5xx), to reconcile.",
                o.unknown.load());
        counter("tollgate_outbox_reclaimed_total",
                "Messages whose sender's lease ran out while sending, to reconcile.",
                o.reclaimed.load());
        counter("tollgate_outbox_reconciled_total",
                "Messages of unknown outcome found in Twilio's list.", o.reconciled.load());
        counter("tollgate_outbox_resent_total",
                "Messages of unknown outcome missing from Twilio's list, queued again.",
                o.resent.load());
        counter("tollgate_outbox_priced_total",
                "Final messages whose price Twilio gave, reconciled with the estimate.",
                o.priced.load());
        counter("tollgate_outbox_finals_found_total",
                "Accepted messages whose final status callback never came, found final at "
                "Twilio.",
                o.finals_found.load());
        counter("tollgate_outbox_unpriced_total",
                "Final messages left at their estimate (nothing reserved, or no price from "
                "Twilio in time).",
                o.unpriced.load());
      }
      if (svc.call_prices) {
        counter("tollgate_call_prices_priced_total",
                "Calls whose price Twilio gave, reconciled with their charge.",
                svc.call_prices->priced.load());
        counter("tollgate_call_prices_unpriced_total",
                "Calls left at their charge (no price from Twilio in time).",
                svc.call_prices->unpriced.load());
      }
      counter("tollgate_stripe_bad_signatures_total",
              "Stripe webhooks refused for their Stripe-Signature.",
              svc.stripe_bad_signatures.load());
      counter("tollgate_log_lines_suppressed_total",
              "Warnings about unauthenticated webhooks dropped by the log rate limit.",
              w.log_lines_suppressed.load());
      out +=
          "# HELP tollgate_route_cache_entries Numbers in the route cache, owned or unknown.\n"
          "# TYPE tollgate_route_cache_entries gauge\n";
      out += fmt::format("tollgate_route_cache_entries{{kind=\"owned\"}} {}\n",
                         svc.routes->cachedRoutes());
      out += fmt::format("tollgate_route_cache_entries{{kind=\"unknown\"}} {}\n",
                         svc.routes->cachedUnknown());
    }
    return Response{200, "text/plain; version=0.0.4", out, {}};
  });
}

}  // namespace http
}  // namespace tollgate
