#include "twilio/twiml.hpp"

#include <Poco/SAX/AttributesImpl.h>
#include <Poco/XML/XMLWriter.h>

#include <sstream>

namespace tollgate::twilio {
namespace {

// XML 1.0 allows tab, LF, CR and everything from U+0020 up; other C0 controls make the
// document ill-formed no matter how they are escaped, so they are removed.
std::string xmlSafe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 || c == '\t' || c == '\n' || c == '\r') out.push_back(c);
  }
  return out;
}

void write(Poco::XML::XMLWriter& w, const TwimlNode& n) {
  Poco::XML::AttributesImpl attrs;
  for (const auto& [k, v] : n.attributes) attrs.addAttribute("", "", k, "CDATA", xmlSafe(v));
  w.startElement("", "", n.name, attrs);
  if (!n.text.empty()) {
    const std::string text = xmlSafe(n.text);
    w.characters(text.data(), 0, static_cast<int>(text.size()));
  }
  for (const auto& c : n.children) write(w, c);
  w.endElement("", "", n.name);
}

}  // namespace

std::string renderTwiml(const std::vector<TwimlNode>& verbs) {
  std::ostringstream out;
  // Input is UTF-8 and so is the output; a null encoding makes the writer pass bytes through.
  Poco::XML::XMLWriter w(out, Poco::XML::XMLWriter::WRITE_XML_DECLARATION, "UTF-8", nullptr);
  w.startDocument();
  w.startElement("", "", "Response");
  for (const auto& v : verbs) write(w, v);
  w.endElement("", "", "Response");
  w.endDocument();
  return out.str();
}

std::string emptyResponse() { return renderTwiml({}); }

std::string messageResponse(std::string_view body) {
  return renderTwiml({node("Message", std::string(body))});
}

}  // namespace tollgate::twilio
