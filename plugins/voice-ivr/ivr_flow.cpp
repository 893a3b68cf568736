#include "ivr_flow.hpp"

#include <tollgate/sdk/twiml.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace tollgate::plugins::ivr {
namespace {

namespace tw = sdk::twiml;

struct Step {
  enum Kind { kStart, kMenu, kDial, kVoicemail } kind = kStart;
  std::string menu = kMainMenu;
  int attempt = 1;
};

Step parseStep(std::string_view s) {
  Step step;
  if (s == "dial") step.kind = Step::kDial;
  if (s == "voicemail") step.kind = Step::kVoicemail;
  if (s.rfind("menu", 0) != 0) return step;
  s.remove_prefix(4);
  if (const size_t tilde = s.find('~'); tilde != std::string_view::npos) {
    int n = 0;
    for (char c : s.substr(tilde + 1)) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || n > 100) return step;
      n = n * 10 + (c - '0');
    }
    step.attempt = std::max(n, 1);
    s = s.substr(0, tilde);
  }
  if (!s.empty() && s[0] != '.') return step;  // "menus", "menuX": not ours
  if (s.size() > 1) step.menu = std::string(s.substr(1));
  step.kind = Step::kMenu;
  return step;
}

std::string menuStep(const std::string& name, int attempt) {
  std::string s = name == kMainMenu ? "menu" : "menu." + name;
  if (attempt > 1) s += "~" + std::to_string(attempt);
  return s;
}

