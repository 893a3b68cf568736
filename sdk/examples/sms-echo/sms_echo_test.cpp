// Unit tests of sms-echo through the real C ABI, with the SDK's fake host.
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace {

using tollgate::testing::callSms;

tollgate::testing::SmsAnswer send(tollgate::testing::FakeHost& host,
                                  tollgate::testing::FakeHost::Started& p,
                                  const std::string& text) {
  tollgate::testing::SmsCall c;
  c.body = text;
  const auto a = callSms(host, p, c);
  EXPECT_EQ(a.status, TG_OK) << a.error;
  return a;
}

TEST(SmsEcho, EchoesWithTheConfiguredPrefix) {
  tollgate::testing::FakeHost host;
  host.settings = {{"prefix", "you said: "}, {"max_length", "160"}};
  auto p = host.start(tollgate_plugin_entry_v1());
  const auto r = send(host, p, "hello");
  EXPECT_EQ(r.action, TG_SMS_REPLY);
  EXPECT_EQ(r.reply_body, "you said: hello");
}

TEST(SmsEcho, IgnoresLongMessagesAndCountsThem) {
  tollgate::testing::FakeHost host;
  host.settings = {{"prefix", ""}, {"max_length", "3"}};
  auto p = host.start(tollgate_plugin_entry_v1());
  EXPECT_EQ(send(host, p, "four").action, TG_SMS_IGNORE);
  EXPECT_EQ(host.metrics["ignored_too_long"], 1);
}

TEST(SmsEcho, ABadSettingFailsInitWithAMessageInsteadOfThrowing) {
  tollgate::testing::FakeHost host;
  host.settings = {{"prefix", ""}, {"max_length", "lots"}};
  EXPECT_THROW(host.start(tollgate_plugin_entry_v1()), std::runtime_error);
}

}  // namespace
