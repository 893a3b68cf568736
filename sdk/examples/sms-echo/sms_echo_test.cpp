// Unit tests of sms-echo through the real C ABI, with the SDK's fake host.
#include <gtest/gtest.h>
#include <tollgate/testing/fake_host.hpp>

extern "C" const tg_plugin_descriptor* tollgate_plugin_entry_v1(void);

namespace {

struct Reply {
  tg_sms_action action = 0;
  std::string body;
};

Reply send(tollgate::testing::FakeHost& host, tollgate::testing::FakeHost::Started& p,
           const std::string& text) {
  tg_sms_inbound msg{};
  msg.struct_size = sizeof msg;
  msg.body = tg_str{text.data(), text.size()};
  Reply r;
  tg_error err{};
  const tg_status st = p.vtable<tg_sms_vtable>()->on_inbound(
      p.instance, host.ctx("tn_test"), &msg,
      {&r,
       [](void* c, const tg_sms_decision* d) {
         auto* out = static_cast<Reply*>(c);
         out->action = d->action;
         out->body.assign(d->reply_body.data, d->reply_body.size);
       }},
      &err);
  EXPECT_EQ(st, TG_OK) << err.message;
  return r;
}

TEST(SmsEcho, EchoesWithTheConfiguredPrefix) {
  tollgate::testing::FakeHost host;
  host.settings = {{"prefix", "you said: "}, {"max_length", "160"}};
  auto p = host.start(tollgate_plugin_entry_v1());
  const Reply r = send(host, p, "hello");
  EXPECT_EQ(r.action, TG_SMS_REPLY);
  EXPECT_EQ(r.body, "you said: hello");
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
