// A well-behaved SMS plugin built with the C++ SDK, with settings that let tests make it slow
// or make its init fail. Replies "<reply> <body>".
#include <tollgate/sdk/plugin.hpp>

#include <chrono>
#include <thread>

namespace {

class TestSms : public tollgate::sdk::SmsPlugin {
 public:
  explicit TestSms(tollgate::sdk::Host host) : SmsPlugin(host) {
    if (host.configOr("fail_init", "false") == "true") {
      throw tollgate::sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.api_token is required");
    }
    reply_ = host.configOr("reply", "pong");
    sleep_ms_ = std::stoll(host.configOr("sleep_ms", "0"));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::stoll(host.configOr("init_sleep_ms", "0"))));
  }

  static tollgate::sdk::ConfigKeys configKeys() noexcept {
    using tollgate::sdk::configKey;
    using tollgate::sdk::lit;
    static const tg_config_key keys[] = {
        configKey(lit("reply"), TG_CONFIG_STRING, false, lit("pong"), lit("text to reply with")),
        configKey(lit("sleep_ms"), TG_CONFIG_INT, false, lit("0"), lit("delay every answer")),
        configKey(lit("init_sleep_ms"), TG_CONFIG_INT, false, lit("0"), lit("delay init")),
        configKey(lit("fail_init"), TG_CONFIG_BOOL, false, lit("false"), lit("make init fail")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  Decision onInbound(const tollgate::sdk::CallContext&, const tg_sms_inbound& msg) override {
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (tollgate::sdk::view(msg.body) == "throw") throw std::runtime_error("asked to throw");
    host().metricAdd("answers");
    return Decision{TG_SMS_REPLY, reply_ + " " + std::string(tollgate::sdk::view(msg.body)), {}};
  }

 private:
  std::string reply_;
  int64_t sleep_ms_ = 0;
};

}  // namespace

TOLLGATE_PLUGIN(TestSms, "test-sms", "1.0.0")
