// voice-stream through its entry symbol and the C ABI, with the SDK's fake host; answers are
// parsed with a real XML parser and checked by structure.
#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace {

using Poco::XML::AutoPtr;
using Poco::XML::Document;
using Poco::XML::Element;
using tollgate::testing::FakeHost;
using Pairs = std::vector<std::pair<std::string, std::string>>;

std::vector<Element*> children(Element* parent) {
  std::vector<Element*> out;
  const Poco::XML::AutoPtr<Poco::XML::NodeList> nodes = parent->childNodes();
  for (unsigned long i = 0; i < nodes->length(); ++i) {
    if (auto* e = dynamic_cast<Element*>(nodes->item(i))) out.push_back(e);
  }
  return out;
}

std::string shape(Element* parent) {
  std::string out;
  for (auto* e : children(parent)) out += (out.empty() ? "" : ",") + e->nodeName();
  return out;
}

struct Reply {
  tg_status status = TG_OK;
  std::string error;
  std::string twiml;
  AutoPtr<Document> doc;
  Element* root() const { return doc->documentElement(); }
};

const std::string kBase = "https://gw.example/voice/next";

class VoiceStreamTest : public ::testing::Test {
 protected:
  Reply call(tg_voice_event event, const std::string& step = "",
             const std::string& from = "+15551230000") {
    if (!plugin_) plugin_.emplace(host_.start(tollgate_plugin_entry_v1()));
    tollgate::testing::VoiceCall c;
    c.event = event;
    c.step = step;
    c.from = from;
    c.action_base_url = kBase;
    c.settings = settings;
    const auto a = tollgate::testing::callVoice(host_, *plugin_, c, "tn_acme");
    Reply r;
    r.status = a.status;
    r.error = a.error;
    r.twiml = a.twiml;
    if (r.status != TG_OK) return r;
    r.doc = Poco::XML::DOMParser().parseString(r.twiml);
    EXPECT_EQ(r.root()->nodeName(), "Response");
    return r;
  }

