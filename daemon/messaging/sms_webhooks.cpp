// Inbound SMS and message status callbacks.
//
// Inbound: persisted before the answer; STOP/START/HELP applied to the core's registry; the
// number's SMS plugin asked under its deadline; no reply ever reaches an opted-out sender.
#include <Poco/JSON/Object.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <sstream>

#include <tollgate/sdk/twiml.hpp>
#include "http/api.hpp"
#include "messaging/forwarder.hpp"
#include "messaging/outbox_json.hpp"
#include "messaging/send_holds.hpp"
#include "messaging/status_rank.hpp"
#include "numbers/address.hpp"
#include "ops/untrusted.hpp"
#include "plugins/boundary.hpp"

namespace tollgate::messaging {
namespace {

namespace tw = sdk::twiml;

using KV = std::vector<std::pair<std::string, std::string>>;

struct SmsCall {
  std::string tenant_id, tenant_name, request_id, sid, from, to, body;
  KV params, settings;
  tg_sms_keyword keyword = TG_SMS_KEYWORD_NONE;
  int64_t deadline_ms = 0;
};

struct SmsOutcome {
  tg_status status = TG_ERR_INTERNAL;
  tg_sms_action action = TG_SMS_IGNORE;
  std::string reply{}, forward_url{}, error{};
};

tg_str s(const std::string& v) { return tg_str{v.data(), v.size()}; }

std::vector<tg_kv> kvs(const KV& in) {
  std::vector<tg_kv> out;
  out.reserve(in.size());
  for (const auto& [k, v] : in) out.push_back({s(k), s(v)});
  return out;
}

// Runs on a plugin worker; owns everything it touches (the request may be gone by then).
SmsOutcome askPlugin(const plugins::Plugin& plugin, const SmsCall& c) {
  const std::vector<tg_kv> params = kvs(c.params), settings = kvs(c.settings);
  tg_sms_inbound msg{};
  msg.struct_size = sizeof msg;
  msg.message_sid = s(c.sid);
  msg.from = s(c.from);
  msg.to = s(c.to);
  msg.body = s(c.body);
  msg.params = params.data();
  msg.param_count = params.size();
  msg.settings = settings.data();
  msg.setting_count = settings.size();
  msg.keyword = c.keyword;
  msg.tenant_name = s(c.tenant_name);
  const tg_call_ctx ctx{sizeof ctx, s(c.tenant_id), s(c.request_id), c.deadline_ms};
  SmsOutcome out;
  tg_error err{};
  bool decided = false;
  struct Sink {
    SmsOutcome* out;
    bool* decided;
  } sink{&out, &decided};
  out.status = plugin.vtable<tg_sms_vtable>()->on_inbound(
      plugin.instance(), &ctx, &msg,
      {&sink,
       [](void* p, const tg_sms_decision* d) noexcept {
         auto* k = static_cast<Sink*>(p);
         // Runs inside the plugin's call: an exception must not unwind through its frames.
         *k->decided = plugins::stopAtBoundary("sms decision sink", nullptr, [&] {
           k->out->action = d->action;
           k->out->reply.assign(d->reply_body.data ? d->reply_body.data : "", d->reply_body.size);
           k->out->forward_url.assign(d->forward_url.data ? d->forward_url.data : "",
                                      d->forward_url.size);
         });
       }},
      &err);
  if (out.status == TG_OK && !decided) {
    out.status = TG_ERR_INTERNAL;
    out.error = "plugin returned TG_OK without a decision the host could take";
  } else if (out.status != TG_OK) {
    err.message[sizeof err.message - 1] = '\0';
    out.error = err.message;
  }
  return out;
}

std::string forwardPayload(const twilio::Admitted& a, const storage::Message& m) {
  Poco::JSON::Object o;
  o.set("tenant_id", m.tenant_id);
  o.set("message_sid", m.sid);
  o.set("from", m.from_number);
  o.set("to", m.to_number);
  o.set("body", m.body);
  o.set("received_at_ms", m.created_at_ms);
  Poco::JSON::Object params;
  for (const auto& [k, v] : a.hook.params) params.set(k, v);
  o.set("params", params);
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

std::string settingOr(const KV& settings, std::string_view key, std::string fallback) {
  for (const auto& [k, v] : settings) {
    if (k == key) return v;
  }
  return fallback;
}

// The message as received, to be stored with the webhook's unit.
storage::Message inboundRecord(const twilio::Admitted& a, int64_t now) {
  storage::Message m;
  m.sid = a.hook.get("MessageSid");
  m.tenant_id = a.route->tenant.id;
  m.direction = TG_DIRECTION_INBOUND;
  m.from_number = a.hook.get("From");
  m.to_number = a.route->number.e164;
  m.body = a.hook.get("Body");
  m.status = "received";
  m.status_rank = messageStatusRank(m.status);
  m.num_segments = std::max(1, std::atoi(a.hook.get("NumSegments").c_str()));
  m.created_at_ms = m.updated_at_ms = now;
  return m;
}

// The registry's key for a sender: its E.164 number (a WhatsApp sender's too, so a STOP there
// holds on SMS as with Twilio), or nullopt for a sender without one, who cannot opt out and so
// is never replied to.
std::optional<std::string> registryKey(std::string_view from) {
  auto address = numbers::parseAddress(from);
  return address ? std::optional<std::string>(std::move(address->e164)) : std::nullopt;
}

// What the number's SMS plugin decided, or the number's fallback when it failed or overran.
SmsOutcome askSmsPlugin(Services& svc, const http::Request& r, const twilio::Admitted& a,
                        const storage::Message& m, tg_sms_keyword family, int64_t now) {
  const auto& route = *a.route;
  SmsOutcome fallback{.status = TG_OK,
                      .action = TG_SMS_REPLY,
                      .reply = settingOr(route.settings, "fallback_reply", "")};
  plugins::Plugin* plugin =
      route.number.sms_plugin.empty() ? nullptr : svc.host->find(route.number.sms_plugin);
  if (plugin == nullptr || plugin->kind() != TG_KIND_SMS_KEYWORDS) {
    if (!route.number.sms_plugin.empty()) {
      spdlog::warn("{}: number {} names sms plugin '{}', which is not loaded", r.requestId(),
                   route.number.e164, route.number.sms_plugin);
    }
    return SmsOutcome{.status = TG_OK, .action = TG_SMS_IGNORE};
  }
  auto call = std::make_shared<SmsCall>();
  *call = SmsCall{route.tenant.id,
                  route.tenant.name,
                  r.requestId(),
                  m.sid,
                  m.from_number,
                  m.to_number,
                  m.body,
                  a.hook.params,
                  route.settings,
                  family,
                  now + plugin->deadline().count()};
  auto out = plugins::callWithDeadline<SmsOutcome>(
      *plugin, route.tenant.id, [plugin, call] { return askPlugin(*plugin, *call); });
  if (!out || out->status != TG_OK) {
    svc.webhooks->counters().plugin_fallbacks.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: sms plugin {} {} for {}; answering with the number's fallback", r.requestId(),
                 plugin->id(), out ? "failed: " + out->error : "overran its deadline", m.sid);
    return fallback;
  }
  return *out;
}

// Inbound SMS, as named steps: record; apply the registry (whatever the tenant's state, so a
// STOP always counts); ask the plugin; answer, with a reply only if the sender is not opted
// out when the answer is stored. The record, the registry's changes and the answer are stored
// together when the handler returns (twilio/webhook.hpp).
const twilio::WebhookSpec kInboundSms{
    .number_param = "To",
    .scope = "sms",
    .dedupe_key = [](const twilio::Webhook& h) { return h.get("MessageSid"); },
    .unknown = twilio::twimlResponse(tw::Response().render())};

http::Response inboundSms(Services& svc, http::Request& r, twilio::Admitted& a) {
  const auto& tenant = a.route->tenant;
  const int64_t now = tenancy::nowMs();
  const auto noReply = [] { return twilio::twimlResponse(tw::Response().render()); };

  const storage::Message m = inboundRecord(a, now);
  const auto recorded = a.unit.insertMessage(m);
  const auto queued = svc.usage->queueMessage(a.unit, m);
  a.afterCommit.push_back([&svc, m, recorded, queued](const storage::UnitResult& written) {
    if (written.result(recorded) == TG_UNIT_CHANGED) {
      svc.usage->messageReceived(m, ledger::queuedIn(written, queued));
    }
  });

  // The core's registry, before the tenant's state or any plugin is considered.
  const tg_sms_keyword family = keywordFamily(m.body);
  const std::string keyword = normalizedKeyword(m.body);
  const auto sender = registryKey(m.from_number);
  const auto optOut = [&](bool opted_out) {
    a.unit.setOptOut(storage::OptOutChange{.phone = *sender,
                                           .opted_out = opted_out,
                                           .keyword = keyword,
                                           .message_sid = m.sid,
                                           .now_ms = now});
  };
  if (!sender) {
    spdlog::warn("{}: sender {} of {} is not a phone number; no reply will be sent", r.requestId(),
                 ops::untrusted(m.from_number), ops::untrusted(m.sid));
  } else if (family == TG_SMS_KEYWORD_STOP || family == TG_SMS_KEYWORD_START) {
    optOut(family == TG_SMS_KEYWORD_STOP);
  }

  if (tenant.status != TG_TENANT_ACTIVE) {
    svc.webhooks->counters().suspended.fetch_add(1, std::memory_order_relaxed);
    return noReply();
  }

  const SmsOutcome out = askSmsPlugin(svc, r, a, m, family, now);
  switch (out.action) {
    case TG_SMS_FORWARD:
      if (!out.forward_url.empty()) {
        // Once stored, and so once: a repeat is answered from storage without forwarding.
        a.afterCommit.push_back(
            [&svc, forward = Forward{out.forward_url, forwardPayload(a, m), r.requestId()}](
                const storage::UnitResult&) { svc.forwarder->post(forward); });
      }
      break;
    case TG_SMS_OPT_OUT:
    case TG_SMS_OPT_IN:
      if (!sender) break;
      if (out.action == TG_SMS_OPT_IN && family == TG_SMS_KEYWORD_STOP) {
        spdlog::warn("{}: sms plugin asked to opt {} in on a STOP message ({}); the STOP stands",
                     r.requestId(), m.from_number, m.sid);
        break;
      }
      optOut(out.action == TG_SMS_OPT_OUT);
      break;
    default:
      break;
  }
  const bool may_reply = out.action == TG_SMS_REPLY || out.action == TG_SMS_FORWARD ||
                         out.action == TG_SMS_OPT_OUT || out.action == TG_SMS_OPT_IN;
  if (!may_reply || out.reply.empty()) return noReply();

  if (!sender) {
    svc.webhooks->counters().replies_suppressed.fetch_add(1, std::memory_order_relaxed);
    return noReply();
  }
  // Sent only if the sender is not opted out as the unit commits (this message's own STOP or
  // START included): the registry decides inside the unit (twilio/webhook.hpp).
  a.reply_to = *sender;
  a.no_reply = noReply();
  return twilio::twimlResponse(tw::Response().add(tw::message(out.reply)).render());
}

const twilio::WebhookSpec kMessageStatus{
    .number_param = "From",
    .scope = "sms-status",
    .dedupe_key =
        [](const twilio::Webhook& h) {
          return h.get("MessageSid") + ":" + h.get("MessageStatus") + ":" + h.get("ErrorCode");
        },
    .unknown = http::Response::noContent()};

// A status of a message the outbox sent: its id is in the StatusCallback URL the worker gave
// Twilio (signed with the rest of the URL), so no lookup by SID is needed. Applied with the
// callback's idempotency claim, in one commit; from SENDING too, since Twilio may report before
// the worker has recorded its answer.
http::Response outboxStatus(Services& svc, http::Request& r, twilio::Admitted& a,
                            const std::string& id, const std::string& status, int rank,
                            int error_code) {
  const tg_outbox_state to = outboxStateOf(status);
  const int64_t now = tenancy::nowMs();
  // A final status (not `read`, which follows `delivered`) asks for Twilio's price.
  const bool price = finalOutboxState(to) && status != "read" && svc.outbox != nullptr;
  const auto changed = a.unit.setOutboxStatus(storage::OutboxTransition{
      .tenant_id = a.route->tenant.id,
      .id = id,
      .from_states = TG_OUTBOX_IN(TG_OUTBOX_SENDING) | TG_OUTBOX_IN(TG_OUTBOX_ACCEPTED) |
                     TG_OUTBOX_IN(TG_OUTBOX_UNKNOWN) |
                     (status == "read" ? TG_OUTBOX_IN(TG_OUTBOX_DELIVERED) : 0u),
      .lease_owner = {},
      .to_state = to,
      .twilio_sid = a.hook.get("MessageSid"),
      .twilio_status = status,
      .status_rank = rank,
      .error_code = error_code,
      .error = {},
      .next_attempt_at_ms = 0,
      .now_ms = now,
      .price_state = price ? TG_OUTBOX_PRICE_PENDING : TG_OUTBOX_PRICE_NONE,
      .price_micros = 0,
      .price_check_at_ms = price ? svc.outbox->priceCheckAt(now) : 0});
  // cb=1: the tenant asked for its own callbacks (set by the worker, signed by Twilio).
  const bool notify = r.query("cb") == "1";
  a.afterCommit.push_back(
      [&svc, &r, &a, id, status, notify, changed, to](const storage::UnitResult& written) {
        const int32_t result = written.result(changed);
        if (result == TG_UNIT_MISSING) {
          spdlog::warn("{}: status callback for unknown outbox message {}; ignored", r.requestId(),
                       ops::untrusted(id));
        }
        if (result != TG_UNIT_CHANGED) return;
        // A final status settles the hold if nothing has yet (the message was UNKNOWN, or this
        // came before the worker recorded Twilio's answer): charged unless Twilio failed it.
        if (to == TG_OUTBOX_DELIVERED || to == TG_OUTBOX_UNDELIVERED || to == TG_OUTBOX_FAILED) {
          settleSendHold(*svc.store, a.route->tenant.id, id, sendHoldId(id), svc.ledger->currency(),
                         to != TG_OUTBOX_FAILED,
                         fmt::format("SMS {} (settled by Twilio's {})", id, status));
        }
        if (!notify) return;
        const auto m = svc.store->outboxMessage(a.route->tenant.id, id);
        if (!m || m->status_callback.empty()) return;
        svc.forwarder->post(Forward{m->status_callback,
                                    [&] {
                                      std::ostringstream os;
                                      outboxJson(*m).stringify(os);
                                      return os.str();
                                    }(),
                                    r.requestId()});
      });
  return http::Response::noContent();
}

http::Response messageStatus(Services& svc, http::Request& r, twilio::Admitted& a) {
  const std::string& sid = a.hook.get("MessageSid");
  const std::string& status = a.hook.get("MessageStatus");
  const int rank = messageStatusRank(status);
  const int error_code = std::atoi(a.hook.get("ErrorCode").c_str());
  if (!knownStatus(r.requestId(), "message", sid, status, rank)) return http::Response::noContent();
  if (const std::string id = r.query("m"); !id.empty() && svc.store->takesOutboxStatus()) {
    return outboxStatus(svc, r, a, id, status, rank, error_code);
  }
  const auto updated =
      a.unit.updateMessageStatus(storage::StatusChange{.sid = sid,
                                                       .status = status,
                                                       .status_rank = rank,
                                                       .error_code = error_code,
                                                       .now_ms = tenancy::nowMs()});
  a.afterCommit.push_back(
      [&svc, &r, &a, sid, status, error_code, updated](const storage::UnitResult& written) {
        if (statusChanged(r.requestId(), "message", sid, written.result(updated))) {
          svc.usage->messageStatusChanged(a.route->tenant.id, sid, status, error_code);
        }
      });
  return http::Response::noContent();
}

}  // namespace

void addSmsWebhookRoutes(http::Router& router, Services& svc) {
  router.add("POST", "/twilio/sms", [&svc](http::Request& r) {
    return serveWebhook(svc, r, kInboundSms,
                        [&](twilio::Admitted& a) { return inboundSms(svc, r, a); });
  });
  router.add("POST", "/twilio/sms/status", [&svc](http::Request& r) {
    return serveWebhook(svc, r, kMessageStatus,
                        [&](twilio::Admitted& a) { return messageStatus(svc, r, a); });
  });
}

}  // namespace tollgate::messaging
