// A voice plugin for tests: answers <Say>hello CALLSID step=STEP</Say>, optionally after
// sleeping (to overrun its deadline) or by failing.
#include <tollgate/sdk/plugin.hpp>

#include <chrono>
#include <thread>

namespace {

class TestVoice : public tollgate::sdk::VoicePlugin {
 public:
  explicit TestVoice(tollgate::sdk::Host host)
      : VoicePlugin(host), sleep_ms_(std::stoll(host.configOr("sleep_ms", "0"))) {}

  static tollgate::sdk::ConfigKeys configKeys() noexcept {
    using tollgate::sdk::configKey;
    using tollgate::sdk::lit;
    static const tg_config_key keys[] = {
        configKey(lit("sleep_ms"), TG_CONFIG_INT, false, lit("0"), lit("delay every answer")),
    };
    return {keys, 1};
  }

  std::string onCall(const tollgate::sdk::CallContext&, const tg_voice_request& req) override {
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    for (size_t i = 0; i < req.setting_count; ++i) {
      if (tollgate::sdk::view(req.settings[i].name) == "fail") {
        throw tollgate::sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.fail is set");
      }
    }
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>hello " +
           std::string(tollgate::sdk::view(req.call_sid)) +
           " step=" + std::string(tollgate::sdk::view(req.step)) +
           " event=" + std::to_string(req.event) + "</Say></Response>";
  }

 private:
  int64_t sleep_ms_;
};

}  // namespace

TOLLGATE_PLUGIN(TestVoice, "test-voice", "1.0.0")
