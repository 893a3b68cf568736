// Tollgate plugin SDK: a small TwiML builder. Header-only C++17, standard library only.
//
//   namespace tw = tollgate::sdk::twiml;
//   tw::Response r;
//   tw::GatherOptions g;
//   g.input = "dtmf";
//   g.num_digits = 1;
//   g.action = tw::stepUrl(view(req.action_base_url), "menu");
//   r.add(tw::gather(g).add(tw::say("Press 1 for sales.")));
//   return r.render();   // <?xml version="1.0" encoding="UTF-8"?><Response><Gather ...
//
// Why not just concatenate strings: half of what goes into TwiML comes from strangers (SMS
// bodies, speech results, caller names, tenant settings). Every text and attribute value is
// escaped here, always, so "<Say>hi</Say>", "]]>" or a stray quote in such text stays text and
// can never add a verb or end an attribute. What XML 1.0 cannot carry at all is cleaned instead
// of escaped, because no escape makes it legal:
//   - C0 control characters other than tab, LF and CR are dropped;
//   - U+FFFE and U+FFFF (not XML characters) are dropped;
//   - bytes that are not well-formed UTF-8 (stray continuation bytes, overlong forms, UTF-16
//     surrogates, code points above U+10FFFF, truncated sequences) are replaced by U+FFFD, one
//     replacement per maximal ill-formed subpart, as the Unicode standard recommends. Replacing
//     rather than dropping keeps a visible trace that something was lost.
// Tab, LF and CR in attribute values and CR in text are written as character references so a
// parser's whitespace normalisation hands back exactly the text that was put in.
//
// Element and attribute *names* are the plugin author's, not user data: a name that is not an
// XML name throws std::invalid_argument, since that is a bug in the plugin, not bad input.
//
// Options structs follow one rule: an empty string or a zero number leaves the attribute out,
// so Twilio applies its documented default.
#ifndef TOLLGATE_SDK_TWIML_HPP
#define TOLLGATE_SDK_TWIML_HPP

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tollgate::sdk::twiml {

namespace detail {

inline bool isNameStartChar(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
}
inline bool isNameChar(char c) noexcept {
  return isNameStartChar(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// ASCII subset of XML's Name production: enough for every TwiML verb and attribute.
inline void checkName(std::string_view name, const char* what) {
  bool ok = !name.empty() && isNameStartChar(name[0]);
  for (size_t i = 1; ok && i < name.size(); ++i) ok = isNameChar(name[i]);
  if (!ok) {
    throw std::invalid_argument(std::string("twiml: invalid ") + what + " name '" +
                                std::string(name) + "'");
  }
}

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

enum class Where { kText, kAttribute };

// Length of the well-formed UTF-8 sequence that starts at s[i] (lead byte >= 0x80), or 0 with
// *bad set to the length of the maximal ill-formed subpart to replace. Table 3-7 of the Unicode
// standard: the allowed range of the second byte depends on the lead byte.
inline size_t utf8SequenceLength(std::string_view s, size_t i, size_t* bad) noexcept {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b == 0xE0) {
    need = 2;
    lo = 0xA0;  // no overlong forms
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    need = 2;
  } else if (b == 0xED) {
    need = 2;
    hi = 0x9F;  // no UTF-16 surrogates
  } else if (b == 0xF0) {
    need = 3;
    lo = 0x90;  // no overlong forms
  } else if (b >= 0xF1 && b <= 0xF3) {
    need = 3;
  } else if (b == 0xF4) {
    need = 3;
    hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *bad = 1;  // continuation byte without a lead, C0/C1 (overlong) or F5..FF
    return 0;
  }
  size_t j = i + 1;
  for (size_t got = 0; got < need; ++got, ++j) {
    if (j >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[j]);
    if (c < (got == 0 ? lo : 0x80) || c > (got == 0 ? hi : 0xBF)) break;
  }
  if (j - i == need + 1) return need + 1;
  *bad = j - i;
  return 0;
}

// Appends `s` escaped for XML character data or a double-quoted attribute value, cleaned of
// what XML 1.0 forbids (see the top of this file).
inline void appendEscaped(std::string& out, std::string_view s, Where where) {
  const bool attr = where == Where::kAttribute;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;  // also keeps "]]>" from ever appearing
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        case '\t':
          out += attr ? "&#9;" : "\t";
          break;
        case '\n':
          out += attr ? "&#10;" : "\n";
          break;
        case '\r':
          out += "&#13;";
          break;  // a literal CR would be normalised away
        default:
          if (b >= 0x20) out.push_back(static_cast<char>(b));  // other C0 controls: dropped
      }
      ++i;
      continue;
    }
    size_t bad = 0;
    const size_t n = utf8SequenceLength(s, i, &bad);
    if (n == 0) {
      out += kReplacementChar;
      i += bad;
      continue;
    }
    const bool nonCharacter = n == 3 && b == 0xEF && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                              static_cast<unsigned char>(s[i + 2]) >= 0xBE;
    if (!nonCharacter) out.append(s.data() + i, n);  // U+FFFE, U+FFFF: dropped
    i += n;
  }
}

}  // namespace detail

