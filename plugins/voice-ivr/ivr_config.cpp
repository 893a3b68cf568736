#include "ivr_config.hpp"

#include <Poco/JSON/Array.h>

#include <cctype>

#include "ivr_json.hpp"

namespace tollgate::plugins::ivr {
namespace {

constexpr char kClosed[] = "We are closed right now. Please call again during business hours.";
constexpr char kInvalid[] = "Sorry, I didn't get that.";
constexpr char kGoodbye[] = "Goodbye.";
constexpr char kVoicemailPrompt[] = "Please leave a message after the beep.";
constexpr char kThanks[] = "Thank you for your message. Goodbye.";

bool isE164(const std::string& s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool isDtmfKey(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '*' && c != '#') return false;
  }
  return true;
}

bool isMenuName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string url(const Object::Ptr& obj, const std::string& key, const std::string& path) {
  std::string u = optString(obj, key, path).value_or("");
  if (!u.empty() && u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0) {
    fail(path + "." + key, "expected an http:// or https:// URL");
  }
  return u;
}

// The say/play/voice/language fields of an object that may hold more (the caller checks which
// other fields are allowed).
Prompt promptFields(const Object::Ptr& obj, const std::string& path) {
  Prompt p;
  p.say = optString(obj, "say", path).value_or("");
  p.play = url(obj, "play", path);
  p.voice = optString(obj, "voice", path).value_or("");
  p.language = optString(obj, "language", path).value_or("");
  return p;
}

// A prompt given as text ("Press 1 ...") or as a prompt object.
Prompt prompt(const Var& v, const std::string& path, const std::string& fallback) {
  if (v.isEmpty()) return Prompt{fallback, {}, {}, {}};
  if (v.isString()) return Prompt{v.extract<std::string>(), {}, {}, {}};
  const Object::Ptr obj = asObject(v, path);
  allowOnly(obj, path, {"say", "play", "voice", "language"});
  return promptFields(obj, path);
}

Var field(const Object::Ptr& obj, const std::string& key) {
  return obj->has(key) ? obj->get(key) : Var();
}

MenuOption option(const std::string& key, const Var& v, const std::string& path) {
  MenuOption o;
  o.key = key;
  if (v.isString()) {  // shorthand: a choice that only says something
    o.say.say = v.extract<std::string>();
    return o;
  }
  const Object::Ptr obj = asObject(v, path);
  allowOnly(obj, path,
            {"say", "play", "voice", "language", "dial", "caller_id", "timeout_s", "voicemail",
             "menu", "words"});
  o.say = promptFields(obj, path);
  if (auto dial = optString(obj, "dial", path)) {
    if (!isE164(*dial)) fail(path + ".dial", "expected an E.164 number like +15551234567");
    DialTarget d{*dial, optString(obj, "caller_id", path).value_or(""),
                 optInt(obj, "timeout_s", path, 5, 600).value_or(0)};
    if (!d.caller_id.empty() && !isE164(d.caller_id)) {
      fail(path + ".caller_id", "expected an E.164 number like +15551234567");
    }
    o.dial = d;
  } else if (obj->has("caller_id") || obj->has("timeout_s")) {
    fail(path, "caller_id and timeout_s only go with dial");
  }
  o.voicemail = optBool(obj, "voicemail", path).value_or(false);
  o.menu = optString(obj, "menu", path).value_or("");
  if (const Var words = field(obj, "words"); !words.isEmpty()) {
    if (words.type() != typeid(Poco::JSON::Array::Ptr))
      fail(path + ".words", "expected a list of strings");
    const auto a = words.extract<Poco::JSON::Array::Ptr>();
    for (size_t i = 0; i < a->size(); ++i) {
      o.words.push_back(asString(a->get(i), path + ".words[" + std::to_string(i) + "]"));
    }
  }
  const int actions = (o.dial ? 1 : 0) + (o.voicemail ? 1 : 0) + (o.menu.empty() ? 0 : 1);
  if (actions > 1) fail(path, "choose one of dial, voicemail and menu");
  if (actions == 0 && o.say.empty()) fail(path, "needs say, play, dial, voicemail or menu");
  return o;
}

std::string input(const Object::Ptr& obj, const std::string& path) {
  const std::string in = optString(obj, "input", path).value_or("dtmf");
  if (in == "dtmf" || in == "speech" || in == "dtmf speech") return in;
  if (in == "speech dtmf") return "dtmf speech";
  fail(path + ".input", "expected \"dtmf\", \"speech\" or \"dtmf speech\"");
}

// When every DTMF choice has the same number of digits, Twilio can answer as soon as they are
// pressed instead of waiting for '#' or the timeout.
int uniformDigits(const Menu& m) {
  size_t len = 0;
  for (const auto& o : m.options) {
    if (!isDtmfKey(o.key)) continue;
    if (len != 0 && o.key.size() != len) return 0;
    len = o.key.size();
  }
  return static_cast<int>(len);
}

Menu menu(const std::string& name, const Object::Ptr& obj, const std::string& path) {
  allowOnly(
      obj, path,
      {"prompt", "input", "timeout_s", "num_digits", "retries", "invalid", "goodbye", "options"});
  Menu m;
  m.name = name;
  if (!obj->has("prompt")) fail(path + ".prompt", "required: what the caller hears");
  m.prompt = prompt(field(obj, "prompt"), path + ".prompt", "");
  m.input = input(obj, path);
  m.timeout_s = optInt(obj, "timeout_s", path, 1, 60).value_or(m.timeout_s);
  m.retries = optInt(obj, "retries", path, 0, 10).value_or(m.retries);
  m.invalid = prompt(field(obj, "invalid"), path + ".invalid", kInvalid);
  m.goodbye = prompt(field(obj, "goodbye"), path + ".goodbye", kGoodbye);
  const Object::Ptr options = optObject(obj, "options", path);
  if (!options || options->size() == 0) fail(path + ".options", "required: at least one choice");
  for (const auto& [key, value] : *options) {
    const std::string optionPath = path + ".options." + key;
    if (key.empty()) fail(optionPath, "empty key");
    if (!isDtmfKey(key) && !m.speech()) {
      fail(optionPath, "a word can only be chosen by speech: set input to \"dtmf speech\"");
    }
    m.options.push_back(option(key, value, optionPath));
  }
  m.num_digits = optInt(obj, "num_digits", path, 1, 20).value_or(m.dtmf() ? uniformDigits(m) : 0);
  return m;
}

void checkMenuLinks(const IvrConfig& c) {
  for (const auto& [name, m] : c.menus) {
    const std::string path = name == kMainMenu ? "menu" : "menus." + name;
    for (const auto& o : m.options) {
      if (!o.menu.empty() && c.menus.count(o.menu) == 0) {
        fail(path + ".options." + o.key + ".menu",
             "no menu named '" + o.menu + "' (\"main\" or a key of settings.menus)");
      }
    }
  }
}

// Top-level prompts may be plain text (what to say) or a JSON object: a value that starts
// with '{' is read as JSON.
std::optional<std::string_view> plainText(const SettingsView& s, std::string_view name) {
  const auto raw = s.raw(name);
  if (!raw) return std::nullopt;
  const size_t first = raw->find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (*raw)[first] == '{') return std::nullopt;
  if (raw->substr(first == std::string_view::npos ? 0 : first) == "null") return std::nullopt;
  return raw;
}

