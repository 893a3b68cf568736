// voice-ivr's per-number settings, parsed and validated once per call. The format is
// documented in docs (plugin guide); every field that is wrong fails the call with a message
// naming it, and the core answers with the tenant's fallback TwiML.
#pragma once

#include <tollgate/abi/common.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "business_hours.hpp"

namespace tollgate::plugins::ivr {

// Something said or played: {"say": text, "voice"?, "language"?} and/or {"play": url}.
struct Prompt {
  std::string say;
  std::string play;
  std::string voice;     // empty: the number's default voice
  std::string language;  // empty: the number's default language
  bool empty() const { return say.empty() && play.empty(); }
};

struct DialTarget {
  std::string number;  // E.164
  std::string caller_id;
  int timeout_s = 0;  // 0: Twilio's default (30 s)
};

// One menu choice. Besides its prompt it does at most one thing; with nothing to do, the call
// ends after the prompt.
struct MenuOption {
  std::string key;                 // DTMF digits, or a word for speech ("sales")
  std::vector<std::string> words;  // more phrases that choose it by speech
  Prompt say;
  std::optional<DialTarget> dial;
  bool voicemail = false;
  std::string menu;  // name of the menu to go to: "main" or a key of settings.menus
};

constexpr char kMainMenu[] = "main";

struct Menu {
  std::string name;  // "main" for settings.menu, else its key in settings.menus
  Prompt prompt;
  std::string input = "dtmf";  // "dtmf", "speech" or "dtmf speech"
  int timeout_s = 5;
  int num_digits = 0;  // 0: not sent (Twilio waits for '#' or the timeout)
  int retries = 2;     // how often the menu is offered again after a wrong or missing answer
  Prompt invalid;
  Prompt goodbye;
  std::vector<MenuOption> options;

  bool dtmf() const { return input.find("dtmf") != std::string::npos; }
  bool speech() const { return input.find("speech") != std::string::npos; }
};

struct Voicemail {
  Prompt prompt;
  int max_length_s = 120;
  Prompt thanks;
};

struct AfterHours {
  Prompt say;
  bool voicemail = false;
};

struct IvrConfig {
  std::string voice;     // default voice of every <Say>
  std::string language;  // default language of every <Say> and of speech recognition
  Prompt greeting;
  std::optional<BusinessHours> hours;  // absent: always open
  AfterHours after_hours;
  std::map<std::string, Menu> menus;  // "main" is settings.menu
  bool has_voicemail = false;         // settings.voicemail was given
  Voicemail voicemail;                // with defaults filled in either way

  const Menu* menu(const std::string& name) const {
    auto it = menus.find(name);
    return it == menus.end() ? nullptr : &it->second;
  }
};

// Plugin-wide defaults from the plugin's own [settings] (plugins.d), used when a number does not
// set them.
struct IvrDefaults {
  std::string voice;
  std::string language;
  std::string timezone;  // empty: UTC
};

// Throws sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.<field>: ...") when a setting is bad.
IvrConfig parseIvrConfig(const tg_kv* settings, size_t count, const IvrDefaults& defaults);

}  // namespace tollgate::plugins::ivr