// `text` escaped and cleaned for use as XML character data.
inline std::string escapeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  detail::appendEscaped(out, text, detail::Where::kText);
  return out;
}

// One TwiML verb or noun: <Name attr="...">text, then children</Name>. TwiML never mixes
// text and child elements in one verb, so text always comes first.
class Element {
 public:
  explicit Element(std::string name, std::string text = {})
      : name_(std::move(name)), text_(std::move(text)) {
    detail::checkName(name_, "element");
  }

  // Sets an attribute, replacing an earlier value of the same name so the output never has a
  // duplicate attribute (which would not be well-formed).
  Element& attr(std::string name, std::string value) {
    detail::checkName(name, "attribute");
    for (auto& a : attributes_) {
      if (a.first == name) {
        a.second = std::move(value);
        return *this;
      }
    }
    attributes_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  // Integers as decimal, bool as "true"/"false" (TwiML's spelling).
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  Element& attr(std::string name, T value) {
    if constexpr (std::is_same_v<T, bool>) {
      return attr(std::move(name), std::string(value ? "true" : "false"));
    } else {
      return attr(std::move(name), std::to_string(value));
    }
  }

  Element& text(std::string text) {
    text_ = std::move(text);
    return *this;
  }
  Element& add(Element child) {
    children_.push_back(std::move(child));
    return *this;
  }

  const std::string& name() const noexcept { return name_; }
  const std::string& text() const noexcept { return text_; }
  const std::vector<Element>& children() const noexcept { return children_; }
  // The attribute's value, or nullptr when it is not set.
  const std::string* attribute(std::string_view name) const noexcept {
    for (const auto& a : attributes_) {
      if (a.first == name) return &a.second;
    }
    return nullptr;
  }

  void renderTo(std::string& out) const {
    out += '<';
    out += name_;
    for (const auto& [k, v] : attributes_) {
      out += ' ';
      out += k;
      out += "=\"";
      detail::appendEscaped(out, v, detail::Where::kAttribute);
      out += '"';
    }
    if (text_.empty() && children_.empty()) {
      out += "/>";
      return;
    }
    out += '>';
    detail::appendEscaped(out, text_, detail::Where::kText);
    for (const auto& c : children_) c.renderTo(out);
    out += "</";
    out += name_;
    out += '>';
  }

 private:
  std::string name_;
  std::vector<std::pair<std::string, std::string>> attributes_;
  std::string text_;
  std::vector<Element> children_;
};

// A whole TwiML document: the verbs of one <Response>, in order.
class Response {
 public:
  Response& add(Element verb) {
    verbs_.push_back(std::move(verb));
    return *this;
  }
  const std::vector<Element>& verbs() const noexcept { return verbs_; }
  bool empty() const noexcept { return verbs_.empty(); }

  // <?xml version="1.0" encoding="UTF-8"?><Response>...</Response>
  std::string render() const {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if (verbs_.empty()) return out + "<Response/>";
    out += "<Response>";
    for (const auto& v : verbs_) v.renderTo(out);
    out += "</Response>";
    return out;
  }

