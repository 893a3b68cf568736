// What sms-keywords does with one inbound SMS, given the number's settings. Pure logic: no host,
// no ABI, so it is cheap to reason about and to test.
#pragma once

#include <tollgate/abi/sms.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sms_template.hpp"

namespace tollgate::plugins::sms {

// A tenant keyword's action: a reply template, a forward URL, or both.
struct KeywordRule {
  std::string reply;  // template; empty: no reply
  std::string forward_url;
};

// Plugin-wide defaults from the plugin's own [settings] (plugins.d).
struct Defaults {
  std::string start_reply;
  std::string help_reply;
};

// The number's settings, parsed and validated.
struct Rules {
  std::map<std::string, KeywordRule, std::less<>> keywords;  // by upper-case keyword
  Variables variables;
  std::string start_reply;
  std::string help_reply;
  std::optional<std::string> default_reply;
  std::string forward_url;
};

// Parses the number's settings. Throws tollgate::sdk::Error(TG_ERR_INVALID_ARGUMENT) with a
// message naming the field ("settings.keywords.JOIN.forward_url: ...") when one is bad.
// Settings that are not this plugin's are ignored: a number's settings also serve its voice
// plugin.
Rules parseRules(const tg_kv* settings, size_t count, const Defaults& defaults);

// Throws the same Error unless `url` is https://, or http:// to this machine (for tests).
void validateForwardUrl(std::string_view url, std::string_view field);

// The single word a body consists of, upper-cased (ASCII), or empty when it is not one word.
std::string keywordOf(std::string_view body);

struct Message {
  std::string_view from;
  std::string_view to;
  std::string_view body;
  std::string_view tenant;  // display name for {{tenant}}
  tg_sms_keyword family = TG_SMS_KEYWORD_NONE;
};

struct Outcome {
  tg_sms_action action = TG_SMS_IGNORE;
  std::string reply_body;
  std::string forward_url;
  int unknown_variables = 0;
  bool truncated = false;  // the reply was cut to kMaxReplyChars
};

// Twilio refuses a message body longer than 1,600 characters.
constexpr size_t kMaxReplyChars = 1600;

Outcome decide(const Rules& rules, const Message& msg);

}  // namespace tollgate::plugins::sms
