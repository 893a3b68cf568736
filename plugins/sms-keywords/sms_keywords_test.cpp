// sms-keywords through its entry symbol and the C ABI, with the SDK's fake host.
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace {

using tollgate::testing::FakeHost;
using Settings = std::vector<std::pair<std::string, std::string>>;

struct Result {
  tg_status status = TG_OK;
  std::string error;
  int calls = 0;  // how often the decision sink was called
  tg_sms_action action = 0;
  std::string reply;
  std::string forward_url;
};

struct Inbound {
  std::string body;
  tg_sms_keyword family = TG_SMS_KEYWORD_NONE;
  Settings settings;
  std::string tenant_name = "Acme";
  std::string from = "+15551230000";
  std::string to = "+15559870000";
  uint32_t struct_size = sizeof(tg_sms_inbound);
};

class SmsKeywordsTest : public ::testing::Test {
 protected:
  Result send(const Inbound& in) {
    if (!plugin_) plugin_.emplace(host_.start(tollgate_plugin_entry_v1()));
    tollgate::testing::SmsCall c;
    c.from = in.from;
    c.to = in.to;
    c.body = in.body;
    c.params = {{"Body", in.body}};
    c.settings = Settings(in.settings.begin(), in.settings.end());
    c.keyword = in.family;
    c.tenant_name = in.tenant_name;
    const auto a = tollgate::testing::callSms(host_, *plugin_, c, "tn_acme", in.struct_size);
    Result r;
    r.status = a.status;
    r.error = a.error;
    r.calls = a.decisions;
    r.action = a.action;
    r.reply = a.reply_body;
    r.forward_url = a.forward_url;
    return r;
  }

  // Expects a failed call whose message names `field`.
  void expectInvalid(const Settings& settings, const std::string& field) {
    const Result r = send({"hello", TG_SMS_KEYWORD_NONE, settings});
    EXPECT_EQ(r.status, TG_ERR_INVALID_ARGUMENT) << r.error;
    EXPECT_EQ(r.calls, 0);
    EXPECT_EQ(r.error.rfind(field + ":", 0), 0u)
        << "message '" << r.error << "' should name " << field;
  }

  FakeHost host_;
  std::optional<FakeHost::Started> plugin_;  // started on first use, after settings are set
};

TEST_F(SmsKeywordsTest, DescriptorIdentifiesAnSmsPlugin) {
  const tg_plugin_descriptor* d = tollgate_plugin_entry_v1();
  EXPECT_EQ(std::string(d->id.data, d->id.size), "sms-keywords");
  EXPECT_EQ(d->kind, TG_KIND_SMS_KEYWORDS);
  EXPECT_EQ(d->abi_major, TG_ABI_MAJOR);
  EXPECT_EQ(d->config_key_count, 2u);
}

TEST_F(SmsKeywordsTest, CustomKeywordRepliesWithItsTemplate) {
  const Settings settings = {
      {"keywords", R"j({"Join": "Welcome to {{tenant}}, {{from}}! Code {{code}} ({{keyword}})"})j"},
      {"variables", R"({"code": 42})"}};
  const Result r = send({"  join \r\n", TG_SMS_KEYWORD_NONE, settings});
  ASSERT_EQ(r.status, TG_OK) << r.error;
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.action, TG_SMS_REPLY);
  EXPECT_EQ(r.reply, "Welcome to Acme, +15551230000! Code 42 (JOIN)");
  EXPECT_EQ(host_.metrics["decision_reply"], 1);
}

TEST_F(SmsKeywordsTest, OnlyASingleWordIsAKeyword) {
  const Settings settings = {{"keywords", R"({"JOIN": "Welcome"})"}};
  EXPECT_EQ(send({"join now", TG_SMS_KEYWORD_NONE, settings}).action, TG_SMS_IGNORE);
  EXPECT_EQ(send({"joint", TG_SMS_KEYWORD_NONE, settings}).action, TG_SMS_IGNORE);
  EXPECT_EQ(send({"JoIn", TG_SMS_KEYWORD_NONE, settings}).action, TG_SMS_REPLY);
}

TEST_F(SmsKeywordsTest, StopIsIgnoredWhateverTheSettingsSay) {
  const Settings settings = {{"keywords", R"({"STOP": "Sad to see you go"})"},
                             {"default_reply", "Thanks"},
                             {"forward_url", "https://crm.example/sms"}};
  const Result r = send({"stop", TG_SMS_KEYWORD_STOP, settings});
  ASSERT_EQ(r.status, TG_OK) << r.error;
  EXPECT_EQ(r.action, TG_SMS_IGNORE);
  EXPECT_EQ(r.reply, "");
  EXPECT_EQ(r.forward_url, "");
}

