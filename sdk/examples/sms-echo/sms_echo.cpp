// sms-echo: the smallest useful SMS keyword plugin, and the template to copy.
//
// Replies "<prefix><body>" to every inbound SMS, or ignores messages longer than
// `max_length`. The core has already handled STOP/START/HELP and never lets a reply reach a
// number that opted out, so a plugin only decides what it adds.
#include <tollgate/sdk/plugin.hpp>

#include <string>

namespace {

using tollgate::sdk::configKey;
using tollgate::sdk::lit;

class SmsEcho : public tollgate::sdk::SmsPlugin {
 public:
  // Settings arrive already validated against configKeys() and with defaults applied.
  explicit SmsEcho(tollgate::sdk::Host host)
      : SmsPlugin(host),
        prefix_(host.configOr("prefix", "echo: ")),
        max_length_(std::stoul(host.configOr("max_length", "160"))) {}

  static tollgate::sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("prefix"), TG_CONFIG_STRING, false, lit("echo: "),
                  lit("text put before the echo")),
        configKey(lit("max_length"), TG_CONFIG_INT, false, lit("160"),
                  lit("ignore messages longer than this many bytes")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  // Runs on a host worker thread, possibly concurrently: keep it free of shared mutable state.
  // Throwing is fine; the SDK turns exceptions into an error status at the ABI boundary.
  Decision onInbound(const tollgate::sdk::CallContext& ctx, const tg_sms_inbound& msg) override {
    const std::string_view body = tollgate::sdk::view(msg.body);
    if (body.size() > max_length_) {
      host().metricAdd("ignored_too_long");
      return Decision{TG_SMS_IGNORE, {}, {}};
    }
    host().debug("echoing for tenant " + std::string(ctx.tenant_id));
    return Decision{TG_SMS_REPLY, prefix_ + std::string(body), {}};
  }

 private:
  std::string prefix_;
  size_t max_length_;
};

}  // namespace

TOLLGATE_PLUGIN(SmsEcho, "sms-echo", "1.0.0")
