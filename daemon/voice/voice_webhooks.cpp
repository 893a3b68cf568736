// Voice: the inbound call, its follow-ups (gather, recording, stream end) and status callbacks.
// The call is recorded on its first webhook; the number's voice plugin answers under its
// deadline; a plugin that fails or overruns yields the number's fallback TwiML.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <tollgate/sdk/twiml.hpp>
#include "http/api.hpp"
#include "messaging/status_rank.hpp"
#include "plugins/boundary.hpp"

namespace tollgate::voice {
namespace {

namespace tw = sdk::twiml;

using KV = std::vector<std::pair<std::string, std::string>>;

struct VoiceCall {
  std::string tenant_id, request_id, sid, from, to, step, action_base_url;
  KV params, settings;
  tg_voice_event event = TG_VOICE_INBOUND;
  int64_t now_ms = 0, deadline_ms = 0;
};

struct VoiceOutcome {
  tg_status status = TG_ERR_INTERNAL;
  std::string twiml, error;
};

tg_str s(const std::string& v) { return tg_str{v.data(), v.size()}; }

VoiceOutcome askPlugin(const plugins::Plugin& plugin, const VoiceCall& c) {
  std::vector<tg_kv> params, settings;
  for (const auto& [k, v] : c.params) params.push_back({s(k), s(v)});
  for (const auto& [k, v] : c.settings) settings.push_back({s(k), s(v)});
  tg_voice_request req{};
  req.struct_size = sizeof req;
  req.event = c.event;
  req.call_sid = s(c.sid);
  req.from = s(c.from);
  req.to = s(c.to);
  req.step = s(c.step);
  req.action_base_url = s(c.action_base_url);
  req.params = params.data();
  req.param_count = params.size();
  req.settings = settings.data();
  req.setting_count = settings.size();
  req.now_unix_ms = c.now_ms;
  const tg_call_ctx ctx{sizeof ctx, s(c.tenant_id), s(c.request_id), c.deadline_ms};
  VoiceOutcome out;
  tg_error err{};
  out.status = plugin.vtable<tg_voice_vtable>()->on_call(
      plugin.instance(), &ctx, &req,
      {&out.twiml,
       [](void* p, tg_str twiml) noexcept {
         // Runs inside the plugin's call: an exception must not unwind through its frames. On
         // failure the TwiML stays empty, which the caller reports.
         auto* out = static_cast<std::string*>(p);
         if (!plugins::stopAtBoundary("voice twiml sink", nullptr, [&] {
               out->assign(twiml.data ? twiml.data : "", twiml.size);
             })) {
           out->clear();
         }
       }},
      &err);
  if (out.status == TG_OK && out.twiml.empty()) {
    out.status = TG_ERR_INTERNAL;
    out.error = "plugin returned TG_OK without TwiML";
  } else if (out.status != TG_OK) {
    err.message[sizeof err.message - 1] = '\0';
    out.error = err.message;
  }
  return out;
}

std::string setting(const KV& settings, std::string_view key) {
  for (const auto& [k, v] : settings) {
    if (k == key) return v;
  }
  return {};
}

std::string fallbackTwiml(Services& svc, const numbers::Route& route) {
  std::string say = setting(route.settings, "fallback_say");
  if (say.empty()) say = svc.config->voice_fallback_say;
  return tw::Response().add(tw::say(say)).add(tw::hangup()).render();
}

// Which follow-up Twilio is reporting: a recording carries RecordingUrl; a <Connect> action
// (stream ended) comes back to a step the plugin named "stream..."; anything else is a
// <Gather> result (Digits and/or SpeechResult, possibly empty).
tg_voice_event followUpEvent(const twilio::Webhook& hook, std::string_view step) {
  if (hook.has("RecordingUrl")) return TG_VOICE_RECORDING;
  if (step.rfind("stream", 0) == 0) return TG_VOICE_STREAM_END;
  return TG_VOICE_GATHER;
}

http::Response answer(Services& svc, http::Request& r, twilio::Admitted& a, tg_voice_event event,
                      const std::string& step) {
  const auto& route = *a.route;
  if (route.tenant.status != TG_TENANT_ACTIVE) {
    svc.webhooks->counters().suspended.fetch_add(1, std::memory_order_relaxed);
    return twilio::twimlResponse(tw::Response()
                                     .add(tw::say("The number you have called is not in service."))
                                     .add(tw::hangup())
                                     .render());
  }
  plugins::Plugin* plugin =
      route.number.voice_plugin.empty() ? nullptr : svc.host->find(route.number.voice_plugin);
  if (plugin == nullptr || plugin->kind() != TG_KIND_VOICE) {
    spdlog::warn("{}: number {} has no loaded voice plugin ('{}'); answering with its fallback",
                 r.requestId(), route.number.e164, route.number.voice_plugin);
    svc.webhooks->counters().plugin_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return twilio::twimlResponse(fallbackTwiml(svc, route));
  }
  const int64_t now = tenancy::nowMs();
  const std::string& url = a.hook.url;
  const size_t at = url.find("/twilio/voice");
  auto call = std::make_shared<VoiceCall>();
  *call = VoiceCall{route.tenant.id,
                    r.requestId(),
                    a.hook.get("CallSid"),
                    a.hook.get("From"),
                    route.number.e164,
                    step,
                    (at == std::string::npos ? url : url.substr(0, at)) + "/twilio/voice/next",
                    a.hook.params,
                    route.settings,
                    event,
                    now,
                    now + plugin->deadline().count()};
  auto out = plugins::callWithDeadline<VoiceOutcome>(
      *plugin, route.tenant.id, [plugin, call] { return askPlugin(*plugin, *call); });
  if (!out || out->status != TG_OK) {
    svc.webhooks->counters().plugin_fallbacks.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: voice plugin {} {} for {}; answering with the fallback", r.requestId(),
                 plugin->id(), out ? "failed: " + out->error : "overran its deadline", call->sid);
    return twilio::twimlResponse(fallbackTwiml(svc, route));
  }
  return twilio::twimlResponse(std::move(out->twiml));
}

const twilio::WebhookSpec kInboundCall{
    .number_param = "To",
    .scope = "voice",
    .dedupe_key =
        [](const twilio::Webhook& h) { return h.get("CallSid") + ":" + h.get("CallStatus"); },
    .unknown = twilio::twimlResponse(tw::Response().add(tw::Element("Reject")).render())};

http::Response inboundCall(Services& svc, http::Request& r, twilio::Admitted& a) {
  const int64_t now = tenancy::nowMs();
  storage::Call c;
  c.sid = a.hook.get("CallSid");
  c.tenant_id = a.route->tenant.id;
  c.direction = TG_DIRECTION_INBOUND;
  c.from_number = a.hook.get("From");
  c.to_number = a.route->number.e164;
  c.status = a.hook.get("CallStatus").empty() ? "ringing" : a.hook.get("CallStatus");
  c.status_rank = messaging::callStatusRank(c.status);
  c.created_at_ms = c.updated_at_ms = now;
  a.unit.insertCall(std::move(c));  // stored with the answer (a repeat leaves it as it is)
  return answer(svc, r, a, TG_VOICE_INBOUND, "");
}

// The step comes from the URL's query (signed), so the spec is made per request.
twilio::WebhookSpec followUpSpec(const std::string& step) {
  return twilio::WebhookSpec{
      .number_param = "To",
      .scope = "voice-next",
      .dedupe_key =
          [step](const twilio::Webhook& h) {
            return fmt::format("{}:{}:{}:{}:{}", h.get("CallSid"), step, h.get("Digits"),
                               h.get("SpeechResult"), h.get("RecordingSid"));
          },
      .unknown = twilio::twimlResponse(tw::Response().add(tw::hangup()).render())};
}

http::Response followUp(Services& svc, http::Request& r, twilio::Admitted& a,
                        const std::string& step) {
  const tg_voice_event event = followUpEvent(a.hook, step);
  if (event == TG_VOICE_RECORDING) {
    const auto recorded = a.unit.setCallRecording(
        storage::RecordingChange{.sid = a.hook.get("CallSid"),
                                 .recording_url = a.hook.get("RecordingUrl"),
                                 .now_ms = tenancy::nowMs()});
    a.afterCommit.push_back([&r, &a, recorded](const storage::UnitResult& written) {
      if (written.result(recorded) == TG_UNIT_MISSING) {
        spdlog::warn("{}: recording for unknown call {}", r.requestId(), a.hook.get("CallSid"));
      }
    });
  }
  return answer(svc, r, a, event, step);
}

const twilio::WebhookSpec kCallStatus{
    .number_param = "To",
    .scope = "call-status",
    .dedupe_key =
        [](const twilio::Webhook& h) { return h.get("CallSid") + ":" + h.get("CallStatus"); },
    .unknown = http::Response::noContent()};

http::Response callStatus(Services& svc, http::Request& r, twilio::Admitted& a) {
  const std::string& sid = a.hook.get("CallSid");
  const std::string& status = a.hook.get("CallStatus");
  const int rank = messaging::callStatusRank(status);
  const int duration =
      a.hook.has("CallDuration") ? std::atoi(a.hook.get("CallDuration").c_str()) : -1;
  if (!messaging::knownStatus(r.requestId(), "call", sid, status, rank)) {
    return http::Response::noContent();
  }
  const int64_t now = tenancy::nowMs();
  // A completed call that lasted is charged (its usage): Twilio's price is looked up later.
  const bool price = svc.call_prices != nullptr && status == "completed" && duration > 0;
  const auto updated = a.unit.updateCallStatus(
      storage::StatusChange{.sid = sid,
                            .status = status,
                            .status_rank = rank,
                            .error_code = 0,
                            .duration_s = duration,
                            .now_ms = now,
                            .price_state = price ? TG_OUTBOX_PRICE_PENDING : TG_OUTBOX_PRICE_NONE,
                            .price_check_at_ms = price ? svc.call_prices->checkAt(now) : 0});
  const auto queued = svc.usage->queueCall(a.unit, a.route->tenant.id, sid, status, duration);
  a.afterCommit.push_back(
      [&svc, &r, &a, sid, status, duration, updated, queued](const storage::UnitResult& written) {
        if (messaging::statusChanged(r.requestId(), "call", sid, written.result(updated))) {
          svc.usage->callStatusChanged(a.route->tenant.id, sid, status, std::max(duration, 0),
                                       ledger::queuedIn(written, queued));
        }
      });
  return http::Response::noContent();
}

}  // namespace

void addVoiceWebhookRoutes(http::Router& router, Services& svc) {
  router.add("POST", "/twilio/voice", [&svc](http::Request& r) {
    return serveWebhook(svc, r, kInboundCall,
                        [&](twilio::Admitted& a) { return inboundCall(svc, r, a); });
  });
  router.add("POST", "/twilio/voice/next", [&svc](http::Request& r) {
    const std::string step = r.query("step");
    return serveWebhook(svc, r, followUpSpec(step),
                        [&](twilio::Admitted& a) { return followUp(svc, r, a, step); });
  });
  router.add("POST", "/twilio/voice/status", [&svc](http::Request& r) {
    return serveWebhook(svc, r, kCallStatus,
                        [&](twilio::Admitted& a) { return callStatus(svc, r, a); });
  });
}

}  // namespace tollgate::voice
