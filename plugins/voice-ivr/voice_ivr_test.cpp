// voice-ivr through its entry symbol and the C ABI, with the SDK's fake host. Every answer is
// parsed with a real XML parser and checked by structure, not by string comparison.
#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/URI.h>
#include <date/date.h>
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

#include <chrono>
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
using Params = std::vector<std::pair<std::string, std::string>>;

tg_str s(const std::string& v) { return tg_str{v.data(), v.size()}; }

// Unix milliseconds of a UTC wall-clock time.
int64_t utc(int y, unsigned m, unsigned d, int hh, int mm) {
  using namespace std::chrono;
  const auto t = date::sys_days{date::year{y} / m / d} + hours{hh} + minutes{mm};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

const int64_t kWednesdayNoonNewYork = utc(2024, 1, 10, 17, 0);  // 12:00 EST
const std::string kBase = "https://gw.example/voice/next?n=PN1";

struct Reply {
  tg_status status = TG_OK;
  std::string error;
  std::string twiml;
  AutoPtr<Document> doc;

  std::vector<Element*> verbs(Element* parent = nullptr) const {
    if (parent == nullptr) parent = doc->documentElement();
    std::vector<Element*> out;
    const Poco::XML::AutoPtr<Poco::XML::NodeList> nodes = parent->childNodes();
    for (unsigned long i = 0; i < nodes->length(); ++i) {
      if (auto* e = dynamic_cast<Element*>(nodes->item(i))) out.push_back(e);
    }
    return out;
  }
  // "Say,Gather": the names of the verbs, in order.
  std::string shape(Element* parent = nullptr) const {
    std::string out;
    for (auto* e : verbs(parent)) out += (out.empty() ? "" : ",") + e->nodeName();
    return out;
  }
  Element* verb(const std::string& name) const {
    for (auto* e : verbs()) {
      if (e->nodeName() == name) return e;
    }
    return nullptr;
  }
};

// The step query parameter of an action URL, decoded.
std::string stepOf(const std::string& url) {
  for (const auto& [k, v] : Poco::URI(url).getQueryParameters()) {
    if (k == "step") return v;
  }
  return "<none>";
}

const std::string kMenu = R"({
  "prompt": "Press 1 or say sales. Press 2 for billing.",
  "input": "dtmf speech",
  "timeout_s": 6,
  "retries": 2,
  "invalid": "Sorry, that is not an option.",
  "options": {
    "1": {"say": "Connecting you.", "dial": "+15550001111", "caller_id": "+15559990000", "timeout_s": 20},
    "2": {"menu": "billing"},
    "3": {"voicemail": true},
    "4": "We are at 1 Main Street.",
    "sales": {"dial": "+15550002222", "words": ["buy something", "purchase"]}
  }
})";
const std::string kBillingMenu = R"({"billing": {
  "prompt": {"say": "Billing. Press 1 for invoices.", "voice": "Polly.Brian"},
  "options": {"1": {"dial": "+15550003333"}, "9": {"menu": "main"}}
}})";
const std::string kHours = R"({"mon": ["09:00", "17:00"], "tue": ["09:00", "17:00"],
  "wed": [["09:00", "12:30"], ["13:30", "17:00"]], "thu": ["09:00", "17:00"],
  "fri": ["09:00", "17:00"], "sat": null})";

class VoiceIvrTest : public ::testing::Test {
 protected:
  VoiceIvrTest() {
    settings = {{"greeting", R"({"say": "Welcome to Acme.", "voice": "Polly.Joanna"})"},
                {"language", "en-US"},
                {"timezone", "America/New_York"},
                {"hours", kHours},
                {"after_hours", R"({"say": "We are closed.", "voicemail": true})"},
                {"menu", kMenu},
                {"menus", kBillingMenu},
                {"voicemail", R"({"prompt": "Leave a message.", "max_length_s": 60,
                                  "thanks": "Thanks, bye."})"}};
  }

  Reply call(tg_voice_event event, const std::string& step, const Params& params = {},
             int64_t now_ms = kWednesdayNoonNewYork) {
    if (!plugin_) plugin_.emplace(host_.start(tollgate_plugin_entry_v1()));
    tollgate::testing::VoiceCall c;
    c.event = event;
    c.call_sid = "CA1";
    c.step = step;
    c.action_base_url = kBase;
    c.params = params;
    c.settings = settings;
    c.now_unix_ms = now_ms;
    const auto a = tollgate::testing::callVoice(host_, *plugin_, c, "tn_acme");
    Reply r;
    r.status = a.status;
    r.error = a.error;
    r.twiml = a.twiml;
    if (r.status != TG_OK) return r;
    r.doc = Poco::XML::DOMParser().parseString(r.twiml);  // throws unless well-formed
    EXPECT_EQ(r.doc->documentElement()->nodeName(), "Response");
    return r;
  }