 private:
  std::vector<Element> verbs_;
};

// ---- URLs for action= attributes ----

// Percent-encodes everything but RFC 3986's unreserved characters, so the value survives as
// exactly one query parameter whatever it holds.
inline std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

// `base` with `name=value` appended as a query parameter ('?' or '&' as needed).
inline std::string withQueryParam(std::string_view base, std::string_view name,
                                  std::string_view value) {
  std::string url(base);
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += percentEncode(name);
  url += '=';
  url += percentEncode(value);
  return url;
}

// The action URL that brings Twilio's follow-up back to the plugin with `step` set:
// tg_voice_request.action_base_url plus "?step=<step>".
inline std::string stepUrl(std::string_view action_base_url, std::string_view step) {
  return withQueryParam(action_base_url, "step", step);
}

// ---- verbs and nouns ----

struct SayOptions {
  std::string voice;     // "alice", "Polly.Joanna", ...
  std::string language;  // "en-US", ...
  int loop = 0;
};
inline Element say(std::string text, const SayOptions& o = {}) {
  Element e("Say", std::move(text));
  if (!o.voice.empty()) e.attr("voice", o.voice);
  if (!o.language.empty()) e.attr("language", o.language);
  if (o.loop != 0) e.attr("loop", o.loop);
  return e;
}

inline Element play(std::string url, int loop = 0) {
  Element e("Play", std::move(url));
  if (loop != 0) e.attr("loop", loop);
  return e;
}

struct GatherOptions {
  std::string input;  // "dtmf", "speech" or "dtmf speech"
  int num_digits = 0;
  int timeout_s = 0;  // seconds of silence before Twilio gives up
  std::string action;
  std::string method;  // "POST" or "GET"
  std::string language;
  std::string hints;           // comma-separated words that help speech recognition
  std::string speech_timeout;  // seconds or "auto"
  std::string finish_on_key;
  bool action_on_empty_result = false;  // call `action` even when nothing was entered
};
// Nest the prompt inside: gather(o).add(say("Press 1 ...")).
inline Element gather(const GatherOptions& o) {
  Element e("Gather");
  if (!o.input.empty()) e.attr("input", o.input);
  if (o.num_digits != 0) e.attr("numDigits", o.num_digits);
  if (o.timeout_s != 0) e.attr("timeout", o.timeout_s);
  if (!o.action.empty()) e.attr("action", o.action);
  if (!o.method.empty()) e.attr("method", o.method);
  if (!o.language.empty()) e.attr("language", o.language);
  if (!o.hints.empty()) e.attr("hints", o.hints);
  if (!o.speech_timeout.empty()) e.attr("speechTimeout", o.speech_timeout);
  if (!o.finish_on_key.empty()) e.attr("finishOnKey", o.finish_on_key);
  if (o.action_on_empty_result) e.attr("actionOnEmptyResult", true);
  return e;
}

struct DialOptions {
  std::string caller_id;
  int timeout_s = 0;  // seconds to let the dialled party ring
  std::string action;
  std::string method;
};
inline Element dial(std::string number, const DialOptions& o = {}) {
  Element e("Dial", std::move(number));
  if (!o.caller_id.empty()) e.attr("callerId", o.caller_id);
  if (o.timeout_s != 0) e.attr("timeout", o.timeout_s);
  if (!o.action.empty()) e.attr("action", o.action);
  if (!o.method.empty()) e.attr("method", o.method);
  return e;
}

struct RecordOptions {
  std::string action;
  std::string method;
  int max_length_s = 0;
  int timeout_s = 0;  // seconds of silence that end the recording
  bool play_beep = true;
  std::string finish_on_key;
};
inline Element record(const RecordOptions& o = {}) {
  Element e("Record");
  if (!o.action.empty()) e.attr("action", o.action);
  if (!o.method.empty()) e.attr("method", o.method);
  if (o.max_length_s != 0) e.attr("maxLength", o.max_length_s);
  if (o.timeout_s != 0) e.attr("timeout", o.timeout_s);
  e.attr("playBeep", o.play_beep);
  if (!o.finish_on_key.empty()) e.attr("finishOnKey", o.finish_on_key);
  return e;
}

inline Element hangup() { return Element("Hangup"); }

inline Element message(std::string body) { return Element("Message", std::move(body)); }

// <Connect action=...>: nest a stream(); `action` is called when the connection ends.
inline Element connect(std::string action = {}, std::string method = {}) {
  Element e("Connect");
  if (!action.empty()) e.attr("action", std::move(action));
  if (!method.empty()) e.attr("method", std::move(method));
  return e;
}

// <Stream url=...>: nest parameter()s, which reach the websocket in the "start" message.
inline Element stream(std::string url, std::string name = {}) {
  Element e("Stream");
  e.attr("url", std::move(url));
  if (!name.empty()) e.attr("name", std::move(name));
  return e;
}

inline Element parameter(std::string name, std::string value) {
  Element e("Parameter");
  e.attr("name", std::move(name));
  e.attr("value", std::move(value));
  return e;
}

inline Element redirect(std::string url, std::string method = {}) {
  Element e("Redirect", std::move(url));
  if (!method.empty()) e.attr("method", std::move(method));
  return e;
}

inline Element pause(int length_s = 0) {
  Element e("Pause");
  if (length_s != 0) e.attr("length", length_s);
  return e;
}

}  // namespace tollgate::sdk::twiml

#endif  // TOLLGATE_SDK_TWIML_HPP