  void expectInvalid(const Pairs& bad, const std::string& field) {
    settings = bad;
    const Reply r = call(TG_VOICE_INBOUND);
    EXPECT_EQ(r.status, TG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(r.error.rfind(field + ":", 0), 0u) << "'" << r.error << "' should name " << field;
  }

  bool warned(const std::string& words) const {
    for (const auto& l : host_.logs) {
      if (l.level == TG_LOG_WARN && l.message.find(words) != std::string::npos) return true;
    }
    return false;
  }

  Pairs settings;
  FakeHost host_;
  std::optional<FakeHost::Started> plugin_;
};

TEST_F(VoiceStreamTest, InboundConnectsTheStreamWithCallAndCustomParameters) {
  settings = {{"url", "wss://ai.example/ws?token=a%2Bb&x=1"},
              {"parameters", R"({"agent": "sales-bot", "priority": 2, "vip": true})"},
              {"greeting", "Connecting you to our assistant."}};
  const Reply r = call(TG_VOICE_INBOUND);
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(shape(r.root()), "Say,Connect");
  EXPECT_EQ(children(r.root())[0]->innerText(), "Connecting you to our assistant.");
  auto* connect = children(r.root())[1];
  EXPECT_EQ(connect->getAttribute("action"), kBase + "?step=stream-end");
  EXPECT_EQ(connect->getAttribute("method"), "POST");
  ASSERT_EQ(shape(connect), "Stream");
  auto* stream = children(connect)[0];
  EXPECT_EQ(stream->getAttribute("url"), "wss://ai.example/ws?token=a%2Bb&x=1");
  Pairs params;
  for (auto* p : children(stream)) {
    EXPECT_EQ(p->nodeName(), "Parameter");
    params.emplace_back(p->getAttribute("name"), p->getAttribute("value"));
  }
  const Pairs expected = {{"tenant", "tn_acme"},  {"call_sid", "CA123"}, {"caller", "+15551230000"},
                          {"agent", "sales-bot"}, {"priority", "2"},     {"vip", "true"}};
  EXPECT_EQ(params, expected);
  EXPECT_EQ(host_.metrics["answer_stream"], 1);
  EXPECT_TRUE(host_.logs.empty());
}

TEST_F(VoiceStreamTest, WithoutGreetingTheStreamIsTheWholeAnswer) {
  settings = {{"url", "wss://ai.example/ws"}};
  EXPECT_EQ(shape(call(TG_VOICE_INBOUND).root()), "Connect");
}

TEST_F(VoiceStreamTest, CallerTextStaysInsideItsAttribute) {
  settings = {{"url", "wss://ai.example/ws"}};
  const std::string caller = "\"/><Hangup/><Parameter name=\"x";
  const Reply r = call(TG_VOICE_INBOUND, "", caller);
  auto* stream = children(children(r.root())[0])[0];
  ASSERT_EQ(shape(stream), "Parameter,Parameter,Parameter");
  EXPECT_EQ(children(stream)[2]->getAttribute("value"), caller);
}

TEST_F(VoiceStreamTest, AMissingUrlGetsTheDefaultApologyAndAWarning) {
  const Reply r = call(TG_VOICE_INBOUND);
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(shape(r.root()), "Say,Hangup");
  EXPECT_EQ(children(r.root())[0]->innerText(),
            "Sorry, our assistant is not available right now. Please call again later.");
  EXPECT_TRUE(warned("settings.url is not set"));
  EXPECT_TRUE(warned("tn_acme"));
  EXPECT_EQ(host_.metrics["answer_fallback"], 1);
}

TEST_F(VoiceStreamTest, ANonWssUrlGetsTheConfiguredFallback) {
  for (const std::string url : {"https://ai.example/ws", "ws://ai.example/ws", "wss://", "::"}) {
    settings = {{"url", url},
                {"greeting", "never said"},
                {"fallback", R"({"say": "Call back later.", "voice": "Polly.Amy"})"}};
    const Reply r = call(TG_VOICE_INBOUND);
    ASSERT_EQ(shape(r.root()), "Say,Hangup") << url;
    EXPECT_EQ(children(r.root())[0]->innerText(), "Call back later.");
    EXPECT_EQ(children(r.root())[0]->getAttribute("voice"), "Polly.Amy");
  }
  EXPECT_TRUE(warned("not a wss:// URL"));
}

TEST_F(VoiceStreamTest, ThePluginWideFallbackAppliesWhenTheNumberHasNone) {
  host_.settings["fallback_say"] = "Plugin-wide apology.";
  EXPECT_EQ(children(call(TG_VOICE_INBOUND).root())[0]->innerText(), "Plugin-wide apology.");
}

TEST_F(VoiceStreamTest, StreamEndHangsUpAfterTheOptionalGoodbye) {
  settings = {{"url", "wss://ai.example/ws"}};
  EXPECT_EQ(shape(call(TG_VOICE_STREAM_END, "stream-end").root()), "Hangup");
  settings.emplace_back("on_end", R"({"say": "Thanks for calling."})");
  settings.emplace_back("language", "en-GB");
  const Reply r = call(TG_VOICE_STREAM_END, "stream-end");
  ASSERT_EQ(shape(r.root()), "Say,Hangup");
  EXPECT_EQ(children(r.root())[0]->innerText(), "Thanks for calling.");
  EXPECT_EQ(children(r.root())[0]->getAttribute("language"), "en-GB");
  // The step alone identifies the end, whatever event the host classified the webhook as.
  EXPECT_EQ(shape(call(TG_VOICE_GATHER, "stream-end").root()), "Say,Hangup");
  EXPECT_EQ(host_.metrics["answer_stream_end"], 3);
}

TEST_F(VoiceStreamTest, BadSettingsFailWithAMessageNamingTheField) {
  const std::string url = "wss://ai.example/ws";
  expectInvalid({{"url", url}, {"parameters", "agent=x"}}, "settings.parameters");
  expectInvalid({{"url", url}, {"parameters", R"({"tenant": "other"})"}},
                "settings.parameters.tenant");
  expectInvalid({{"url", url}, {"parameters", R"({"x": {"y": 1}})"}}, "settings.parameters.x");
  expectInvalid({{"url", url}, {"greeting", R"({"sya": "hi"})"}}, "settings.greeting.sya");
  expectInvalid({{"url", url}, {"greeting", R"({"say": 5})"}}, "settings.greeting.say");
  expectInvalid({{"url", url}, {"fallback", R"({"play": "ftp://x/a.mp3"})"}},
                "settings.fallback.play");
  expectInvalid({{"url", url}, {"on_end", "{broken"}}, "settings.on_end");
  EXPECT_EQ(host_.metrics["settings_invalid"], 7);
}

TEST(VoiceStreamDescriptor, IsAVoicePluginWithItsId) {
  const tg_plugin_descriptor* d = tollgate_plugin_entry_v1();
  EXPECT_EQ(std::string(d->id.data, d->id.size), "voice-stream");
  EXPECT_EQ(d->kind, TG_KIND_VOICE);
}

}  // namespace