Prompt greeting(const SettingsView& s) {
  if (const auto text = plainText(s, "greeting")) return Prompt{std::string(*text), {}, {}, {}};
  const Object::Ptr obj = s.object("greeting");
  if (!obj) return {};
  allowOnly(obj, "greeting", {"say", "play", "voice", "language"});
  return promptFields(obj, "greeting");
}

AfterHours afterHours(const SettingsView& s) {
  AfterHours ah{Prompt{kClosed, {}, {}, {}}, false};
  if (const auto text = plainText(s, "after_hours")) {
    ah.say.say = std::string(*text);
    return ah;
  }
  const Object::Ptr obj = s.object("after_hours");
  if (!obj) return ah;
  allowOnly(obj, "after_hours", {"say", "play", "voice", "language", "voicemail"});
  const Prompt p = promptFields(obj, "after_hours");
  // Without say or play the default closed message stays (an explicit "" means silence).
  if (obj->has("say") || obj->has("play")) ah.say = p;
  ah.say.voice = p.voice;
  ah.say.language = p.language;
  ah.voicemail = optBool(obj, "voicemail", "after_hours").value_or(false);
  return ah;
}

}  // namespace

IvrConfig parseIvrConfig(const tg_kv* settings, size_t count, const IvrDefaults& defaults) {
  const SettingsView s(settings, count);
  IvrConfig c;
  c.voice = std::string(s.raw("voice").value_or(defaults.voice));
  c.language = std::string(s.raw("language").value_or(defaults.language));
  c.greeting = greeting(s);

  const std::string tz(s.raw("timezone").value_or(defaults.timezone));
  if (const Object::Ptr hours = s.object("hours")) {
    c.hours = BusinessHours::parse(tz, hours);
  } else if (!tz.empty()) {
    findZone(tz);  // a typo is reported even before hours are set
  }

  c.after_hours = afterHours(s);

  if (const Object::Ptr main = s.object("menu")) c.menus[kMainMenu] = menu(kMainMenu, main, "menu");
  if (const Object::Ptr menus = s.object("menus")) {
    for (const auto& [name, value] : *menus) {
      const std::string path = "menus." + name;
      if (!isMenuName(name) || name == kMainMenu) {
        fail(path, "a menu name is [a-z0-9_-]+ and not \"main\"");
      }
      c.menus[name] = menu(name, asObject(value, path), path);
    }
  }
  checkMenuLinks(c);

  c.voicemail = Voicemail{Prompt{kVoicemailPrompt, {}, {}, {}}, 120, Prompt{kThanks, {}, {}, {}}};
  if (const Object::Ptr vm = s.object("voicemail")) {
    allowOnly(vm, "voicemail", {"prompt", "max_length_s", "thanks"});
    c.has_voicemail = true;
    c.voicemail.prompt = prompt(field(vm, "prompt"), "voicemail.prompt", kVoicemailPrompt);
    c.voicemail.max_length_s = optInt(vm, "max_length_s", "voicemail", 1, 14400).value_or(120);
    c.voicemail.thanks = prompt(field(vm, "thanks"), "voicemail.thanks", kThanks);
  }
  return c;
}

}  // namespace tollgate::plugins::ivr
