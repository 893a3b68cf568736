// The SDK's TwiML builder: every document it renders is well-formed (checked with a real XML
// parser, Poco's DOMParser on Expat, which also rejects ill-formed UTF-8 and non-characters)
// and every text and attribute a stranger supplies comes back out of the parser unchanged.
#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <gtest/gtest.h>
#include <tollgate/sdk/twiml.hpp>

#include <string>

namespace tw = tollgate::sdk::twiml;

namespace {

using Poco::XML::AutoPtr;
using Poco::XML::Document;
using XmlElement = Poco::XML::Element;

AutoPtr<Document> parse(const std::string& xml) {
  Poco::XML::DOMParser parser;
  return parser.parseString(xml);
}

// The n-th child element of `parent` (text nodes never occur between verbs here).
XmlElement* child(Poco::XML::Node* parent, unsigned long n) {
  const Poco::XML::AutoPtr<Poco::XML::NodeList> nodes = parent->childNodes();
  return dynamic_cast<XmlElement*>(nodes->item(n));
}

const std::string kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

TEST(Twiml, EmptyResponseIsAWellFormedDocument) {
  const std::string xml = tw::Response().render();
  EXPECT_EQ(xml, kDecl + "<Response/>");
  auto doc = parse(xml);
  EXPECT_EQ(doc->documentElement()->nodeName(), "Response");
  EXPECT_FALSE(doc->documentElement()->hasChildNodes());
}

TEST(Twiml, AttackerTextInSayStaysText) {
  const std::string attack =
      "<Say>hi</Say> ]]> & \"q\" 'a' <![CDATA[x]]> </Say><Redirect>http://evil</Redirect>";
  const std::string xml = tw::Response().add(tw::say(attack)).render();
  EXPECT_EQ(xml.find("<Say>hi"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("]]>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<Redirect>"), std::string::npos) << xml;
  auto doc = parse(xml);
  auto* root = doc->documentElement();
  ASSERT_EQ(Poco::XML::AutoPtr<Poco::XML::NodeList>(root->childNodes())->length(), 1u);
  EXPECT_EQ(child(root, 0)->nodeName(), "Say");
  EXPECT_EQ(child(root, 0)->innerText(), attack);
}

TEST(Twiml, AttributeValuesRoundTripIncludingQuotesAndWhitespace) {
  const std::string value = "a&b=\"c\" 'd' <e> ]]>\tf\ng\r\nh";
  const std::string xml =
      tw::Response().add(tw::Element("Play", "https://x/a.mp3").attr("digits", value)).render();
  auto doc = parse(xml);
  EXPECT_EQ(child(doc->documentElement(), 0)->getAttribute("digits"), value);
}

TEST(Twiml, CarriageReturnsInTextSurviveLineEndNormalisation) {
  const std::string text = "line1\r\nline2\rline3\n\tend";
  auto doc = parse(tw::Response().add(tw::message(text)).render());
  EXPECT_EQ(child(doc->documentElement(), 0)->innerText(), text);
}

TEST(Twiml, ControlCharactersAreDropped) {
  const std::string text = std::string("a\x01\x02") + '\0' + "b\x1f\x7f" + "c\x0b\x0c";
  const std::string xml = tw::Response().add(tw::say(text).attr("voice", "x\x01y")).render();
  auto doc = parse(xml);
  auto* say = child(doc->documentElement(), 0);
  EXPECT_EQ(say->innerText(),
            "ab\x7f"
            "c");  // DEL is a legal XML character
  EXPECT_EQ(say->getAttribute("voice"), "xy");
}

TEST(Twiml, ValidUtf8PassesThroughUnchanged) {
  const std::string text = "Grüße, España, 日本, 👋";
  auto doc = parse(tw::Response().add(tw::say(text)).render());
  EXPECT_EQ(child(doc->documentElement(), 0)->innerText(), text);
}

TEST(Twiml, IllFormedUtf8BecomesReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"a\x80"
       "b",
       "a" + r + "b"},  // stray continuation byte
      {"a\xC0\xAF"
       "b",
       "a" + r + r + "b"},  // overlong '/', C0 never valid
      {"a\xE0\x80\xAF"
       "b",
       "a" + r + r + r + "b"},  // overlong 3-byte form
      {"a\xED\xA0\x80"
       "b",
       "a" + r + r + r + "b"},  // UTF-16 surrogate U+D800
      {"a\xF4\x90\x80\x80"
       "b",
       "a" + r + r + r + r + "b"},  // above U+10FFFF
      {"a\xE2\x82", "a" + r},       // truncated at the end
      {"a\xE2\x82"
       "b",
       "a" + r + "b"},      // truncated, one maximal subpart
      {"\xFF\xFE", r + r},  // never valid bytes
  };
  for (const auto& c : cases) {
    EXPECT_EQ(tw::escapeText(c.in), c.out);
    auto doc = parse(tw::Response().add(tw::say(c.in).attr("language", c.in)).render());
    auto* say = child(doc->documentElement(), 0);
    EXPECT_EQ(say->innerText(), c.out);
    EXPECT_EQ(say->getAttribute("language"), c.out);
  }
}

TEST(Twiml, NonCharactersFffeAndFfffAreDropped) {
  const std::string text =
      "a\xEF\xBF\xBE"
      "b\xEF\xBF\xBF"
      "c\xEF\xBF\xBD";
  auto doc = parse(tw::Response().add(tw::say(text)).render());
  EXPECT_EQ(child(doc->documentElement(), 0)->innerText(), "abc\xEF\xBF\xBD");
}

