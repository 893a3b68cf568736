// A well-behaved SMS plugin built with the C++ SDK, with settings that let tests make it slow
// or make its init fail. Replies "<reply> <body>", with the decision named by `action`.
//
// With `gate_dir` set, a message whose body starts with "wait" holds the plugin call until the
// test lets it go: the plugin creates <gate_dir>/entered, then waits for <gate_dir>/release.
// Tests use it to order events against a call in flight without sleeping.
#include <tollgate/sdk/plugin.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace {

class TestSms : public tollgate::sdk::SmsPlugin {
 public:
  explicit TestSms(tollgate::sdk::Host host) : SmsPlugin(host) {
    if (host.configOr("fail_init", "false") == "true") {
      throw tollgate::sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.api_token is required");
    }
    reply_ = host.configOr("reply", "pong");
    const std::string action = host.configOr("action", "reply");
    action_ = action == "opt_in"    ? TG_SMS_OPT_IN
              : action == "opt_out" ? TG_SMS_OPT_OUT
                                    : TG_SMS_REPLY;
    gate_dir_ = host.configOr("gate_dir", "");
    leak_at_shutdown_ = host.configOr("leak_at_shutdown", "false") == "true";
    sleep_ms_ = std::stoll(host.configOr("sleep_ms", "0"));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::stoll(host.configOr("init_sleep_ms", "0"))));
  }

  // Logged so that tests can tell when shutdown ran, and whether a call was still in flight.
  // With `leak_at_shutdown`, it leaks on purpose: the test that the harness fails a test on a
  // daemon's sanitizer report (LeakSanitizer's at exit) uses it.
  ~TestSms() override {
    if (leak_at_shutdown_) {
      [[maybe_unused]] static std::string* volatile unreachable;
      unreachable = new std::string(100, 'x');
      unreachable = nullptr;
    }
    host().info("test-sms shut down");
  }

  static tollgate::sdk::ConfigKeys configKeys() noexcept {
    using tollgate::sdk::configKey;
    using tollgate::sdk::lit;
    static const tg_config_key keys[] = {
        configKey(lit("reply"), TG_CONFIG_STRING, false, lit("pong"), lit("text to reply with")),
        configKey(lit("sleep_ms"), TG_CONFIG_INT, false, lit("0"), lit("delay every answer")),
        configKey(lit("init_sleep_ms"), TG_CONFIG_INT, false, lit("0"), lit("delay init")),
        configKey(lit("fail_init"), TG_CONFIG_BOOL, false, lit("false"), lit("make init fail")),
        configKey(lit("action"), TG_CONFIG_STRING, false, lit("reply"),
                  lit("decision for every message: reply, opt_in or opt_out")),
        configKey(lit("gate_dir"), TG_CONFIG_STRING, false, lit(""),
                  lit("folder through which a test holds and releases 'wait...' messages")),
        configKey(lit("leak_at_shutdown"), TG_CONFIG_BOOL, false, lit("false"),
                  lit("leak 100 bytes when shut down")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  Decision onInbound(const tollgate::sdk::CallContext&, const tg_sms_inbound& msg) override {
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    const std::string body(tollgate::sdk::view(msg.body));
    if (body == "throw") throw std::runtime_error("asked to throw");
    if (!gate_dir_.empty() && body.rfind("wait", 0) == 0) holdUntilReleased();
    host().metricAdd("answers");
    host().info("answered " + body);
    return Decision{action_, reply_ + " " + body, {}};
  }

 private:
  void holdUntilReleased() const {
    namespace fs = std::filesystem;
    std::ofstream(fs::path(gate_dir_) / "entered") << "1";
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(fs::path(gate_dir_) / "release") &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::string reply_;
  tg_sms_action action_ = TG_SMS_REPLY;
  std::string gate_dir_;
  int64_t sleep_ms_ = 0;
  bool leak_at_shutdown_ = false;
};

}  // namespace

TOLLGATE_PLUGIN(TestSms, "test-sms", "1.0.0")
