// Webhooks encoded and signed by an independent implementation: Twilio's official `twilio` npm
// library (tests/node/post_webhooks.js), never by our own signer. Our signer and validator
// agreeing with each other once hid a decoder that refused most real webhooks.
#include <set>

#include "e2e/webhook_support.hpp"

namespace tollgate::testing {
namespace {

class TwilioLibraryTest : public WebhookFixture {};

TEST_F(TwilioLibraryTest, WebhooksSignedByTheOfficialHelperLibraryAreAccepted) {
  const fs::path script = kSourceDir / "tests" / "node" / "post_webhooks.js";
  ASSERT_TRUE(fs::exists(kSourceDir / "tests" / "node" / "node_modules" / "twilio"))
      << "the twilio npm package is missing: run the README's test command (scripts/test.sh), "
         "which runs npm ci in tests/node";
  addTestPlugin("test-sms", "", true);
  addTestPlugin("test-voice", "", true);
  start();
  waitReady();
  const std::string t = createTenant("Acme");
  const std::string key = issueKey(t);
  attach(t, kNumber, "\"sms_plugin\":\"test-sms\",\"voice_plugin\":\"test-voice\"");

  const Ran node =
      run({"/usr/bin/node", script.string(), std::to_string(port_), kToken, kBase, kNumber},
          dir_ / "node");
  EXPECT_EQ(node.code, 0) << node.out << node.err << daemon_->err();
  EXPECT_EQ(node.out.find("FAIL"), std::string::npos) << node.out;

  // What the library encoded is what was recorded, decoded.
  auto logs = http(port_, "GET", "/v1/messages?limit=100", "", bearer(key));
  ASSERT_EQ(logs.status, 200) << logs.body;
  std::set<std::string> bodies;
  auto list = json(logs.body)->getArray("messages");
  for (size_t i = 0; i < list->size(); ++i) {
    bodies.insert(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("body"));
  }
  for (const char* b :
       {"Hello there, how are you?", "a+b c%20d = e & f",
        "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 <b>", "  leading and trailing  "}) {
    EXPECT_EQ(bodies.count(b), 1u) << b;
  }
  EXPECT_EQ(bodies.count("forged"), 0u) << "a refused webhook records nothing";
}

}  // namespace
}  // namespace tollgate::testing