  Reply inbound(int64_t now_ms = kWednesdayNoonNewYork) {
    return call(TG_VOICE_INBOUND, "", {}, now_ms);
  }

  bool openAt(int64_t now_ms) {
    const Reply r = inbound(now_ms);
    EXPECT_EQ(r.status, TG_OK) << r.error;
    return r.verb("Gather") != nullptr;
  }

  void set(const std::string& key, const std::string& value) {
    for (auto& kv : settings) {
      if (kv.first == key) {
        kv.second = value;
        return;
      }
    }
    settings.emplace_back(key, value);
  }
  void erase(const std::string& key) {
    std::erase_if(settings, [&](const auto& kv) { return kv.first == key; });
  }

  // Expects the call to fail with a message that starts with `field`.
  void expectInvalid(const std::string& key, const std::string& value, const std::string& field) {
    set(key, value);
    const Reply r = inbound();
    EXPECT_EQ(r.status, TG_ERR_INVALID_ARGUMENT) << key << "=" << value;
    EXPECT_TRUE(r.twiml.empty());
    EXPECT_EQ(r.error.rfind(field + ":", 0), 0u) << "'" << r.error << "' should name " << field;
  }

  Params settings;
  FakeHost host_;
  std::optional<FakeHost::Started> plugin_;
};

TEST_F(VoiceIvrTest, InboundGreetsAndOffersTheMenu) {
  const Reply r = inbound();
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(r.shape(), "Say,Gather");
  auto* greeting = r.verbs()[0];
  EXPECT_EQ(greeting->innerText(), "Welcome to Acme.");
  EXPECT_EQ(greeting->getAttribute("voice"), "Polly.Joanna");
  EXPECT_EQ(greeting->getAttribute("language"), "en-US");
  auto* gather = r.verbs()[1];
  EXPECT_EQ(gather->getAttribute("action"), kBase + "&step=menu");
  EXPECT_EQ(stepOf(gather->getAttribute("action")), "menu");
  EXPECT_EQ(gather->getAttribute("method"), "POST");
  EXPECT_EQ(gather->getAttribute("input"), "dtmf speech");
  EXPECT_EQ(gather->getAttribute("timeout"), "6");
  EXPECT_EQ(gather->getAttribute("actionOnEmptyResult"), "true");
  EXPECT_EQ(gather->getAttribute("numDigits"), "1");  // every DTMF choice is one digit
  EXPECT_EQ(gather->getAttribute("language"), "en-US");
  EXPECT_NE(gather->getAttribute("hints").find("sales"), std::string::npos);
  EXPECT_NE(gather->getAttribute("hints").find("purchase"), std::string::npos);
  ASSERT_EQ(r.shape(gather), "Say");
  EXPECT_EQ(r.verbs(gather)[0]->innerText(), "Press 1 or say sales. Press 2 for billing.");
  EXPECT_EQ(host_.metrics["answer_menu"], 1);
}

TEST_F(VoiceIvrTest, DigitOneDialsTheConfiguredNumber) {
  const Reply r = call(TG_VOICE_GATHER, "menu", {{"Digits", "1"}});
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(r.shape(), "Say,Dial");
  EXPECT_EQ(r.verbs()[0]->innerText(), "Connecting you.");
  auto* dial = r.verb("Dial");
  EXPECT_EQ(dial->innerText(), "+15550001111");
  EXPECT_EQ(dial->getAttribute("callerId"), "+15559990000");
  EXPECT_EQ(dial->getAttribute("timeout"), "20");
  EXPECT_EQ(stepOf(dial->getAttribute("action")), "dial");
}

TEST_F(VoiceIvrTest, AWrongDigitSaysSoAndAsksAgainCountingTheAttempt) {
  const Reply r = call(TG_VOICE_GATHER, "menu", {{"Digits", "9"}});
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(r.shape(), "Say,Gather");
  EXPECT_EQ(r.verbs()[0]->innerText(), "Sorry, that is not an option.");
  EXPECT_EQ(stepOf(r.verb("Gather")->getAttribute("action")), "menu~2");
  const Reply again = call(TG_VOICE_GATHER, "menu~2", {{"Digits", ""}});  // silence
  EXPECT_EQ(again.shape(), "Say,Gather");
  EXPECT_EQ(stepOf(again.verb("Gather")->getAttribute("action")), "menu~3");
  EXPECT_EQ(host_.metrics["answer_invalid"], 2);
}

