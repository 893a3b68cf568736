#include "sms_rules.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>
#include <tollgate/sdk/plugin.hpp>

#include <cctype>

namespace tollgate::plugins::sms {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Object;
using sdk::Error;

[[noreturn]] void fail(std::string_view field, std::string_view what) {
  throw Error(TG_ERR_INVALID_ARGUMENT, "settings." + std::string(field) + ": " + std::string(what));
}

std::optional<std::string_view> find(const tg_kv* settings, size_t count, std::string_view name) {
  for (size_t i = 0; i < count; ++i) {
    if (sdk::view(settings[i].name) == name) return sdk::view(settings[i].value);
  }
  return std::nullopt;
}

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A setting whose value must be a JSON object; null or absent both mean "not set".
Object::Ptr objectSetting(const tg_kv* settings, size_t count, std::string_view name) {
  const auto raw = find(settings, count, name);
  // Poco 1.11's parser only takes an object or array at the top, so null is checked here.
  if (!raw || trim(*raw) == "null") return nullptr;
  Var v;
  try {
    v = Poco::JSON::Parser().parse(std::string(*raw));
  } catch (const Poco::Exception& e) {
    fail(name, "expected a JSON object (" + e.displayText() + ")");
  }
  if (v.isEmpty()) return nullptr;
  if (v.type() != typeid(Object::Ptr)) fail(name, "expected a JSON object");
  return v.extract<Object::Ptr>();
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Template variables may be given as any JSON scalar; the template wants text.
std::string scalarText(const Var& v, const std::string& field) {
  if (v.isEmpty()) return {};
  if (v.type() == typeid(Object::Ptr) || v.type() == typeid(Poco::JSON::Array::Ptr)) {
    fail(field, "expected text, a number or a boolean");
  }
  return v.convert<std::string>();
}

std::string stringField(const Var& v, const std::string& field) {
  if (!v.isString()) fail(field, "expected a string");
  return v.extract<std::string>();
}

KeywordRule parseKeywordRule(const Var& v, const std::string& field) {
  if (v.isString()) return KeywordRule{v.extract<std::string>(), {}};
  if (v.type() != typeid(Object::Ptr)) {
    fail(field, "expected a reply template or an object with \"reply\" and/or \"forward_url\"");
  }
  const auto obj = v.extract<Object::Ptr>();
  KeywordRule rule;
  for (const auto& [key, value] : *obj) {
    if (key == "reply") {
      rule.reply = stringField(value, field + ".reply");
    } else if (key == "forward_url") {
      rule.forward_url = stringField(value, field + ".forward_url");
      validateForwardUrl(rule.forward_url, field + ".forward_url");
    } else {
      fail(field + "." + key, "unknown field (expected \"reply\" or \"forward_url\")");
    }
  }
  if (rule.reply.empty() && rule.forward_url.empty()) {
    fail(field, "needs a non-empty \"reply\" or \"forward_url\"");
  }
  return rule;
}

void parseKeywords(const Object::Ptr& obj, Rules& rules) {
  if (!obj) return;
  for (const auto& [key, value] : *obj) {
    const std::string field = "keywords." + key;
    const std::string word = keywordOf(key);
    if (word.empty()) fail(field, "a keyword is one word without spaces");
    auto [it, inserted] = rules.keywords.emplace(word, parseKeywordRule(value, field));
    if (!inserted) fail(field, "duplicate keyword (keywords are case-insensitive)");
  }
}

void parseVariables(const Object::Ptr& obj, Rules& rules) {
  if (!obj) return;
  for (const auto& [key, value] : *obj) {
    rules.variables[key] = scalarText(value, "variables." + key);
  }
}

// Counts UTF-8 code points and cuts after `max` of them, on a character boundary.
bool truncateChars(std::string& s, size_t max) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars++ == max) {
      s.resize(i);
      return true;
    }
  }
  return false;
}

Variables variablesFor(const Rules& rules, const Message& msg, const std::string& word) {
  // The tenant's own variables may override {{tenant}} (say, with a brand name); the facts of
  // the message cannot be overridden.
  Variables vars{{"tenant", std::string(msg.tenant)}};
  for (const auto& [k, v] : rules.variables) vars[k] = v;
  vars["from"] = std::string(msg.from);
  vars["to"] = std::string(msg.to);
  vars["body"] = std::string(msg.body);
  vars["keyword"] = word;
  return vars;
}

}  // namespace

void validateForwardUrl(std::string_view url, std::string_view field) {
  Poco::URI uri;
  try {
    uri = Poco::URI(std::string(url));
  } catch (const Poco::Exception& e) {
    fail(field, "not a valid URL (" + e.displayText() + ")");
  }
  const std::string& host = uri.getHost();
  const bool loopback = host == "localhost" || host == "127.0.0.1" || host == "::1";
  if (host.empty()) fail(field, "the URL has no host");
  if (uri.getScheme() == "https") return;
  if (uri.getScheme() == "http" && loopback) return;
  fail(field, "must be an https:// URL (http:// only to localhost, for tests)");
}

std::string keywordOf(std::string_view body) {
  const std::string_view word = trim(body);
  for (char c : word) {
    if (isSpace(c)) return {};
  }
  return upper(word);
}

Rules parseRules(const tg_kv* settings, size_t count, const Defaults& defaults) {
  Rules rules;
  parseKeywords(objectSetting(settings, count, "keywords"), rules);
  parseVariables(objectSetting(settings, count, "variables"), rules);
  rules.start_reply =
      std::string(find(settings, count, "start_reply").value_or(defaults.start_reply));
  rules.help_reply = std::string(find(settings, count, "help_reply").value_or(defaults.help_reply));
  if (auto v = find(settings, count, "default_reply")) rules.default_reply = std::string(*v);
  if (auto v = find(settings, count, "forward_url"); v && !v->empty()) {
    validateForwardUrl(*v, "forward_url");
    rules.forward_url = std::string(*v);
  }
  return rules;
}

Outcome decide(const Rules& rules, const Message& msg) {
  const std::string word = keywordOf(msg.body);
  const Variables vars = variablesFor(rules, msg, word);
  Outcome out;
  auto reply = [&](const std::string& tpl) {
    Rendered r = renderTemplate(tpl, vars);
    out.unknown_variables += r.unknown_variables;
    out.truncated = truncateChars(r.text, kMaxReplyChars);
    out.reply_body = std::move(r.text);
    out.action = out.reply_body.empty() ? TG_SMS_IGNORE : TG_SMS_REPLY;
  };
  // The core's keyword families come first: it has already changed the opt-out state, and
  // carriers expect the START/HELP answers whatever the tenant configured as keywords.
  switch (msg.family) {
    case TG_SMS_KEYWORD_STOP:
      return out;  // now opted out: nothing may be sent to the sender
    case TG_SMS_KEYWORD_START:
      reply(rules.start_reply);
      return out;
    case TG_SMS_KEYWORD_HELP:
      reply(rules.help_reply);
      return out;
    default:
      break;
  }
  if (auto it = rules.keywords.find(word); !word.empty() && it != rules.keywords.end()) {
    if (!it->second.reply.empty()) reply(it->second.reply);
    if (!it->second.forward_url.empty()) {
      out.action = TG_SMS_FORWARD;
      out.forward_url = it->second.forward_url;
    }
    return out;
  }
  if (rules.default_reply) reply(*rules.default_reply);
  if (!rules.forward_url.empty()) {
    out.action = TG_SMS_FORWARD;
    out.forward_url = rules.forward_url;
  }
  return out;
}

}  // namespace tollgate::plugins::sms
