// sms-keywords: STOP/START/HELP answers, tenant keywords and templated auto-replies.
//
// The core owns the opt-out registry: it recognises the STOP/START/HELP families, updates the
// registry before calling us, and never sends to an opted-out number whatever we decide. This
// plugin only chooses the words: the START and HELP answers, the tenant's own keywords (reply,
// forward, or both), and a default reply or forward for everything else. See sms_rules.hpp.
#include <tollgate/sdk/plugin.hpp>

#include "sms_rules.hpp"

namespace tollgate::plugins::sms {
namespace {

using sdk::configKey;
using sdk::lit;

constexpr char kStartReply[] = "You are subscribed to {{tenant}} again. Reply STOP to unsubscribe.";
constexpr char kHelpReply[] =
    "{{tenant}}: reply STOP to unsubscribe, HELP for help. Msg&data rates may apply.";

class SmsKeywords : public sdk::SmsPlugin {
 public:
  explicit SmsKeywords(sdk::Host host)
      : SmsPlugin(host),
        defaults_{host.configOr("start_reply", kStartReply),
                  host.configOr("help_reply", kHelpReply)} {}

  static sdk::ConfigKeys configKeys() noexcept {
    static const tg_config_key keys[] = {
        configKey(lit("start_reply"), TG_CONFIG_STRING, false, lit(kStartReply),
                  lit("answer to START/YES/UNSTOP when a number sets no start_reply; {{tenant}} "
                      "and the other template variables work")),
        configKey(lit("help_reply"), TG_CONFIG_STRING, false, lit(kHelpReply),
                  lit("answer to HELP/INFO when a number sets no help_reply")),
    };
    return {keys, sizeof keys / sizeof keys[0]};
  }

  // Called concurrently from host workers: everything here is local to the call.
  Decision onInbound(const sdk::CallContext& ctx, const tg_sms_inbound& msg) override {
    Rules rules;
    try {
      rules = parseRules(msg.settings, msg.setting_count, defaults_);
    } catch (const sdk::Error&) {
      host().metricAdd("settings_invalid");
      throw;
    }
    Message m{sdk::view(msg.from), sdk::view(msg.to), sdk::view(msg.body), ctx.tenant_id,
              TG_SMS_KEYWORD_NONE};
    // Fields added in ABI 1.1: a plugin must not read past what the host filled in.
    if (TG_HAS_FIELD(tg_sms_inbound, msg.struct_size, keyword)) m.family = msg.keyword;
    if (TG_HAS_FIELD(tg_sms_inbound, msg.struct_size, tenant_name) && msg.tenant_name.size > 0) {
      m.tenant = sdk::view(msg.tenant_name);
    }
    Outcome out = decide(rules, m);
    if (out.unknown_variables > 0)
      host().metricAdd("template_unknown_variable", out.unknown_variables);
    if (out.truncated) host().metricAdd("reply_truncated");
    host().metricAdd(out.action == TG_SMS_FORWARD ? "decision_forward"
                     : out.action == TG_SMS_REPLY ? "decision_reply"
                                                  : "decision_ignore");
    return Decision{out.action, std::move(out.reply_body), std::move(out.forward_url)};
  }

 private:
  Defaults defaults_;
};

}  // namespace
}  // namespace tollgate::plugins::sms

TOLLGATE_PLUGIN(tollgate::plugins::sms::SmsKeywords, "sms-keywords", "1.0.0")