TEST_F(SmsKeywordsTest, StartAndHelpHaveDefaultAnswers) {
  const Result start = send({"Start", TG_SMS_KEYWORD_START, {}});
  EXPECT_EQ(start.action, TG_SMS_REPLY);
  EXPECT_EQ(start.reply, "You are subscribed to Acme again. Reply STOP to unsubscribe.");
  const Result help = send({"info", TG_SMS_KEYWORD_HELP, {}});
  EXPECT_EQ(help.action, TG_SMS_REPLY);
  EXPECT_EQ(help.reply,
            "Acme: reply STOP to unsubscribe, HELP for help. Msg&data rates may apply.");
}

TEST_F(SmsKeywordsTest, FamiliesWinOverATenantKeywordOfTheSameWord) {
  const Settings settings = {{"keywords", R"({"HELP": "custom"})"}};
  EXPECT_EQ(send({"help", TG_SMS_KEYWORD_HELP, settings}).reply.rfind("Acme: reply STOP", 0), 0u);
}

TEST_F(SmsKeywordsTest, PluginWideDefaultsApplyUnlessTheNumberSetsItsOwn) {
  host_.settings["help_reply"] = "Plugin-wide help for {{tenant}}";
  host_.settings["start_reply"] = "Plugin-wide welcome back";
  EXPECT_EQ(send({"HELP", TG_SMS_KEYWORD_HELP, {}}).reply, "Plugin-wide help for Acme");
  EXPECT_EQ(send({"YES", TG_SMS_KEYWORD_START, {}}).reply, "Plugin-wide welcome back");
  const Settings own = {{"help_reply", "{{brand}} help: call {{to}}"},
                        {"variables", R"({"brand": "AcmeCo"})"}};
  EXPECT_EQ(send({"HELP", TG_SMS_KEYWORD_HELP, own}).reply, "AcmeCo help: call +15559870000");
}

TEST_F(SmsKeywordsTest, AnEmptyStartReplyMeansNoReply) {
  EXPECT_EQ(send({"START", TG_SMS_KEYWORD_START, {{"start_reply", ""}}}).action, TG_SMS_IGNORE);
}

TEST_F(SmsKeywordsTest, OtherMessagesGetTheDefaultReplyOrNothing) {
  EXPECT_EQ(send({"hello", TG_SMS_KEYWORD_NONE, {}}).action, TG_SMS_IGNORE);
  EXPECT_EQ(host_.metrics["decision_ignore"], 1);
  // A body that looks like a template stays as it is: templates are expanded once.
  const Result r =
      send({"{{tenant}} {{to}}", TG_SMS_KEYWORD_NONE, {{"default_reply", "Got: {{body}}"}}});
  EXPECT_EQ(r.action, TG_SMS_REPLY);
  EXPECT_EQ(r.reply, "Got: {{tenant}} {{to}}");
}

TEST_F(SmsKeywordsTest, UnknownVariablesRenderEmptyAndAreCounted) {
  const Result r = send({"hi",
                         TG_SMS_KEYWORD_NONE,
                         {{"default_reply", "Hi {{ nobody }}!{{}} {{a {{tenant}} and {{ open"}}});
  EXPECT_EQ(r.reply, "Hi ! {{a Acme and {{ open");
  EXPECT_EQ(host_.metrics["template_unknown_variable"], 2);
}

TEST_F(SmsKeywordsTest, TenantVariablesMayRenameTheTenantButNotTheMessageFacts) {
  const Settings settings = {{"default_reply", "{{tenant}} got {{body}} from {{from}}"},
                             {"variables", R"({"tenant": "Brand", "body": "x", "from": "y"})"}};
  EXPECT_EQ(send({"yo", TG_SMS_KEYWORD_NONE, settings}).reply, "Brand got yo from +15551230000");
}

