// The SDK's TwiML builder (sdk/include/tollgate/sdk/twiml.hpp) with text and attribute values
// from the fuzzer. Every rendered document must parse as XML (Poco's DOMParser on Expat, which
// also rejects ill-formed UTF-8 and non-characters), hold exactly the verbs that were added, and
// give back every text and attribute value as clean(input), where clean() is the rule the header
// documents, implemented here independently:
//   - C0 controls other than tab, LF and CR are dropped;
//   - U+FFFE and U+FFFF are dropped;
//   - each maximal ill-formed UTF-8 subpart (Unicode 3.9, "U+FFFD substitution of maximal
//     subparts") becomes one U+FFFD.
// Element names are checked against the header's ASCII subset of XML's Name production.
#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NamedNodeMap.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/SAX/XMLReader.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <tollgate/sdk/twiml.hpp>
#include "check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tw = tollgate::sdk::twiml;

namespace {

// For a sequence of `len` bytes (2..4) whose first `have` bytes are known and decode to the bit
// prefix `bits`: can some continuation complete it to a well-formed sequence? The code points it
// can still reach form [bits << r, (bits << r) | (2^r - 1)] with r = 6 * (len - have); that range
// must meet the code points `len` bytes may encode, outside the surrogates.
bool completable(uint32_t bits, size_t have, size_t len) {
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  static constexpr uint32_t kMax[] = {0, 0, 0x7FF, 0xFFFF, 0x10FFFF};
  const uint32_t r = 6 * static_cast<uint32_t>(len - have);
  uint32_t lo = std::max(bits << r, kMin[len]);
  uint32_t hi = std::min((bits << r) | ((1u << r) - 1), kMax[len]);
  if (lo > hi) return false;
  if (lo >= 0xD800 && lo <= 0xDFFF) lo = 0xE000;  // skip the surrogates at either end
  if (hi >= 0xD800 && hi <= 0xDFFF) hi = 0xD7FF;
  return lo <= hi;
}

std::string clean(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b >= 0x20 || b == '\t' || b == '\n' || b == '\r') out += s[i];
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t bits = 0;
    if ((b & 0xE0) == 0xC0) {
      len = 2, bits = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, bits = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, bits = b & 0x07;
    }
    size_t have = 1;
    if (len != 0 && completable(bits, 1, len)) {
      while (have < len && i + have < s.size()) {
        const auto c = static_cast<unsigned char>(s[i + have]);
        if ((c & 0xC0) != 0x80 || !completable((bits << 6) | (c & 0x3F), have + 1, len)) break;
        bits = (bits << 6) | (c & 0x3F);
        ++have;
      }
    }
    if (len != 0 && have == len) {
      if (bits != 0xFFFE && bits != 0xFFFF) out.append(s.substr(i, len));
    } else {
      out += "\xEF\xBF\xBD";
    }
    i += have;
  }
  return out;
}

