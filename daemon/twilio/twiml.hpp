// TwiML documents. Everything a caller or a plugin puts in text or attributes is escaped by
// Poco's XMLWriter (SMS bodies and speech results are attacker-controlled), and characters
// XML 1.0 cannot carry at all (control characters other than tab, CR, LF) are dropped.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::twilio {

// One TwiML verb or noun: <Name attr="...">text or children</Name>.
struct TwimlNode {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
  std::vector<TwimlNode> children;

  TwimlNode& attr(std::string key, std::string value) {
    attributes.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  TwimlNode& add(TwimlNode child) {
    children.push_back(std::move(child));
    return *this;
  }
};

inline TwimlNode node(std::string name, std::string text = {}) {
  return TwimlNode{std::move(name), {}, std::move(text), {}};
}

// <?xml version="1.0" encoding="UTF-8"?><Response>...</Response>
std::string renderTwiml(const std::vector<TwimlNode>& verbs);

// The documents the core itself answers with.
std::string emptyResponse();                         // <Response/>: acknowledge, do nothing
std::string messageResponse(std::string_view body);  // one <Message>

}  // namespace tollgate::twilio
