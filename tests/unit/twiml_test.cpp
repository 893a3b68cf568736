// TwiML comes out well-formed and escaped whatever the text holds.
#include <Poco/AutoPtr.h>
#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <gtest/gtest.h>

#include "twilio/twiml.hpp"

namespace tollgate::twilio {
namespace {

// Parses with a real XML parser: a document that is not well-formed throws.
Poco::XML::AutoPtr<Poco::XML::Document> parse(const std::string& xml) {
  Poco::XML::DOMParser parser;
  return parser.parseString(xml);
}

TEST(Twiml, EmptyResponseIsAWellFormedDocument) {
  const std::string xml = emptyResponse();
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u) << xml;
  EXPECT_EQ(parse(xml)->documentElement()->nodeName(), "Response");
}

TEST(Twiml, AttackerControlledBodyIsEscapedAndRoundTrips) {
  const std::string body =
      "<Say>hi</Say> ]]> & \"q\" 'a' <![CDATA[x]]> </Message><Redirect>http://evil</Redirect>";
  const std::string xml = messageResponse(body);
  EXPECT_EQ(xml.find("<Say>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("]]>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<Redirect>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("&amp;"), std::string::npos) << xml;
  auto doc = parse(xml);
  auto* root = doc->documentElement();
  ASSERT_EQ(root->childNodes()->length(), 1u);
  EXPECT_EQ(root->firstChild()->nodeName(), "Message");
  EXPECT_EQ(root->firstChild()->innerText(), body);
}

TEST(Twiml, AttributesAreEscapedAndControlCharactersDropped) {
  TwimlNode gather = node("Gather");
  gather.attr("action", "/voice/next?step=a&b=\"c\"<d>").attr("numDigits", "1");
  gather.add(node("Say", std::string("Press 1\x01\x02 for sales\n")));
  const std::string xml = renderTwiml({gather});
  auto doc = parse(xml);
  auto* g = static_cast<Poco::XML::Element*>(doc->documentElement()->firstChild());
  EXPECT_EQ(g->getAttribute("action"), "/voice/next?step=a&b=\"c\"<d>");
  EXPECT_EQ(g->getAttribute("numDigits"), "1");
  EXPECT_EQ(g->firstChild()->innerText(), "Press 1 for sales\n");
}

TEST(Twiml, Utf8PassesThrough) {
  const std::string body = "Grüße, España 👋";
  EXPECT_EQ(parse(messageResponse(body))->documentElement()->firstChild()->innerText(), body);
}

}  // namespace
}  // namespace tollgate::twilio