TEST_F(SmsKeywordsTest, ForwardsOtherMessagesWithTheDefaultReplyIfAny) {
  const Result plain =
      send({"hello", TG_SMS_KEYWORD_NONE, {{"forward_url", "https://crm.example/in"}}});
  EXPECT_EQ(plain.action, TG_SMS_FORWARD);
  EXPECT_EQ(plain.forward_url, "https://crm.example/in");
  EXPECT_EQ(plain.reply, "");
  const Result with =
      send({"hello",
            TG_SMS_KEYWORD_NONE,
            {{"forward_url", "http://127.0.0.1:8080/in"}, {"default_reply", "Noted"}}});
  EXPECT_EQ(with.action, TG_SMS_FORWARD);
  EXPECT_EQ(with.forward_url, "http://127.0.0.1:8080/in");
  EXPECT_EQ(with.reply, "Noted");
  EXPECT_EQ(host_.metrics["decision_forward"], 2);
}

TEST_F(SmsKeywordsTest, AKeywordCanForwardAndReply) {
  const Settings settings = {
      {"keywords",
       R"({"ORDER": {"reply": "Order for {{tenant}} received", "forward_url": "https://shop.example/o"},
           "QUOTE": {"forward_url": "https://shop.example/q"}})"},
      {"forward_url", "https://crm.example/all"}};
  const Result order = send({"order", TG_SMS_KEYWORD_NONE, settings});
  EXPECT_EQ(order.action, TG_SMS_FORWARD);
  EXPECT_EQ(order.forward_url, "https://shop.example/o");
  EXPECT_EQ(order.reply, "Order for Acme received");
  const Result quote = send({"Quote", TG_SMS_KEYWORD_NONE, settings});
  EXPECT_EQ(quote.action, TG_SMS_FORWARD);
  EXPECT_EQ(quote.forward_url, "https://shop.example/q");
  EXPECT_EQ(quote.reply, "");
}

TEST_F(SmsKeywordsTest, LongRepliesAreCutToWhatTwilioAccepts) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "\xC3\xA9";  // 'é', two bytes each
  const Result r = send({body, TG_SMS_KEYWORD_NONE, {{"default_reply", "{{body}}{{body}}"}}});
  EXPECT_EQ(r.reply.size(), 1600u * 2);
  EXPECT_EQ(host_.metrics["reply_truncated"], 1);
}

TEST_F(SmsKeywordsTest, BadSettingsFailTheCallWithAMessageNamingTheField) {
  expectInvalid({{"keywords", "JOIN"}}, "settings.keywords");
  expectInvalid({{"keywords", R"(["JOIN"])"}}, "settings.keywords");
  expectInvalid({{"keywords", R"({"two words": "x"})"}}, "settings.keywords.two words");
  expectInvalid({{"keywords", R"({"JOIN": 5})"}}, "settings.keywords.JOIN");
  expectInvalid({{"keywords", R"({"JOIN": {}})"}}, "settings.keywords.JOIN");
  expectInvalid({{"keywords", R"({"JOIN": {"reply": "x", "forwrd_url": "y"}})"}},
                "settings.keywords.JOIN.forwrd_url");
  expectInvalid({{"keywords", R"({"JOIN": {"forward_url": "ftp://x.example/"}})"}},
                "settings.keywords.JOIN.forward_url");
  expectInvalid({{"keywords", R"({"join": "a", "JOIN": "b"})"}}, "settings.keywords.join");
  expectInvalid({{"variables", R"({"x": {"y": 1}})"}}, "settings.variables.x");
  expectInvalid({{"forward_url", "http://crm.example/in"}}, "settings.forward_url");
  expectInvalid({{"forward_url", "https://"}}, "settings.forward_url");
  expectInvalid({{"forward_url", "not a url at all"}}, "settings.forward_url");
  EXPECT_EQ(host_.metrics["settings_invalid"], 12);
}

TEST_F(SmsKeywordsTest, NullAndForeignSettingsAreIgnored) {
  const Settings settings = {
      {"keywords", "null"}, {"greeting", R"({"say": "voice plugin's"})"}, {"menu", "{"}};
  EXPECT_EQ(send({"hello", TG_SMS_KEYWORD_NONE, settings}).status, TG_OK);
}

TEST_F(SmsKeywordsTest, AnAbi10HostWithoutKeywordOrTenantNameIsHandled) {
  Inbound in{"STOP", TG_SMS_KEYWORD_STOP, {{"default_reply", "{{tenant}} here"}}};
  in.struct_size = offsetof(tg_sms_inbound, keyword);  // the struct as a 1.0 host fills it
  const Result r = send(in);
  ASSERT_EQ(r.status, TG_OK) << r.error;
  EXPECT_EQ(r.reply, "tn_acme here");  // no display name: the tenant id stands in
}

}  // namespace