TEST_F(VoiceIvrTest, ExhaustedRetriesGoToVoicemailOrSayGoodbye) {
  const Reply vm = call(TG_VOICE_GATHER, "menu~3", {{"Digits", "9"}});
  ASSERT_EQ(vm.status, TG_OK) << vm.error;
  EXPECT_EQ(vm.shape(), "Say,Say,Record,Hangup");
  EXPECT_EQ(stepOf(vm.verb("Record")->getAttribute("action")), "voicemail");
  erase("voicemail");
  const Reply bye = call(TG_VOICE_GATHER, "menu~3", {{"Digits", "9"}});
  ASSERT_EQ(bye.shape(), "Say,Say,Hangup");
  EXPECT_EQ(bye.verbs()[1]->innerText(), "Goodbye.");
}

TEST_F(VoiceIvrTest, SpeechChoosesByKeyOrWordsIgnoringCaseAndPunctuation) {
  const Reply sales = call(TG_VOICE_GATHER, "menu", {{"SpeechResult", "Sales, please."}});
  ASSERT_EQ(sales.status, TG_OK) << sales.error;
  ASSERT_EQ(sales.shape(), "Dial");
  EXPECT_EQ(sales.verb("Dial")->innerText(), "+15550002222");
  const Reply words = call(TG_VOICE_GATHER, "menu", {{"SpeechResult", "I want to Buy Something"}});
  EXPECT_EQ(words.verb("Dial")->innerText(), "+15550002222");
  const Reply digit = call(TG_VOICE_GATHER, "menu", {{"SpeechResult", "2."}});
  EXPECT_EQ(stepOf(digit.verb("Gather")->getAttribute("action")), "menu.billing");
  const Reply none = call(TG_VOICE_GATHER, "menu", {{"SpeechResult", "<Say>salesman</Say>"}});
  EXPECT_EQ(none.shape(), "Say,Gather");
}

TEST_F(VoiceIvrTest, NestedMenusCarryTheirNameInTheStep) {
  const Reply billing = call(TG_VOICE_GATHER, "menu", {{"Digits", "2"}});
  ASSERT_EQ(billing.shape(), "Gather");
  auto* g = billing.verb("Gather");
  EXPECT_EQ(stepOf(g->getAttribute("action")), "menu.billing");
  EXPECT_EQ(g->getAttribute("input"), "dtmf");
  EXPECT_EQ(billing.verbs(g)[0]->getAttribute("voice"), "Polly.Brian");
  EXPECT_EQ(call(TG_VOICE_GATHER, "menu.billing", {{"Digits", "1"}}).verb("Dial")->innerText(),
            "+15550003333");
  const Reply back = call(TG_VOICE_GATHER, "menu.billing", {{"Digits", "9"}});
  EXPECT_EQ(stepOf(back.verb("Gather")->getAttribute("action")), "menu");
  // A menu removed from the settings mid-call: back to the main menu, not an error.
  const Reply gone = call(TG_VOICE_GATHER, "menu.archive~2", {{"Digits", "1"}});
  EXPECT_EQ(gone.verb("Dial")->innerText(), "+15550001111");
}

TEST_F(VoiceIvrTest, SayOnlyAndVoicemailOptions) {
  const Reply info = call(TG_VOICE_GATHER, "menu", {{"Digits", "4"}});
  ASSERT_EQ(info.shape(), "Say,Hangup");
  EXPECT_EQ(info.verbs()[0]->innerText(), "We are at 1 Main Street.");
  const Reply vm = call(TG_VOICE_GATHER, "menu", {{"Digits", "3"}});
  ASSERT_EQ(vm.shape(), "Say,Record,Hangup");
  EXPECT_EQ(vm.verbs()[0]->innerText(), "Leave a message.");
}

TEST_F(VoiceIvrTest, AfterHoursOffersVoicemail) {
  const int64_t sundayMorning = utc(2024, 1, 14, 15, 0);  // no "sun" entry: closed
  const Reply r = inbound(sundayMorning);
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(r.shape(), "Say,Say,Say,Record,Hangup");
  EXPECT_EQ(r.verbs()[1]->innerText(), "We are closed.");
  EXPECT_EQ(r.verbs()[2]->innerText(), "Leave a message.");
  auto* record = r.verb("Record");
  EXPECT_EQ(stepOf(record->getAttribute("action")), "voicemail");
  EXPECT_EQ(record->getAttribute("maxLength"), "60");
  EXPECT_EQ(record->getAttribute("playBeep"), "true");
  EXPECT_EQ(host_.metrics["answer_after_hours_voicemail"], 1);
}

