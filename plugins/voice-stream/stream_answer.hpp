// voice-stream's answer to one voice webhook: connect the caller to the tenant's voice-AI
// websocket with <Connect><Stream>, or apologise when there is nowhere to connect to.
#pragma once

#include <tollgate/abi/voice.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::plugins::stream {

// Something said or played.
struct Prompt {
  std::string say;
  std::string play;
  std::string voice;     // empty: Twilio's default
  std::string language;  // empty: Twilio's default
};

struct StreamConfig {
  std::string url;          // the websocket, wss://; empty when missing or unusable
  std::string url_problem;  // why url is empty, for the log
  std::vector<std::pair<std::string, std::string>> parameters;  // custom <Parameter>s
  Prompt greeting;  // said before connecting; may be empty
  Prompt fallback;  // said instead of connecting when there is no usable url
  Prompt on_end;    // said when the stream ends, before hanging up; may be empty
};

// Parses the number's settings; `fallback_say` is the plugin-wide default apology. Throws
// sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.<field>: ...") for a bad field. A missing or
// non-wss url is not an error: the caller hears the fallback and the plugin logs a warning.
StreamConfig parseStreamConfig(const tg_kv* settings, size_t count,
                               const std::string& fallback_say);

struct CallFacts {
  tg_voice_event event = TG_VOICE_INBOUND;
  std::string_view step;
  std::string_view action_base_url;
  std::string_view tenant_id;
  std::string_view call_sid;
  std::string_view caller;
};

struct Answer {
  std::string twiml;
  std::string outcome;  // "stream", "fallback" or "stream_end"
};

// The step this plugin puts in <Connect action=...>, so the end of the stream comes back.
constexpr char kStreamEndStep[] = "stream-end";

Answer answerCall(const StreamConfig& config, const CallFacts& call);

}  // namespace tollgate::plugins::stream
