#include "messaging/optouts.hpp"

#include <algorithm>
#include <array>

namespace tollgate::messaging {
namespace {

// Twilio's default opt-out families; REVOKE and OPTOUT joined STOP on 14 May 2025.
constexpr std::array<std::string_view, 8> kStop = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                                                   "END",  "QUIT",    "REVOKE",      "OPTOUT"};
constexpr std::array<std::string_view, 3> kStart = {"START", "YES", "UNSTOP"};
constexpr std::array<std::string_view, 2> kHelp = {"HELP", "INFO"};

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

template <size_t N>
bool in(const std::array<std::string_view, N>& words, std::string_view w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

}  // namespace

std::string normalizedKeyword(std::string_view body) {
  size_t b = 0, e = body.size();
  while (b < e && isSpace(body[b])) ++b;
  while (e > b && isSpace(body[e - 1])) --e;
  std::string w(body.substr(b, e - b));
  for (char& c : w) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return w;
}

tg_sms_keyword keywordFamily(std::string_view body) {
  if (body.size() > 64) return TG_SMS_KEYWORD_NONE;
  const std::string w = normalizedKeyword(body);
  if (in(kStop, w)) return TG_SMS_KEYWORD_STOP;
  if (in(kStart, w)) return TG_SMS_KEYWORD_START;
  if (in(kHelp, w)) return TG_SMS_KEYWORD_HELP;
  return TG_SMS_KEYWORD_NONE;
}

}  // namespace tollgate::messaging
