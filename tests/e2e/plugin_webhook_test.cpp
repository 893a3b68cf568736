// The in-tree answer plugins, loaded from their .so files by the running daemon and driven by
// signed Twilio webhooks: sms-keywords, voice-ivr, voice-stream.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <condition_variable>
#include <mutex>

#include "e2e/webhook_support.hpp"

namespace tollgate::testing {
namespace {

class PluginWebhookTest : public WebhookFixture {
 protected:
  // Attribute `name` of the first <tag> in the answer.
  static std::string attrOf(const HttpReply& r, const std::string& tag, const std::string& name) {
    auto doc = twiml(r.body);
    auto* list = doc->getElementsByTagName(tag);
    std::string out;
    if (list->length() > 0)
      out = static_cast<Poco::XML::Element*>(list->item(0))->getAttribute(name);
    list->release();
    return out;
  }
  static std::string textOf(const HttpReply& r, const std::string& tag) {
    auto doc = twiml(r.body);
    auto* list = doc->getElementsByTagName(tag);
    std::string out = list->length() > 0 ? list->item(0)->innerText() : "";
    list->release();
    return out;
  }
  // The path (and query) of an action URL the plugin put in its TwiML.
  std::string pathOf(const std::string& url) {
    EXPECT_EQ(url.rfind(kBase, 0), 0u) << url;
    return url.substr(kBase.size());
  }
};

TEST_F(PluginWebhookTest, SmsKeywordsAnswersHelpStartAndTenantKeywords) {
  addPlugin(kPluginDir / "sms-keywords.so", "sms-keywords", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme Dental");
  attach(
      t, kNumber,
      R"("sms_plugin":"sms-keywords","settings":{"keywords":{"HOURS":"{{tenant}} is open {{hours}}, {{from}}."},"variables":{"hours":"9-5"},"default_reply":"Thanks, we got: {{body}}"})");
  int n = 0;
  auto sms = [&](const std::string& body) {
    return reply(
        post("/twilio/sms", smsParams("SMk" + std::to_string(++n), "+14155550111", kNumber, body)));
  };
  EXPECT_EQ(sms(" hours "), "Acme Dental is open 9-5, +14155550111.");
  EXPECT_EQ(sms("<b>&"), "Thanks, we got: <b>&");
  const auto help = sms("help");
  ASSERT_TRUE(help.has_value());
  EXPECT_NE(help->find("Acme Dental: reply STOP to unsubscribe"), std::string::npos) << *help;
  EXPECT_EQ(sms("STOP"), std::nullopt);
  EXPECT_EQ(sms("hours"), std::nullopt) << "opted out: the keyword reply is withheld";
  EXPECT_EQ(sms("HELP"), std::nullopt) << "opted out: even HELP";
  EXPECT_EQ(sms("start"), "You are subscribed to Acme Dental again. Reply STOP to unsubscribe.");
  EXPECT_EQ(sms("hours"), "Acme Dental is open 9-5, +14155550111.");
}

// A tenant's endpoint: records the JSON bodies POSTed to it.
class Receiver : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    struct H : Poco::Net::HTTPRequestHandler {
      Receiver* r;
      explicit H(Receiver* rr) : r(rr) {}
      void handleRequest(Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) override {
        std::string body;
        Poco::StreamCopier::copyToString(req.stream(), body);
        {
          std::lock_guard lock(r->mu);
          r->bodies.push_back(body);
        }
        r->cv.notify_all();
        resp.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
        resp.send();
      }
    };
    return new H(this);
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> bodies;
};

TEST_F(PluginWebhookTest, SmsKeywordsForwardsToTheTenantsUrlAfterAnswering) {
  addPlugin(kPluginDir / "sms-keywords.so", "sms-keywords", "", true);
  start();
  waitReady();
  auto* receiver = new Receiver;  // owned by the server
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const uint16_t port = socket.address().port();
  Poco::Net::HTTPServer server(receiver, socket, new Poco::Net::HTTPServerParams);
  server.start();
  const std::string t = createTenant("Acme");
  attach(t, kNumber,
         R"("sms_plugin":"sms-keywords","settings":{"forward_url":"http://127.0.0.1:)" +
             std::to_string(port) + R"(/inbound","default_reply":"Got it."})");
  auto r = post("/twilio/sms", smsParams("SMfw1", "+14155550111", kNumber, "my order is late"));
  EXPECT_EQ(reply(r), "Got it.");
  std::unique_lock lock(receiver->mu);
  ASSERT_TRUE(receiver->cv.wait_for(lock, std::chrono::seconds(10),
                                    [&] { return !receiver->bodies.empty(); }));
  auto fwd = json(receiver->bodies[0]);
  EXPECT_EQ(fwd->getValue<std::string>("message_sid"), "SMfw1");
  EXPECT_EQ(fwd->getValue<std::string>("tenant_id"), t);
  EXPECT_EQ(fwd->getValue<std::string>("body"), "my order is late");
  EXPECT_EQ(fwd->getObject("params")->getValue<std::string>("FromCity"), "SAN FRANCISCO");
  lock.unlock();
  server.stop();
}

TEST_F(PluginWebhookTest, IvrMenuRoundTrip) {
  addPlugin(kPluginDir / "voice-ivr.so", "voice-ivr", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, R"("voice_plugin":"voice-ivr","settings":{
    "greeting":"Welcome to Acme.",
    "menu":{"prompt":"Press 1 for sales, 2 to leave a message.","input":"dtmf speech",
            "options":{"1":{"say":"Connecting you.","dial":"+14155550199","words":["sales"]},
                       "2":{"voicemail":true}},
            "invalid":"Sorry, I did not get that."},
    "voicemail":{"prompt":"Leave a message after the tone.","thanks":"Thank you, goodbye."}})");
  const std::string caller = "+14155550111";
  auto in = post("/twilio/voice", voiceParams("CA100", caller, kNumber, "ringing"));
  ASSERT_EQ(in.status, 200) << in.body;
  EXPECT_EQ(textOf(in, "Say"), "Welcome to Acme.");
  const std::string menu = pathOf(attrOf(in, "Gather", "action"));
  EXPECT_EQ(menu.rfind("/twilio/voice/next?step=menu", 0), 0u) << menu;

