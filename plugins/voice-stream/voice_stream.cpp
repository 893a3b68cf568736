// voice-stream: hands the call to the tenant's voice-AI over a Twilio Media Stream.
//
// INBOUND answers [greeting] <Connect action=...?step=stream-end><Stream url=settings.url> with
// the tenant, call and caller as <Parameter>s (the websocket gets them in its "start"
// message, so it needs no lookup of its own), plus the tenant's own parameters. When the
// stream ends Twilio calls the action back and the plugin says on_end and hangs up. A number
// without a usable wss:// URL gets an apology instead of dead air, and a warning in the log.
#include <tollgate/sdk/plugin.hpp>

#include "stream_answer.hpp"

namespace tollgate::plugins::stream {
namespace {

using sdk::configKey;
using sdk::lit;

constexpr char kFallback[] =
    "Sorry, our assistant is not available right now. Please call again later.";

class VoiceStream : public sdk::VoicePlugin {
 public:
  explicit VoiceStream(sdk::Host host)
      : VoicePlugin(host), fallback_say_(host.configOr("fallback_say", kFallback)) {}

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("fallback_say"), TG_CONFIG_STRING, false, lit(kFallback),
                  lit("what callers hear when a number has no usable wss:// url and no fallback")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  std::string onCall(const sdk::CallContext& ctx, const tg_voice_request& req) override {
    StreamConfig config;
    try {
      config = parseStreamConfig(req.settings, req.setting_count, fallback_say_);
    } catch (const sdk::Error&) {
      host().metricAdd("settings_invalid");
      throw;
    }
    CallFacts call{req.event,     sdk::view(req.step),     sdk::view(req.action_base_url),
                   ctx.tenant_id, sdk::view(req.call_sid), sdk::view(req.from)};
    Answer a = answerCall(config, call);
    if (a.outcome == "fallback") {
      host().warn("tenant " + std::string(ctx.tenant_id) + ", number " +
                  std::string(sdk::view(req.to)) + ": " + config.url_problem +
                  "; callers hear the fallback. Set url to the voice-AI's wss:// address.");
    }
    host().metricAdd("answer_" + a.outcome);
    return std::move(a.twiml);
  }

 private:
  std::string fallback_say_;
};

}  // namespace
}  // namespace tollgate::plugins::stream

TOLLGATE_PLUGIN(tollgate::plugins::stream::VoiceStream, "voice-stream", "1.0.0")
