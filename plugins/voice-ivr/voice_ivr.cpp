// voice-ivr: greeting, business hours, a DTMF/speech menu, call forwarding and voicemail.
//
// Stateless between webhooks: each answer is computed from the number's settings and the
// webhook alone, and what must survive to the next webhook rides in the action URL's step
// (see ivr_flow.hpp). So any daemon behind the load balancer can answer any step of a call.
#include <date/tz.h>
#include <tollgate/sdk/plugin.hpp>

#include "ivr_config.hpp"
#include "ivr_flow.hpp"

namespace tollgate::plugins::ivr {
namespace {

using sdk::configKey;
using sdk::lit;

std::string_view param(const tg_voice_request& req, std::string_view name) {
  for (size_t i = 0; i < req.param_count; ++i) {
    if (sdk::view(req.params[i].name) == name) return sdk::view(req.params[i].value);
  }
  return {};
}

class VoiceIvr : public sdk::VoicePlugin {
 public:
  explicit VoiceIvr(sdk::Host host)
      : VoicePlugin(host),
        defaults_{host.configOr("voice", ""), host.configOr("language", ""),
                  host.configOr("timezone", "UTC")} {
    try {
      // Loads the tz database now rather than on the first call, and says so if it is missing.
      date::get_tzdb();
    } catch (const std::exception& e) {
      host.error(std::string("time zone database not available (install tzdata): ") + e.what());
    }
    if (!defaults_.timezone.empty()) {
      try {
        date::locate_zone(defaults_.timezone);
      } catch (const std::exception&) {
        throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                         "timezone: unknown time zone '" + defaults_.timezone + "'");
      }
    }
  }

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("voice"), TG_CONFIG_STRING, false, lit(""),
                  lit("default <Say> voice when a number sets none (e.g. Polly.Joanna)")),
        configKey(lit("language"), TG_CONFIG_STRING, false, lit(""),
                  lit("default <Say> and speech-recognition language (e.g. en-US)")),
        configKey(lit("timezone"), TG_CONFIG_STRING, false, lit("UTC"),
                  lit("IANA time zone of business hours when a number sets none")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  std::string onCall(const sdk::CallContext&, const tg_voice_request& req) override {
    IvrConfig config;
    try {
      config = parseIvrConfig(req.settings, req.setting_count, defaults_);
    } catch (const sdk::Error&) {
      host().metricAdd("settings_invalid");
      throw;
    }
    CallInput in;
    in.event = req.event;
    in.step = sdk::view(req.step);
    in.action_base_url = sdk::view(req.action_base_url);
    in.digits = param(req, "Digits");
    in.speech = param(req, "SpeechResult");
    in.dial_status = param(req, "DialCallStatus");
    in.now_unix_ms = req.now_unix_ms != 0 ? req.now_unix_ms : host().nowUnixMs();
    Answer a = answerCall(config, in);
    host().metricAdd("answer_" + a.outcome);
    return std::move(a.twiml);
  }

 private:
  IvrDefaults defaults_;
};

}  // namespace
}  // namespace tollgate::plugins::ivr

TOLLGATE_PLUGIN(tollgate::plugins::ivr::VoiceIvr, "voice-ivr", "1.0.0")