TEST_F(VoiceIvrTest, AfterHoursWithoutVoicemailHangsUp) {
  set("after_hours", "Closed, call tomorrow.");      // plain text works too
  const Reply r = inbound(utc(2024, 1, 13, 15, 0));  // Saturday, "sat": null
  ASSERT_EQ(r.shape(), "Say,Say,Hangup");
  EXPECT_EQ(r.verbs()[1]->innerText(), "Closed, call tomorrow.");
}

TEST_F(VoiceIvrTest, ARecordingEndsTheCallWithThanks) {
  const Reply r =
      call(TG_VOICE_RECORDING, "voicemail",
           {{"RecordingUrl", "https://api.twilio.com/rec/RE1"}, {"RecordingDuration", "7"}});
  ASSERT_EQ(r.status, TG_OK) << r.error;
  ASSERT_EQ(r.shape(), "Say,Hangup");
  EXPECT_EQ(r.verbs()[0]->innerText(), "Thanks, bye.");
}

TEST_F(VoiceIvrTest, AMissedDialGoesToVoicemail) {
  EXPECT_EQ(call(TG_VOICE_GATHER, "dial", {{"DialCallStatus", "no-answer"}}).shape(),
            "Say,Record,Hangup");
  EXPECT_EQ(call(TG_VOICE_GATHER, "dial", {{"DialCallStatus", "completed"}}).shape(), "Hangup");
}

TEST_F(VoiceIvrTest, HoursFollowDaylightSavingTimeInSpring) {
  // US clocks moved from EST (UTC-5) to EDT (UTC-4) on Sunday 2024-03-10 at 02:00.
  EXPECT_FALSE(openAt(utc(2024, 3, 8, 13, 30)));  // Friday 08:30 EST
  EXPECT_TRUE(openAt(utc(2024, 3, 8, 14, 0)));    // Friday 09:00 EST
  EXPECT_TRUE(openAt(utc(2024, 3, 11, 13, 30)));  // Monday 09:30 EDT (08:30 if DST were ignored)
  EXPECT_TRUE(openAt(utc(2024, 3, 11, 20, 59)));  // Monday 16:59 EDT
  EXPECT_FALSE(openAt(utc(2024, 3, 11, 21, 0)));  // Monday 17:00 EDT: closing time is exclusive
}

TEST_F(VoiceIvrTest, HoursFollowDaylightSavingTimeInAutumn) {
  // Back from EDT to EST on Sunday 2024-11-03 at 02:00.
  EXPECT_TRUE(openAt(utc(2024, 11, 1, 13, 30)));   // Friday 09:30 EDT
  EXPECT_FALSE(openAt(utc(2024, 11, 4, 13, 30)));  // Monday 08:30 EST (09:30 if DST were kept)
  EXPECT_TRUE(openAt(utc(2024, 11, 4, 21, 30)));   // Monday 16:30 EST
}

TEST_F(VoiceIvrTest, ClosedDaysAndLunchBreaks) {
  EXPECT_FALSE(openAt(utc(2024, 3, 9, 15, 0)));   // Saturday ("sat": null)
  EXPECT_FALSE(openAt(utc(2024, 3, 10, 15, 0)));  // Sunday (not listed)
  EXPECT_TRUE(openAt(utc(2024, 3, 13, 16, 29)));  // Wednesday 12:29 EDT
  EXPECT_FALSE(openAt(utc(2024, 3, 13, 17, 0)));  // Wednesday 13:00 EDT, lunch
  EXPECT_TRUE(openAt(utc(2024, 3, 13, 17, 30)));  // Wednesday 13:30 EDT
}

TEST_F(VoiceIvrTest, WithoutHoursItIsAlwaysOpenAndUtcIsTheDefaultZone) {
  erase("hours");
  EXPECT_TRUE(openAt(utc(2024, 3, 10, 3, 0)));
  set("hours", R"({"sun": ["03:00", "04:00"]})");
  erase("timezone");
  EXPECT_TRUE(openAt(utc(2024, 3, 10, 3, 0)));
  EXPECT_FALSE(openAt(utc(2024, 3, 10, 4, 0)));
}

TEST_F(VoiceIvrTest, SettingsTextIsSpokenNeverInterpreted) {
  set("greeting", "Hi <Hangup/> ]]> & \"you\"");
  const Reply r = inbound();
  ASSERT_EQ(r.shape(), "Say,Gather");
  EXPECT_EQ(r.verbs()[0]->innerText(), "Hi <Hangup/> ]]> & \"you\"");
}

