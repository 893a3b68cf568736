// The IVR's answer to one voice webhook, as a pure function of the number's settings and the
// webhook: no state is kept between webhooks. What the plugin needs to remember across a call
// (which menu, which attempt) travels in the `step` of the action URLs it hands to Twilio:
//   menu[.NAME][~ATTEMPT]  a <Gather> of menu NAME ("main" when absent), ATTEMPT from 1
//   dial                   a <Dial> ended (DialCallStatus tells how)
//   voicemail              a <Record> ended
#pragma once

#include <tollgate/abi/voice.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ivr_config.hpp"

namespace tollgate::plugins::ivr {

struct CallInput {
  tg_voice_event event = TG_VOICE_INBOUND;
  std::string_view step;
  std::string_view action_base_url;
  std::string_view digits;       // Digits
  std::string_view speech;       // SpeechResult
  std::string_view dial_status;  // DialCallStatus
  int64_t now_unix_ms = 0;
};

struct Answer {
  std::string twiml;
  std::string outcome;  // what happened, [a-z_]+, counted as a metric "answer_<outcome>"
};

Answer answerCall(const IvrConfig& config, const CallInput& in);

// The menu option that `digits` (exact key) or else `speech` (a key or one of its words, case-
// and punctuation-insensitive, as the whole utterance or inside it) chooses; nullptr if none.
const MenuOption* chooseOption(const Menu& menu, std::string_view digits, std::string_view speech);

}  // namespace tollgate::plugins::ivr
