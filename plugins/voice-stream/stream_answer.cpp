#include "stream_answer.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>
#include <tollgate/sdk/plugin.hpp>
#include <tollgate/sdk/twiml.hpp>

#include <algorithm>
#include <initializer_list>
#include <optional>

namespace tollgate::plugins::stream {
namespace {

namespace tw = sdk::twiml;
using Poco::Dynamic::Var;
using Poco::JSON::Object;

// Parameters the plugin always sends; a tenant's parameter may not shadow them.
constexpr std::string_view kReserved[] = {"tenant", "call_sid", "caller"};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + path + ": " + what);
}

std::optional<std::string_view> raw(const tg_kv* kv, size_t n, std::string_view name) {
  for (size_t i = 0; i < n; ++i) {
    if (sdk::view(kv[i].name) == name) return sdk::view(kv[i].value);
  }
  return std::nullopt;
}

std::string_view trimmed(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A JSON object setting; nullptr when it is null. (Poco 1.11 cannot parse a bare null.)
Object::Ptr parseObject(std::string_view text, const std::string& path) {
  if (trimmed(text) == "null") return nullptr;
  Var v;
  try {
    v = Poco::JSON::Parser().parse(std::string(text));
  } catch (const Poco::Exception& e) {
    fail(path, "expected a JSON object (" + e.displayText() + ")");
  }
  if (v.type() != typeid(Object::Ptr)) fail(path, "expected a JSON object");
  return v.extract<Object::Ptr>();
}

void allowOnly(const Object::Ptr& obj, const std::string& path,
               std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : *obj) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail(path + "." + key, "unknown field");
    }
  }
}

std::string stringField(const Object::Ptr& obj, const std::string& key, const std::string& path) {
  if (!obj->has(key) || obj->get(key).isEmpty()) return {};
  const Var v = obj->get(key);
  if (!v.isString()) fail(path + "." + key, "expected a string");
  return v.extract<std::string>();
}

// A prompt setting: plain text to say, or {"say", "voice", "language"} / {"play"}.
std::optional<Prompt> promptSetting(const tg_kv* kv, size_t n, const std::string& name) {
  const auto text = raw(kv, n, name);
  if (!text || trimmed(*text).empty()) return std::nullopt;
  if (trimmed(*text)[0] != '{') {
    if (trimmed(*text) == "null") return std::nullopt;
    return Prompt{std::string(*text), {}, {}, {}};
  }
  const Object::Ptr obj = parseObject(*text, name);
  if (!obj) return std::nullopt;
  allowOnly(obj, name, {"say", "play", "voice", "language"});
  Prompt p{stringField(obj, "say", name), stringField(obj, "play", name),
           stringField(obj, "voice", name), stringField(obj, "language", name)};
  if (!p.play.empty() && p.play.rfind("https://", 0) != 0 && p.play.rfind("http://", 0) != 0) {
    fail(name + ".play", "expected an http:// or https:// URL");
  }
  return p;
}

std::vector<std::pair<std::string, std::string>> parameters(const tg_kv* kv, size_t n) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto text = raw(kv, n, "parameters");
  if (!text) return out;
  const Object::Ptr obj = parseObject(*text, "parameters");
  if (!obj) return out;
  for (const auto& [name, value] : *obj) {
    const std::string path = "parameters." + name;
    if (name.empty()) fail("parameters", "a parameter needs a name");
    if (std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved)) {
      fail(path, "reserved: the plugin sends tenant, call_sid and caller itself");
    }
    if (value.type() == typeid(Object::Ptr) || value.type() == typeid(Poco::JSON::Array::Ptr)) {
      fail(path, "expected text, a number or a boolean");
    }
    out.emplace_back(name, value.isEmpty() ? std::string() : value.convert<std::string>());
  }
  return out;
}

// Only a wss:// URL with a host will do: Twilio streams to secure websockets only.
std::string checkUrl(std::string_view url, std::string* problem) {
  if (trimmed(url).empty()) {
    *problem = "settings.url is not set";
    return {};
  }
  try {
    const Poco::URI uri{std::string(trimmed(url))};
    // The URL goes out as the tenant wrote it: re-encoding could alter a token in its query.
    if (uri.getScheme() == "wss" && !uri.getHost().empty()) return std::string(trimmed(url));
  } catch (const Poco::Exception&) {
  }
  *problem = "settings.url is not a wss:// URL";
  return {};
}

void add(tw::Response& r, const Prompt& p) {
  if (!p.say.empty()) {
    tw::SayOptions o;
    o.voice = p.voice;
    o.language = p.language;
    r.add(tw::say(p.say, o));
  }
  if (!p.play.empty()) r.add(tw::play(p.play));
}

}  // namespace

StreamConfig parseStreamConfig(const tg_kv* settings, size_t count,
                               const std::string& fallback_say) {
  StreamConfig c;
  c.url = checkUrl(raw(settings, count, "url").value_or(""), &c.url_problem);
  c.parameters = parameters(settings, count);
  c.greeting = promptSetting(settings, count, "greeting").value_or(Prompt{});
  c.fallback =
      promptSetting(settings, count, "fallback").value_or(Prompt{fallback_say, {}, {}, {}});
  c.on_end = promptSetting(settings, count, "on_end").value_or(Prompt{});
  // Top-level voice and language apply to every prompt that names none.
  const std::string voice(raw(settings, count, "voice").value_or(""));
  const std::string language(raw(settings, count, "language").value_or(""));
  for (Prompt* p : {&c.greeting, &c.fallback, &c.on_end}) {
    if (p->voice.empty()) p->voice = voice;
    if (p->language.empty()) p->language = language;
  }
  return c;
}

Answer answerCall(const StreamConfig& c, const CallFacts& call) {
  tw::Response r;
  if (call.event == TG_VOICE_STREAM_END || call.step == kStreamEndStep) {
    add(r, c.on_end);
    r.add(tw::hangup());
    return Answer{r.render(), "stream_end"};
  }
  if (c.url.empty()) {
    add(r, c.fallback);
    r.add(tw::hangup());
    return Answer{r.render(), "fallback"};
  }
  add(r, c.greeting);
  tw::Element stream = tw::stream(c.url);
  stream.add(tw::parameter("tenant", std::string(call.tenant_id)))
      .add(tw::parameter("call_sid", std::string(call.call_sid)))
      .add(tw::parameter("caller", std::string(call.caller)));
  for (const auto& [name, value] : c.parameters) stream.add(tw::parameter(name, value));
  r.add(tw::connect(tw::stepUrl(call.action_base_url, kStreamEndStep), "POST")
            .add(std::move(stream)));
  return Answer{r.render(), "stream"};
}

}  // namespace tollgate::plugins::stream