TEST_F(VoiceIvrTest, OnlyAGreetingThenHangsUp) {
  settings = {{"greeting", R"({"play": "https://cdn.example/hello.mp3"})"}};
  const Reply r = inbound();
  ASSERT_EQ(r.shape(), "Play,Hangup");
  EXPECT_EQ(r.verbs()[0]->innerText(), "https://cdn.example/hello.mp3");
}

TEST_F(VoiceIvrTest, BadSettingsFailWithAMessageNamingTheField) {
  expectInvalid("timezone", "Mars/Olympus_Mons", "settings.timezone");
  set("timezone", "America/New_York");
  expectInvalid("hours", R"({"mon": ["9am", "5pm"]})", "settings.hours.mon[0]");
  expectInvalid("hours", R"({"funday": ["09:00", "17:00"]})", "settings.hours.funday");
  expectInvalid("hours", R"({"mon": ["17:00", "09:00"]})", "settings.hours.mon");
  expectInvalid("hours", R"({"mon": "09:00-17:00"})", "settings.hours.mon");
  expectInvalid("hours", "[1,2", "settings.hours");
  set("hours", kHours);
  expectInvalid("menu", "not json", "settings.menu");
  expectInvalid("menu", R"({"prompt": "x", "options": {"1": {"dial": "555-1234"}}})",
                "settings.menu.options.1.dial");
  expectInvalid("menu", R"({"prompt": "x", "input": "keys", "options": {"1": "a"}})",
                "settings.menu.input");
  expectInvalid("menu", R"({"prompt": "x", "timeout_s": 0, "options": {"1": "a"}})",
                "settings.menu.timeout_s");
  expectInvalid("menu", R"({"prompt": "x", "options": {"1": {"menu": "nope"}}})",
                "settings.menu.options.1.menu");
  expectInvalid("menu", R"({"prompt": "x", "options": {"sales": {"dial": "+15550001111"}}})",
                "settings.menu.options.sales");
  expectInvalid("menu",
                R"({"prompt": "x", "options": {"1": {"dial": "+15550001111", "voicemail": true}}})",
                "settings.menu.options.1");
  expectInvalid("menu", R"({"prompt": "x", "options": {}})", "settings.menu.options");
  expectInvalid("menu", R"({"options": {"1": "a"}})", "settings.menu.prompt");
  expectInvalid("menu", R"({"prompt": "x", "optoins": {"1": "a"}})", "settings.menu.optoins");
  set("menu", kMenu);
  expectInvalid("menus", R"({"Bad Name": {}})", "settings.menus.Bad Name");
  set("menus", kBillingMenu);
  expectInvalid("voicemail", R"({"max_length_s": "long"})", "settings.voicemail.max_length_s");
  expectInvalid("greeting", R"({"sya": "hello"})", "settings.greeting.sya");
  set("greeting", "Hello");
  expectInvalid("after_hours", R"({"say": "x", "voicemail": "yes"})",
                "settings.after_hours.voicemail");
  EXPECT_EQ(host_.metrics["settings_invalid"], 20);
}

TEST(VoiceIvrInit, AnUnknownPluginWideTimezoneFailsInit) {
  FakeHost host;
  host.settings["timezone"] = "Nowhere/Land";
  EXPECT_THROW(host.start(tollgate_plugin_entry_v1()), std::runtime_error);
}

TEST(VoiceIvrInit, PluginWideDefaultsApply) {
  FakeHost host;
  host.settings["voice"] = "Polly.Amy";
  auto p = host.start(tollgate_plugin_entry_v1());
  const std::string greeting = "Hello";
  const tg_kv kv[] = {{tg_str{"greeting", 8}, s(greeting)}};
  tg_voice_request req{};
  req.struct_size = sizeof req;
  req.event = TG_VOICE_INBOUND;
  req.settings = kv;
  req.setting_count = 1;
  std::string twiml;
  tg_error err{};
  ASSERT_EQ(
      p.vtable<tg_voice_vtable>()->on_call(
          p.instance, host.ctx("t"), &req,
          {&twiml, [](void* c, tg_str x) { static_cast<std::string*>(c)->assign(x.data, x.size); }},
          &err),
      TG_OK)
      << err.message;
  const Poco::XML::AutoPtr<Poco::XML::Document> doc = Poco::XML::DOMParser().parseString(twiml);
  auto* say = dynamic_cast<Element*>(doc->documentElement()->firstChild());
  ASSERT_NE(say, nullptr);
  EXPECT_EQ(say->getAttribute("voice"), "Polly.Amy");
}

}  // namespace