// Lower-cased ASCII words; punctuation separates words; other UTF-8 bytes stay in words.
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || std::isalnum(c)) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool containsRun(const std::vector<std::string>& hay, const std::vector<std::string>& needle) {
  return !needle.empty() &&
         std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

class Flow {
 public:
  Flow(const IvrConfig& c, const CallInput& in) : c_(c), in_(in) {}

  Answer run() {
    const Step step = parseStep(in_.step);
    // Dispatch on the step first: it is what this plugin wrote into the action URL.
    if (step.kind == Step::kVoicemail || in_.event == TG_VOICE_RECORDING) return voicemailDone();
    if (step.kind == Step::kDial) return dialDone();
    if (step.kind == Step::kMenu) return menuAnswer(step);
    if (in_.event == TG_VOICE_GATHER) return menuAnswer(Step{Step::kMenu});
    if (in_.event == TG_VOICE_STREAM_END) return done("hangup");
    return start();
  }

 private:
  Answer start() {
    say(c_.greeting);
    if (c_.hours && !c_.hours->isOpen(in_.now_unix_ms)) {
      say(c_.after_hours.say);
      if (c_.after_hours.voicemail) return voicemail("after_hours_voicemail");
      return done("after_hours");
    }
    if (const Menu* m = c_.menu(kMainMenu)) return gather(*m, 1, "menu");
    if (c_.has_voicemail) return voicemail("voicemail");
    return done("greeting");
  }

  Answer menuAnswer(const Step& step) {
    // A menu that vanished from the settings during the call: start over at the main menu.
    const Menu* m = c_.menu(step.menu);
    const int attempt = m ? step.attempt : 1;
    if (!m) m = c_.menu(kMainMenu);
    if (!m) return done("hangup");
    if (const MenuOption* o = chooseOption(*m, in_.digits, in_.speech)) return choose(*o);
    say(m->invalid);
    if (attempt <= m->retries) return gather(*m, attempt + 1, "invalid");
    if (c_.has_voicemail) return voicemail("retries_exhausted_voicemail");
    say(m->goodbye);
    return done("retries_exhausted");
  }

  Answer choose(const MenuOption& o) {
    say(o.say);
    if (o.dial) {
      tw::DialOptions d;
      d.caller_id = o.dial->caller_id;
      d.timeout_s = o.dial->timeout_s;
      d.action = tw::stepUrl(in_.action_base_url, "dial");
      d.method = "POST";
      r_.add(tw::dial(o.dial->number, d));
      return Answer{r_.render(), "dial"};
    }
    if (o.voicemail) return voicemail("voicemail");
    if (!o.menu.empty()) return gather(*c_.menu(o.menu), 1, "submenu");
    return done("choice");
  }

  Answer dialDone() {
    // Nobody took the call: a voicemail box beats silence.
    const bool missed =
        in_.dial_status == "busy" || in_.dial_status == "no-answer" || in_.dial_status == "failed";
    if (missed && c_.has_voicemail) return voicemail("dial_missed_voicemail");
    return done(missed ? "dial_missed" : "dial_ended");
  }

  Answer voicemailDone() {
    say(c_.voicemail.thanks);
    return done("voicemail_recorded");
  }

  Answer gather(const Menu& m, int attempt, std::string outcome) {
    tw::GatherOptions g;
    g.input = m.input;
    g.timeout_s = m.timeout_s;
    if (m.dtmf()) g.num_digits = m.num_digits;
    g.action = tw::stepUrl(in_.action_base_url, menuStep(m.name, attempt));
    g.method = "POST";
    // Without it Twilio skips the action on silence and runs the next verb; with it a silent
    // caller comes back here as an empty answer and is asked again.
    g.action_on_empty_result = true;
    if (m.speech()) {
      g.language = c_.language;
      g.hints = hints(m);
    }
    tw::Element e = tw::gather(g);
    for (auto& verb : prompt(m.prompt)) e.add(std::move(verb));
    r_.add(std::move(e));
    return Answer{r_.render(), std::move(outcome)};
  }

  Answer voicemail(std::string outcome) {
    say(c_.voicemail.prompt);
    tw::RecordOptions rec;
    rec.action = tw::stepUrl(in_.action_base_url, "voicemail");
    rec.method = "POST";
    rec.max_length_s = c_.voicemail.max_length_s;
    rec.play_beep = true;
    r_.add(tw::record(rec));
    // Reached only when nothing was recorded: Twilio then skips the action URL.
    r_.add(tw::hangup());
    return Answer{r_.render(), std::move(outcome)};
  }

  Answer done(std::string outcome) {
    r_.add(tw::hangup());
    return Answer{r_.render(), std::move(outcome)};
  }

  std::vector<tw::Element> prompt(const Prompt& p) const {
    std::vector<tw::Element> out;
    if (!p.say.empty()) {
      tw::SayOptions o;
      o.voice = p.voice.empty() ? c_.voice : p.voice;
      o.language = p.language.empty() ? c_.language : p.language;
      out.push_back(tw::say(p.say, o));
    }
    if (!p.play.empty()) out.push_back(tw::play(p.play));
    return out;
  }

  void say(const Prompt& p) {
    for (auto& verb : prompt(p)) r_.add(std::move(verb));
  }

  static std::string hints(const Menu& m) {
    std::string h;
    auto add = [&h](const std::string& w) { h += (h.empty() ? "" : ", ") + w; };
    for (const auto& o : m.options) {
      if (!std::all_of(o.key.begin(), o.key.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        add(o.key);
      }
      for (const auto& w : o.words) add(w);
    }
    return h;
  }

  const IvrConfig& c_;
  const CallInput& in_;
  tw::Response r_;
};

}  // namespace

const MenuOption* chooseOption(const Menu& menu, std::string_view digits, std::string_view speech) {
  if (!digits.empty()) {
    for (const auto& o : menu.options) {
      if (o.key == digits) return &o;
    }
    return nullptr;
  }
  const std::vector<std::string> said = words(speech);
  if (said.empty() || !menu.speech()) return nullptr;
  // A choice named exactly beats one merely mentioned: "sales support" vs "sales".
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& o : menu.options) {
      std::vector<std::string> names = {o.key};
      names.insert(names.end(), o.words.begin(), o.words.end());
      for (const auto& name : names) {
        const auto w = words(name);
        if (pass == 0 ? w == said : containsRun(said, w)) return &o;
      }
    }
  }
  return nullptr;
}

Answer answerCall(const IvrConfig& config, const CallInput& in) { return Flow(config, in).run(); }

}  // namespace tollgate::plugins::ivr