TEST(Twiml, GatherNestsItsPromptAndCarriesItsOptions) {
  tw::GatherOptions o;
  o.input = "dtmf speech";
  o.num_digits = 1;
  o.timeout_s = 7;
  o.action = tw::stepUrl("https://gw.example/voice/next?n=1", "menu");
  o.method = "POST";
  o.hints = "sales, support";
  o.action_on_empty_result = true;
  tw::SayOptions s;
  s.voice = "Polly.Joanna";
  s.language = "en-US";
  const std::string xml =
      tw::Response().add(tw::gather(o).add(tw::say("Press 1", s))).add(tw::hangup()).render();
  auto doc = parse(xml);
  auto* root = doc->documentElement();
  ASSERT_EQ(Poco::XML::AutoPtr<Poco::XML::NodeList>(root->childNodes())->length(), 2u);
  auto* g = child(root, 0);
  EXPECT_EQ(g->nodeName(), "Gather");
  EXPECT_EQ(g->getAttribute("input"), "dtmf speech");
  EXPECT_EQ(g->getAttribute("numDigits"), "1");
  EXPECT_EQ(g->getAttribute("timeout"), "7");
  EXPECT_EQ(g->getAttribute("action"), "https://gw.example/voice/next?n=1&step=menu");
  EXPECT_EQ(g->getAttribute("method"), "POST");
  EXPECT_EQ(g->getAttribute("hints"), "sales, support");
  EXPECT_EQ(g->getAttribute("actionOnEmptyResult"), "true");
  EXPECT_FALSE(g->hasAttribute("language"));  // empty option: attribute left out
  auto* say = child(g, 0);
  EXPECT_EQ(say->nodeName(), "Say");
  EXPECT_EQ(say->getAttribute("voice"), "Polly.Joanna");
  EXPECT_EQ(say->getAttribute("language"), "en-US");
  EXPECT_EQ(say->innerText(), "Press 1");
  EXPECT_EQ(child(root, 1)->nodeName(), "Hangup");
  EXPECT_FALSE(child(root, 1)->hasChildNodes());
}

TEST(Twiml, EveryHelperRendersItsVerb) {
  tw::DialOptions d;
  d.caller_id = "+15550001111";
  d.timeout_s = 20;
  tw::RecordOptions rec;
  rec.action = "https://gw/v?step=voicemail";
  rec.max_length_s = 120;
  tw::Response r;
  r.add(tw::play("https://x/a.mp3", 2))
      .add(tw::pause(3))
      .add(tw::dial("+15552223333", d))
      .add(tw::record(rec))
      .add(tw::connect("https://gw/v?step=stream-end")
               .add(tw::stream("wss://ai.example/ws").add(tw::parameter("tenant", "t&1"))))
      .add(tw::redirect("https://gw/v?step=x", "POST"))
      .add(tw::message("hi"))
      .add(tw::hangup());
  auto doc = parse(r.render());
  auto* root = doc->documentElement();
  ASSERT_EQ(Poco::XML::AutoPtr<Poco::XML::NodeList>(root->childNodes())->length(), 8u);
  EXPECT_EQ(child(root, 0)->getAttribute("loop"), "2");
  EXPECT_EQ(child(root, 1)->getAttribute("length"), "3");
  auto* dial = child(root, 2);
  EXPECT_EQ(dial->innerText(), "+15552223333");
  EXPECT_EQ(dial->getAttribute("callerId"), "+15550001111");
  EXPECT_EQ(dial->getAttribute("timeout"), "20");
  auto* record = child(root, 3);
  EXPECT_EQ(record->getAttribute("maxLength"), "120");
  EXPECT_EQ(record->getAttribute("playBeep"), "true");
  EXPECT_EQ(record->getAttribute("action"), "https://gw/v?step=voicemail");
  auto* stream = child(child(root, 4), 0);
  EXPECT_EQ(stream->nodeName(), "Stream");
  EXPECT_EQ(stream->getAttribute("url"), "wss://ai.example/ws");
  EXPECT_EQ(child(stream, 0)->getAttribute("name"), "tenant");
  EXPECT_EQ(child(stream, 0)->getAttribute("value"), "t&1");
  EXPECT_EQ(child(root, 5)->getAttribute("method"), "POST");
  EXPECT_EQ(child(root, 6)->innerText(), "hi");
  EXPECT_EQ(child(root, 7)->nodeName(), "Hangup");
}

TEST(Twiml, SettingAnAttributeTwiceKeepsOneValue) {
  const std::string xml =
      tw::Response().add(tw::say("x").attr("voice", "a").attr("voice", "b")).render();
  EXPECT_EQ(xml, kDecl + "<Response><Say voice=\"b\">x</Say></Response>");
  EXPECT_EQ(tw::say("x").attr("loop", 3).attribute("loop")->compare("3"), 0);
}

TEST(Twiml, InvalidNamesAreAProgrammingErrorNotOutput) {
  EXPECT_THROW(tw::Element("Say><Hangup"), std::invalid_argument);
  EXPECT_THROW(tw::Element(""), std::invalid_argument);
  EXPECT_THROW(tw::Element("Say").attr("a b", "c"), std::invalid_argument);
  EXPECT_THROW(tw::Element("Say").attr("1a", "c"), std::invalid_argument);
}

TEST(Twiml, StepUrlEncodesTheStepAsOneQueryParameter) {
  EXPECT_EQ(tw::stepUrl("https://gw/voice/next", "menu.sales~2"),
            "https://gw/voice/next?step=menu.sales~2");
  EXPECT_EQ(tw::stepUrl("https://gw/voice/next?call=1", "a b&c=d/\xC3\xA9#"),
            "https://gw/voice/next?call=1&step=a%20b%26c%3Dd%2F%C3%A9%23");
}

}  // namespace