  Params wrong = voiceParams("CA100", caller, kNumber, "in-progress");
  wrong.emplace_back("Digits", "9");
  auto again = post(menu, wrong);
  EXPECT_NE(again.body.find("Sorry, I did not get that."), std::string::npos) << again.body;
  EXPECT_FALSE(attrOf(again, "Gather", "action").empty()) << again.body;

  Params sales = voiceParams("CA100", caller, kNumber, "in-progress");
  sales.emplace_back("SpeechResult", "Sales, please.");
  sales.emplace_back("Confidence", "0.92");
  auto dial = post(menu, sales);
  EXPECT_EQ(textOf(dial, "Number").empty() ? textOf(dial, "Dial") : textOf(dial, "Number"),
            "+14155550199")
      << dial.body;

  Params two = voiceParams("CA100", caller, kNumber, "in-progress");
  two.emplace_back("Digits", "2");
  auto vm = post(menu, two);
  const std::string record = pathOf(attrOf(vm, "Record", "action"));
  EXPECT_EQ(record, "/twilio/voice/next?step=voicemail") << vm.body;

  Params rec = voiceParams("CA100", caller, kNumber, "in-progress");
  rec.emplace_back("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9");
  rec.emplace_back("RecordingSid", "RE9");
  auto bye = post(record, rec);
  EXPECT_EQ(textOf(bye, "Say"), "Thank you, goodbye.");
  EXPECT_NE(bye.body.find("<Hangup"), std::string::npos);
  auto calls = json(http(port_, "GET", "/v1/calls", "", bearer(key)).body)->getArray("calls");
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ(calls->getObject(0)->getValue<std::string>("recording_url"),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9");
}

TEST_F(PluginWebhookTest, StreamConnectsToTheTenantsVoiceAiWithParametersOrFallsBack) {
  addPlugin(kPluginDir / "voice-stream.so", "voice-stream", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  attach(
      t, kNumber,
      R"("voice_plugin":"voice-stream","settings":{"url":"wss://ai.example.com/media","parameters":{"agent":"front-desk"}})");
  attach(t, "+14155550101", R"("voice_plugin":"voice-stream")");
  auto r = post("/twilio/voice", voiceParams("CA200", "+14155550111", kNumber, "ringing"));
  EXPECT_EQ(attrOf(r, "Stream", "url"), "wss://ai.example.com/media") << r.body;
  auto doc = twiml(r.body);
  auto* params = doc->getElementsByTagName("Parameter");
  std::map<std::string, std::string> got;
  for (unsigned long i = 0; i < params->length(); ++i) {
    auto* e = static_cast<Poco::XML::Element*>(params->item(i));
    got[e->getAttribute("name")] = e->getAttribute("value");
  }
  params->release();
  EXPECT_EQ(got["tenant"], t);
  EXPECT_EQ(got["call_sid"], "CA200");
  EXPECT_EQ(got["caller"], "+14155550111");
  EXPECT_EQ(got["agent"], "front-desk");

  auto fallback =
      post("/twilio/voice", voiceParams("CA201", "+14155550111", "+14155550101", "ringing"));
  EXPECT_EQ(fallback.body.find("<Stream"), std::string::npos) << fallback.body;
  EXPECT_NE(fallback.body.find("not available"), std::string::npos) << fallback.body;
  EXPECT_NE(fallback.body.find("<Hangup"), std::string::npos) << fallback.body;
}

}  // namespace
}  // namespace tollgate::testing