bool validName(std::string_view n) {
  auto start = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
  };
  if (n.empty() || !start(n[0])) return false;
  for (char c : n.substr(1)) {
    if (!start(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
  }
  return true;
}

// What one rendered verb must parse back as.
struct Expected {
  std::string name;
  std::string text;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<Expected> children;
};

std::vector<Poco::XML::Element*> childElements(Poco::XML::Node* parent) {
  std::vector<Poco::XML::Element*> out;
  for (Poco::XML::Node* n = parent->firstChild(); n != nullptr; n = n->nextSibling()) {
    if (auto* e = dynamic_cast<Poco::XML::Element*>(n)) out.push_back(e);
  }
  return out;
}

// Text directly inside `e` (TwiML puts text first, then child elements).
std::string ownText(Poco::XML::Node* e) {
  std::string out;
  for (Poco::XML::Node* n = e->firstChild(); n != nullptr; n = n->nextSibling()) {
    if (n->nodeType() == Poco::XML::Node::TEXT_NODE) out += n->nodeValue();
  }
  return out;
}

void compare(Poco::XML::Element* got, const Expected& want) {
  FUZZ_CHECK(got->nodeName() == want.name);
  FUZZ_CHECK(ownText(got) == want.text);
  for (const auto& [k, v] : want.attributes) FUZZ_CHECK(got->getAttribute(k) == v);
  const Poco::XML::AutoPtr<Poco::XML::NamedNodeMap> attributes = got->attributes();
  FUZZ_CHECK(attributes->length() == want.attributes.size());
  const auto kids = childElements(got);
  FUZZ_CHECK(kids.size() == want.children.size());
  for (size_t i = 0; i < kids.size(); ++i) compare(kids[i], want.children[i]);
}

// One verb from the fuzzer's choices, and what it must parse back as.
tw::Element verb(FuzzedDataProvider& in, Expected& want) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: {
      tw::SayOptions o;
      o.voice = in.ConsumeRandomLengthString(20);
      o.language = in.ConsumeRandomLengthString(10);
      o.loop = in.ConsumeIntegralInRange(-2, 3);
      const std::string text = in.ConsumeRandomLengthString(200);
      want = {"Say", clean(text), {}, {}};
      if (!o.voice.empty()) want.attributes.emplace_back("voice", clean(o.voice));
      if (!o.language.empty()) want.attributes.emplace_back("language", clean(o.language));
      if (o.loop != 0) want.attributes.emplace_back("loop", std::to_string(o.loop));
      return tw::say(text, o);
    }
    case 1: {
      const std::string body = in.ConsumeRandomLengthString(300);
      want = {"Message", clean(body), {}, {}};
      return tw::message(body);
    }
    case 2: {
      tw::GatherOptions g;
      g.hints = in.ConsumeRandomLengthString(60);
      g.action = tw::stepUrl("https://gw.example/v/ivr", in.ConsumeRandomLengthString(20));
      const std::string prompt = in.ConsumeRandomLengthString(100);
      want = {"Gather", "", {}, {{"Say", clean(prompt), {}, {}}}};
      want.attributes.emplace_back("action", g.action);  // percent-encoded: ASCII only
      if (!g.hints.empty()) want.attributes.emplace_back("hints", clean(g.hints));
      return tw::gather(g).add(tw::say(prompt));
    }
    default: {
      // A plugin's own element and attribute names: invalid ones throw, valid ones are used.
      const std::string name = in.ConsumeRandomLengthString(12);
      const std::string attrName = in.ConsumeRandomLengthString(12);
      const std::string value = in.ConsumeRandomLengthString(100);
      const std::string text = in.ConsumeRandomLengthString(100);
      bool threw = false;
      try {
        tw::Element e(name, text);
        e.attr(attrName, value);
        e.attr(attrName, value + "2");  // replaces, never a duplicate attribute
        want = {name, clean(text), {{attrName, clean(value + "2")}}, {}};
        FUZZ_CHECK(validName(name) && validName(attrName));
        return e;
      } catch (const std::invalid_argument&) {
        threw = true;
      }
      FUZZ_CHECK(threw && !(validName(name) && validName(attrName)));
      want = {"Hangup", "", {}, {}};
      return tw::hangup();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  tw::Response response;
  std::vector<Expected> want(in.ConsumeIntegralInRange(0, 4));
  for (auto& w : want) response.add(verb(in, w));
  const std::string rest = in.ConsumeRemainingBytesAsString();
  FUZZ_CHECK(tw::escapeText(rest) == tw::escapeText(clean(rest)));  // cleaning is idempotent

  const std::string xml = response.render();
  Poco::XML::DOMParser parser;
  // Plugin-chosen names may hold ':'; without namespace processing that is a plain XML name.
  parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, false);
  Poco::XML::AutoPtr<Poco::XML::Document> doc;
  try {
    doc = parser.parseString(xml);
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "not well-formed: %s\n%s\n", e.displayText().c_str(), xml.c_str());
    std::abort();
  }
  Poco::XML::Element* root = doc->documentElement();
  FUZZ_CHECK(root->nodeName() == "Response");
  const auto verbs = childElements(root);
  FUZZ_CHECK(verbs.size() == want.size() && ownText(root).empty());
  for (size_t i = 0; i < verbs.size(); ++i) compare(verbs[i], want[i]);
  return 0;
}
