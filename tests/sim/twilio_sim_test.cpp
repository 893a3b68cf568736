// tollgate-twilio-sim as a client and a webhook receiver see it: Twilio's REST answers and
// errors, status callbacks in order and signed as Twilio signs them (checked with Tollgate's
// validator and with Twilio's official npm library), and the behaviour knobs.
#include <regex>
#include <set>

#include "sim/sim_support.hpp"
#include "twilio/signature.hpp"

namespace tollgate::testing {
namespace {

// The members of api.v2010.account.message in twilio_api_v2010.json, in the schema's order.
const std::vector<std::string> kMessageMembers = {"body",
                                                  "num_segments",
                                                  "direction",
                                                  "from",
                                                  "to",
                                                  "date_updated",
                                                  "price",
                                                  "error_message",
                                                  "uri",
                                                  "account_sid",
                                                  "num_media",
                                                  "status",
                                                  "messaging_service_sid",
                                                  "sid",
                                                  "date_sent",
                                                  "date_created",
                                                  "error_code",
                                                  "price_unit",
                                                  "api_version",
                                                  "subresource_uris"};

const std::regex kRfc2822(
    R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000)");

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o->getValue<std::string>(key);
}

Params sms(const std::string& body, const std::string& callback = "") {
  Params p{{"To", kTo}, {"From", kFrom}, {"Body", body}};
  if (!callback.empty()) p.emplace_back("StatusCallback", callback);
  return p;
}

// What a receiver got, checked against the account's token with Tollgate's validator.
void expectSigned(const Received& r, const std::string& url, const std::string& token = kToken) {
  EXPECT_TRUE(twilio::validateFormSignature(token, url, r.params, r.signature))
      << r.body << " signature " << r.signature;
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
}

std::vector<std::string> statuses(const std::vector<Received>& got) {
  std::vector<std::string> out;
  for (const Received& r : got) out.push_back(param(r.params, "MessageStatus"));
  return out;
}

TEST(TwilioSim, SendIsAnsweredInTwiliosShapeAndCallbacksArriveSignedInOrder) {
  Receiver receiver;
  SimProcess sim({"--callback-delay-ms", "20"});
  ASSERT_NE(sim.port(), 0);
  const std::string callback = receiver.url("/twilio/status?tenant=a%20b&x=1");

  const Exchange created = sim.send(sms("Hello from the simulator", callback));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.content_type, "application/json");
  const auto m = json(created.body);
  std::vector<std::string> names;
  m->getNames(names);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
            std::set<std::string>(kMessageMembers.begin(), kMessageMembers.end()));
  // Members in the schema's order, as Twilio writes them.
  size_t at = 0;
  for (const std::string& name : kMessageMembers) {
    const size_t found = created.body.find("\"" + name + "\":", at);
    EXPECT_NE(found, std::string::npos) << name << " out of order in " << created.body;
    at = found == std::string::npos ? at : found;
  }
  const std::string sid = str(m, "sid");
  EXPECT_TRUE(std::regex_match(sid, std::regex("SM[0-9a-f]{32}"))) << sid;
  EXPECT_EQ(str(m, "status"), "queued");
  EXPECT_EQ(str(m, "direction"), "outbound-api");
  EXPECT_EQ(str(m, "to"), kTo);
  EXPECT_EQ(str(m, "from"), kFrom);
  EXPECT_EQ(str(m, "body"), "Hello from the simulator");
  EXPECT_TRUE(m->get("num_segments").isString());
  EXPECT_EQ(str(m, "num_segments"), "1");
  EXPECT_EQ(str(m, "num_media"), "0");
  EXPECT_EQ(str(m, "account_sid"), kAccount);
  EXPECT_EQ(str(m, "api_version"), "2010-04-01");
  for (const char* null_member : {"price", "price_unit", "error_code", "error_message", "date_sent",
                                  "messaging_service_sid"}) {
    EXPECT_TRUE(m->isNull(null_member)) << null_member;
  }
  EXPECT_TRUE(std::regex_match(str(m, "date_created"), kRfc2822)) << str(m, "date_created");
  EXPECT_TRUE(std::regex_match(str(m, "date_updated"), kRfc2822));
  const std::string uri = "/2010-04-01/Accounts/" + kAccount + "/Messages/" + sid;
  EXPECT_EQ(str(m, "uri"), uri + ".json");
  EXPECT_EQ(str(m->getObject("subresource_uris"), "media"), uri + "/Media.json");
  EXPECT_NE(created.body.find("\"uri\":\"/2010-04-01/"), std::string::npos)
      << "'/' is written as Twilio writes it, not escaped";

  // queued (the answer) -> sent -> delivered, each callback signed over the URL as given.
  const std::vector<Received> got = receiver.waitFor(2);
  ASSERT_EQ(statuses(got), (std::vector<std::string>{"sent", "delivered"})) << sim.log();
  for (const Received& r : got) {
    expectSigned(r, callback);
    EXPECT_EQ(r.path, "/twilio/status?tenant=a%20b&x=1");
    EXPECT_EQ(param(r.params, "MessageSid"), sid);
    EXPECT_EQ(param(r.params, "SmsSid"), sid);
    EXPECT_EQ(param(r.params, "SmsStatus"), param(r.params, "MessageStatus"));
    EXPECT_EQ(param(r.params, "AccountSid"), kAccount);
    EXPECT_EQ(param(r.params, "From"), kFrom);
    EXPECT_EQ(param(r.params, "To"), kTo);
    EXPECT_EQ(param(r.params, "ApiVersion"), "2010-04-01");
    EXPECT_EQ(param(r.params, "ErrorCode"), "");
    EXPECT_FALSE(r.idempotency_token.empty());
  }
  // Not signed with another account's token, nor over another URL.
  EXPECT_FALSE(
      twilio::validateFormSignature(kOtherToken, callback, got[0].params, got[0].signature));
  EXPECT_FALSE(
      twilio::validateFormSignature(kToken, callback + "&y=2", got[0].params, got[0].signature));

  const Exchange fetched = sim.fetch(sid);
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  const auto now = json(fetched.body);
  EXPECT_EQ(str(now, "status"), "delivered");
  EXPECT_EQ(str(now, "price"), "-0.00790");
  EXPECT_EQ(str(now, "price_unit"), "USD");
  EXPECT_TRUE(std::regex_match(str(now, "date_sent"), kRfc2822));
  EXPECT_TRUE(now->isNull("error_code"));

  const auto list = sim.messages();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(str(list->getObject(0), "sid"), sid);
  EXPECT_EQ(str(list->getObject(0), "status"), "delivered");
  EXPECT_EQ(list->getObject(0)->getValue<int>("posts"), 1);
  // The sender counts a callback once the receiver's answer is back.
  EXPECT_TRUE(eventually([&] { return sim.stats()->getValue<int>("callbacks_sent") == 2; }));
  const auto stats = sim.stats();
  EXPECT_EQ(stats->getValue<int>("posts"), 1);
  EXPECT_EQ(stats->getValue<int>("messages"), 1);
  EXPECT_EQ(stats->getValue<int>("rate_limited"), 0);
  EXPECT_EQ(stats->getValue<int>("callbacks_failed"), 0);
}

TEST(TwilioSim, CallbackSignatureValidatesWithTwiliosOfficialNodeLibrary) {
  const fs::path node_modules = kSourceDir / "tests" / "node" / "node_modules";
  ASSERT_TRUE(fs::exists(node_modules / "twilio"))
      << "the twilio npm package is missing: run `npm ci` in tests/node (scripts/test.sh does)";
  Receiver receiver;
  SimProcess sim({"--callback-delay-ms", "0"});
  ASSERT_NE(sim.port(), 0);
  const std::string callback = receiver.url("/status?q=caf%C3%A9");
  ASSERT_EQ(sim.send(sms("Ünïcode + spaces & symbols = fine", callback)).status, 201);
  const std::vector<Received> got = receiver.waitFor(1);
  ASSERT_GE(got.size(), 1u);

  const fs::path dir = makeTempDir("twilio-sim-node-");
  Poco::JSON::Object params;
  for (const auto& [k, v] : got[0].params) params.set(k, v);
  std::ostringstream params_json;
  params.stringify(params_json);
  const Ran node =
      run({"/usr/bin/node", (kSourceDir / "tests" / "node" / "validate_request.js").string(),
           kToken, got[0].signature, callback, params_json.str()},
          dir);
  EXPECT_EQ(node.code, 0) << node.out << node.err;
  EXPECT_EQ(node.out, "valid\n") << node.err;
  fs::remove_all(dir);
}

TEST(TwilioSim, FailRateOneEndsFailedOrUndeliveredWithAnErrorCode) {
  Receiver receiver;
  SimProcess sim({"--callback-delay-ms", "5", "--fail-rate", "1", "--seed", "7"});
  ASSERT_NE(sim.port(), 0);
  std::vector<std::string> sids;
  for (int i = 0; i < 6; ++i) {
    const Exchange e = sim.send(sms("try " + std::to_string(i), receiver.url("/s")));
    ASSERT_EQ(e.status, 201) << e.body;
    sids.push_back(str(json(e.body), "sid"));
  }
  std::set<std::string> finals;
  for (const std::string& sid : sids) {
    ASSERT_TRUE(eventually([&] {
      const std::string s = str(json(sim.fetch(sid).body), "status");
      return s == "failed" || s == "undelivered";
    })) << sim.fetch(sid).body;
    const auto m = json(sim.fetch(sid).body);
    const std::string status = str(m, "status");
    finals.insert(status);
    EXPECT_TRUE(m->get("error_code").isInteger()) << status;
    EXPECT_EQ(m->getValue<int>("error_code"), status == "failed" ? 30008 : 30003);
    EXPECT_FALSE(m->isNull("error_message"));
    EXPECT_EQ(str(m, "price_unit"), "USD");
  }
  // Every final callback carries the error code; a failed message was never sent.
  ASSERT_TRUE(eventually([&] {
    size_t finals_seen = 0;
    for (const Received& r : receiver.received()) {
      finals_seen += param(r.params, "MessageStatus") != "sent";
    }
    return finals_seen == sids.size();
  }));
  for (const Received& r : receiver.received()) {
    const std::string status = param(r.params, "MessageStatus");
    if (status == "sent") continue;
    EXPECT_EQ(param(r.params, "ErrorCode"), status == "failed" ? "30008" : "30003");
    expectSigned(r, receiver.url("/s"));
  }
  EXPECT_EQ(finals, (std::set<std::string>{"failed", "undelivered"}))
      << "seed 7 gives both kinds among 6 messages";
}

TEST(TwilioSim, RateLimitRateOneAnswers429AndStoresNothing) {
  SimProcess sim({"--rate-limit-rate", "1"});
  ASSERT_NE(sim.port(), 0);
  const Exchange e = sim.send(sms("hi"));
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.headers.count("Retry-After") ? e.headers.at("Retry-After") : "", "1");
  const auto error = json(e.body);
  EXPECT_EQ(error->getValue<int>("code"), 20429);
  EXPECT_EQ(error->getValue<int>("status"), 429);
  EXPECT_EQ(str(error, "more_info"), "https://www.twilio.com/docs/errors/20429");
  EXPECT_EQ(sim.messages()->size(), 0u);
  const auto stats = sim.stats();
  EXPECT_EQ(stats->getValue<int>("posts"), 1);
  EXPECT_EQ(stats->getValue<int>("rate_limited"), 1);
  EXPECT_EQ(stats->getValue<int>("messages"), 0);
}

TEST(TwilioSim, LostAnswerRateOneStoresTheMessageButAnswers500) {
  SimProcess sim({"--lost-answer-rate", "1"});
  ASSERT_NE(sim.port(), 0);
  const Exchange e = sim.send(sms("hi"));
  EXPECT_EQ(e.status, 500);
  EXPECT_EQ(json(e.body)->getValue<int>("code"), 20500);
  ASSERT_EQ(sim.messages()->size(), 1u) << "stored, and on its way, all the same";
  const auto stats = sim.stats();
  EXPECT_EQ(stats->getValue<int>("posts"), 1);
  EXPECT_EQ(stats->getValue<int>("answers_lost"), 1);
}

TEST(TwilioSim, OutOfOrderPostsDeliveredBeforeSent) {
  Receiver receiver;
  SimProcess sim({"--callback-delay-ms", "5", "--out-of-order"});
  ASSERT_NE(sim.port(), 0);
  const Exchange e = sim.send(sms("reversed", receiver.url("/s")));
  ASSERT_EQ(e.status, 201);
  const std::vector<Received> got = receiver.waitFor(2);
  EXPECT_EQ(statuses(got), (std::vector<std::string>{"delivered", "sent"}));
  for (const Received& r : got) expectSigned(r, receiver.url("/s"));
  // A late `sent` does not undo the final status.
  EXPECT_EQ(str(json(sim.fetch(str(json(e.body), "sid")).body), "status"), "delivered");
}

TEST(TwilioSim, BadCredentialsAre401WithTwiliosErrorBody) {
  SimProcess sim;
  ASSERT_NE(sim.port(), 0);
  const std::string expected =
      R"({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})";
  const Exchange wrong = sim.send(sms("hi"), {}, kAccount, "wrong-token");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, expected);
  EXPECT_EQ(wrong.content_type, "application/json");
  const Exchange none =
      call(sim.port(), "POST", "/2010-04-01/Accounts/" + kAccount + "/Messages.json",
           formEncode(sms("hi")), {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, expected);
  const Exchange garbage = sim.send(sms("hi"), {{"Authorization", "Basic %%%"}});
  EXPECT_EQ(garbage.status, 401);
  EXPECT_EQ(sim.messages()->size(), 0u);

  // Authenticated, but another account's URL: not found for this one.
  const Exchange other =
      call(sim.port(), "POST", "/2010-04-01/Accounts/" + kOtherAccount + "/Messages.json",
           formEncode(sms("hi")),
           {{"Authorization", basicAuth(kAccount, kToken)},
            {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(json(other.body)->getValue<int>("code"), 20404);
}

TEST(TwilioSim, InvalidSendsAre400WithTwiliosCodes) {
  SimProcess sim;
  ASSERT_NE(sim.port(), 0);
  auto code = [&](const Params& form) {
    const Exchange e = sim.send(form);
    EXPECT_EQ(e.status, 400) << e.body;
    const auto error = json(e.body);
    EXPECT_EQ(error->getValue<int>("status"), 400);
    return error->getValue<int>("code");
  };
  EXPECT_EQ(code({{"From", kFrom}, {"Body", "hi"}}), 21604);
  EXPECT_EQ(
      json(sim.send({{"From", kFrom}, {"Body", "hi"}}).body)->getValue<std::string>("message"),
      "A 'To' phone number is required.");
  EXPECT_EQ(code({{"To", kTo}, {"Body", "hi"}}), 21603);
  EXPECT_EQ(code({{"To", kTo}, {"From", kFrom}}), 21602);
  EXPECT_EQ(code({{"To", "not a number"}, {"From", kFrom}, {"Body", "hi"}}), 21211);
  EXPECT_EQ(code({{"To", kTo}, {"From", "+1"}, {"Body", "hi"}}), 21212);
  EXPECT_EQ(code({{"To", kTo}, {"From", kFrom}, {"Body", std::string(1601, 'a')}}), 21617);
  EXPECT_EQ(code({{"To", kTo}, {"From", kFrom}, {"Body", "hi"}, {"MediaUrl", "ftp://x/y.png"}}),
            21620);
  EXPECT_EQ(code({{"To", kTo}, {"From", kFrom}, {"Body", "hi"}, {"StatusCallback", "nope"}}),
            21609);
  // Twilio's magic numbers for test credentials.
  for (const auto& [to, want] : std::vector<std::pair<std::string, int>>{{"+15005550001", 21211},
                                                                         {"+15005550002", 21612},
                                                                         {"+15005550003", 21408},
                                                                         {"+15005550004", 21610},
                                                                         {"+15005550009", 21614}}) {
    EXPECT_EQ(code({{"To", to}, {"From", kFrom}, {"Body", "hi"}}), want) << to;
  }
  EXPECT_EQ(sim.messages()->size(), 0u);

  const Exchange unknown = sim.fetch("SM00000000000000000000000000000000");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json(unknown.body)->getValue<int>("code"), 20404);
  const Exchange elsewhere =
      call(sim.port(), "GET", "/2010-04-01/Accounts/" + kAccount + "/Calls.json", "",
           {{"Authorization", basicAuth(kAccount, kToken)}});
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_EQ(json(elsewhere.body)->getValue<int>("code"), 20404);
  EXPECT_EQ(call(sim.port(), "GET", "/nothing/here").status, 404);
  EXPECT_EQ(call(sim.port(), "GET", "/sim/nothing").status, 404);
}

TEST(TwilioSim, RepeatedMediaUrlIsAcceptedAsTwilioWantsIt) {
  SimProcess sim;
  ASSERT_NE(sim.port(), 0);
  const Exchange twilio_style = sim.send({{"To", kTo},
                                          {"From", kFrom},
                                          {"MediaUrl", "https://example.com/a.png"},
                                          {"MediaUrl", "https://example.com/b.png"}});
  ASSERT_EQ(twilio_style.status, 201) << twilio_style.body;
  EXPECT_EQ(str(json(twilio_style.body), "num_media"), "2");
  EXPECT_EQ(str(json(twilio_style.body), "body"), "");
  const Exchange array_style = sim.send(
      {{"To", kTo}, {"From", kFrom}, {"Body", "pic"}, {"MediaUrl[]", "https://example.com/c.png"}});
  ASSERT_EQ(array_style.status, 201) << array_style.body;
  EXPECT_EQ(str(json(array_style.body), "num_media"), "1");
  const auto stored = sim.messages()->getObject(0)->getArray("media_urls");
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ(stored->getElement<std::string>(1), "https://example.com/b.png");
}

TEST(TwilioSim, SegmentsAreCountedAsTwilioCountsThem) {
  SimProcess sim;
  ASSERT_NE(sim.port(), 0);
  auto segments = [&](const std::string& body) {
    const Exchange e = sim.send(sms(body));
    EXPECT_EQ(e.status, 201) << e.body;
    return str(json(e.body), "num_segments");
  };
  EXPECT_EQ(segments(std::string(160, 'a')), "1");
  EXPECT_EQ(segments(std::string(161, 'a')), "2");
  EXPECT_EQ(segments(std::string(306, 'a')), "2");
  EXPECT_EQ(segments(std::string(307, 'a')), "3");
  EXPECT_EQ(segments(std::string(80, '[')), "1") << "extension characters take two septets";
  EXPECT_EQ(segments(std::string(81, '[')), "2");
  std::string ucs2;
  for (int i = 0; i < 70; ++i) ucs2 += "\xC5\x81";  // Ł: not in GSM-7
  EXPECT_EQ(segments(ucs2), "1");
  EXPECT_EQ(segments(ucs2 + "a"), "2");
  EXPECT_EQ(segments("\xF0\x9F\x98\x80"), "1") << "an emoji is two UTF-16 units";
}

TEST(TwilioSim, RepeatedPostsOfTheSameSendAreCounted) {
  SimProcess sim;
  ASSERT_NE(sim.port(), 0);
  ASSERT_EQ(sim.send(sms("same"), {{"X-Sim-Request", "r1"}}).status, 201);
  ASSERT_EQ(sim.send(sms("same"), {{"X-Sim-Request", "r1"}}).status, 201);
  ASSERT_EQ(sim.send(sms("same"), {{"X-Sim-Request", "r2"}}).status, 201);
  const auto list = sim.messages();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ(list->getObject(0)->getValue<int>("posts"), 2);
  EXPECT_EQ(list->getObject(1)->getValue<int>("posts"), 2);
  EXPECT_EQ(list->getObject(2)->getValue<int>("posts"), 1);
  EXPECT_EQ(str(list->getObject(2), "sim_request"), "r2");
}

TEST(TwilioSim, FailingCallbacksAreRetriedThenDropped) {
  Receiver receiver;
  SimProcess sim({"--callback-delay-ms", "5", "--callback-backoff-ms", "10"});
  ASSERT_NE(sim.port(), 0);
  receiver.failFirst(2);
  ASSERT_EQ(sim.send(sms("retry", receiver.url("/s"))).status, 201);
  const std::vector<Received> got = receiver.waitFor(4);
  ASSERT_EQ(statuses(got), (std::vector<std::string>{"sent", "sent", "sent", "delivered"}));
  EXPECT_EQ(got[0].idempotency_token, got[2].idempotency_token) << "the same callback again";
  EXPECT_NE(got[2].idempotency_token, got[3].idempotency_token);

  // Nobody listening: each step's 4 attempts fail, then it is dropped and the next one runs.
  const uint16_t closed = freePort();
  ASSERT_EQ(sim.send(sms("lost", "http://127.0.0.1:" + std::to_string(closed) + "/s")).status, 201);
  EXPECT_TRUE(eventually([&] { return sim.stats()->getValue<int>("callbacks_failed") == 2; }))
      << sim.log();
  EXPECT_NE(sim.log().find("dropped after 4 attempts"), std::string::npos);
}

TEST(TwilioSim, InboundIsPostedSignedAndAnsweredWithTheWebhooksAnswer) {
  Receiver receiver;
  receiver.answer(200, "<Response><Message>pong</Message></Response>", "text/xml");
  SimProcess sim;
  ASSERT_NE(sim.port(), 0);
  const std::string url = receiver.url("/twilio/sms");
  const Exchange e = call(sim.port(), "POST", "/sim/inbound",
                          formEncode({{"Url", url},
                                      {"AccountSid", kOtherAccount},
                                      {"From", kTo},
                                      {"To", kFrom},
                                      {"Body", "ping + pong"}}),
                          {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.body, "<Response><Message>pong</Message></Response>");
  EXPECT_EQ(e.content_type, "text/xml");
  const std::vector<Received> got = receiver.waitFor(1);
  ASSERT_EQ(got.size(), 1u);
  expectSigned(got[0], url, kOtherToken);
  EXPECT_EQ(param(got[0].params, "Body"), "ping + pong");
  EXPECT_EQ(param(got[0].params, "From"), kTo);
  EXPECT_EQ(param(got[0].params, "SmsStatus"), "received");
  EXPECT_EQ(param(got[0].params, "NumMedia"), "0");
  EXPECT_EQ(param(got[0].params, "NumSegments"), "1");
  EXPECT_EQ(param(got[0].params, "AccountSid"), kOtherAccount);
  EXPECT_TRUE(std::regex_match(param(got[0].params, "MessageSid"), std::regex("SM[0-9a-f]{32}")));

  const Exchange unknown_account = call(sim.port(), "POST", "/sim/inbound",
                                        formEncode({{"Url", url},
                                                    {"AccountSid", "AC" + std::string(32, 'e')},
                                                    {"From", kTo},
                                                    {"To", kFrom},
                                                    {"Body", "x"}}),
                                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(unknown_account.status, 400);
  EXPECT_NE(unknown_account.body.find("--account"), std::string::npos) << unknown_account.body;
}

// The members of api.v2010.account.call in twilio_api_v2010.json, in the schema's order.
const std::vector<std::string> kCallMembers = {"sid",
                                               "date_created",
                                               "date_updated",
                                               "parent_call_sid",
                                               "account_sid",
                                               "to",
                                               "to_formatted",
                                               "from",
                                               "from_formatted",
                                               "phone_number_sid",
                                               "status",
                                               "start_time",
                                               "end_time",
                                               "duration",
                                               "price",
                                               "price_unit",
                                               "direction",
                                               "answered_by",
                                               "api_version",
                                               "forwarded_from",
                                               "group_sid",
                                               "caller_name",
                                               "queue_time",
                                               "trunk_sid",
                                               "uri",
                                               "subresource_uris"};

Exchange placeCall(const SimProcess& sim, const Params& form) {
  return call(sim.port(), "POST", "/sim/inbound-call", formEncode(form),
              {{"Content-Type", "application/x-www-form-urlencoded"}});
}

// An inbound call: the voice webhook posted signed as Twilio posts it, its TwiML the answer;
// then the call ends as asked and its status callback comes, signed; the Call resource is in
// Twilio's shape, priced per started minute.
TEST(TwilioSim, AnInboundCallIsPostedSignedThenEndsWithItsStatusCallbackAndPrice) {
  Receiver receiver;
  receiver.answer(200, "<Response><Say>hello</Say></Response>", "text/xml");
  SimProcess sim({"--callback-delay-ms", "5", "--call-price-micros", "8500"});
  ASSERT_NE(sim.port(), 0);
  const std::string voice = receiver.url("/twilio/voice");
  const std::string status = receiver.url("/twilio/voice/status");
  const Exchange e = placeCall(sim, {{"Url", voice},
                                     {"AccountSid", kAccount},
                                     {"From", kTo},
                                     {"To", kFrom},
                                     {"StatusCallback", status},
                                     {"Duration", "75"}});
  EXPECT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.body, "<Response><Say>hello</Say></Response>");
  EXPECT_EQ(e.content_type, "text/xml");
  ASSERT_EQ(e.headers.count("X-Sim-Call-Sid"), 1u);
  const std::string sid = e.headers.at("X-Sim-Call-Sid");
  EXPECT_TRUE(std::regex_match(sid, std::regex("CA[0-9a-f]{32}"))) << sid;

  const std::vector<Received> got = receiver.waitFor(2);
  ASSERT_EQ(got.size(), 2u);
  expectSigned(got[0], voice);
  EXPECT_EQ(param(got[0].params, "CallSid"), sid);
  EXPECT_EQ(param(got[0].params, "CallStatus"), "ringing");
  EXPECT_EQ(param(got[0].params, "Direction"), "inbound");
  EXPECT_EQ(param(got[0].params, "From"), kTo);
  EXPECT_EQ(param(got[0].params, "To"), kFrom);
  expectSigned(got[1], status);
  EXPECT_EQ(param(got[1].params, "CallSid"), sid);
  EXPECT_EQ(param(got[1].params, "CallStatus"), "completed");
  EXPECT_EQ(param(got[1].params, "CallDuration"), "75");

  const std::string path = "/2010-04-01/Accounts/" + kAccount + "/Calls/" + sid + ".json";
  const Exchange fetched =
      call(sim.port(), "GET", path, "", {{"Authorization", basicAuth(kAccount, kToken)}});
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  const auto c = json(fetched.body);
  std::vector<std::string> members;
  for (const auto& [k, v] : *c) members.push_back(k);
  std::vector<std::string> want = kCallMembers;
  std::sort(members.begin(), members.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(members, want);
  EXPECT_EQ(str(c, "status"), "completed");
  EXPECT_EQ(str(c, "direction"), "inbound");
  EXPECT_EQ(str(c, "duration"), "75");
  EXPECT_EQ(str(c, "price"), "-0.01700") << "two started minutes at 0.0085";
  EXPECT_EQ(str(c, "price_unit"), "USD");
  EXPECT_TRUE(std::regex_match(str(c, "start_time"), kRfc2822)) << str(c, "start_time");
  EXPECT_TRUE(std::regex_match(str(c, "end_time"), kRfc2822)) << str(c, "end_time");
  EXPECT_EQ(str(c, "uri"), path);
  // Another account's call does not exist for this one.
  const std::string other = "/2010-04-01/Accounts/" + kOtherAccount + "/Calls/" + sid + ".json";
  EXPECT_EQ(
      call(sim.port(), "GET", other, "", {{"Authorization", basicAuth(kOtherAccount, kOtherToken)}})
          .status,
      404);
  EXPECT_EQ(json(call(sim.port(), "GET", "/sim/calls").body)->getArray("calls")->size(), 1u);
  EXPECT_EQ(sim.stats()->getValue<int>("calls"), 1);
}

// A call that is not answered costs nothing and has no duration; bad requests are refused
// naming the field.
TEST(TwilioSim, AnUnansweredCallIsFreeAndBadCallsAreRefused) {
  Receiver receiver;
  receiver.answer(200, "<Response/>", "text/xml");
  SimProcess sim({"--callback-delay-ms", "5"});
  ASSERT_NE(sim.port(), 0);
  const Exchange e = placeCall(sim, {{"Url", receiver.url("/v")},
                                     {"AccountSid", kAccount},
                                     {"From", kTo},
                                     {"To", kFrom},
                                     {"StatusCallback", receiver.url("/s")},
                                     {"CallStatus", "no-answer"}});
  ASSERT_EQ(e.status, 200) << e.body;
  const std::vector<Received> got = receiver.waitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(param(got[1].params, "CallStatus"), "no-answer");
  EXPECT_EQ(param(got[1].params, "CallDuration"), "");
  const auto c = json(call(sim.port(), "GET",
                           "/2010-04-01/Accounts/" + kAccount + "/Calls/" +
                               e.headers.at("X-Sim-Call-Sid") + ".json",
                           "", {{"Authorization", basicAuth(kAccount, kToken)}})
                          .body);
  EXPECT_EQ(str(c, "status"), "no-answer");
  EXPECT_EQ(str(c, "price"), "0.00000");
  EXPECT_EQ(str(c, "duration"), "0");

  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"CallStatus", "ringing"}, {"Duration", "-1"}, {"StatusCallback", "ftp://x"}}) {
    Params form{
        {"Url", receiver.url("/v")}, {"AccountSid", kAccount}, {"From", kTo}, {"To", kFrom}};
    form.emplace_back(name, value);
    const Exchange bad = placeCall(sim, form);
    EXPECT_EQ(bad.status, 400) << name;
    EXPECT_NE(bad.body.find(name), std::string::npos) << bad.body;
  }
}

TEST(TwilioSim, BadFlagsAreRefusedWithAClearMessage) {
  const fs::path dir = makeTempDir("twilio-sim-flags-");
  auto refused = [&](std::vector<std::string> args, const std::string& says) {
    args.insert(args.begin(), kSimPath.string());
    const Ran r = run(args, dir);
    EXPECT_EQ(r.code, 64) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  };
  const std::string account = kAccount + ":" + kToken;
  refused({"--listen", "127.0.0.1:0"}, "no --account");
  refused({"--account", "ACnothex:tok"}, "--account");
  refused({"--account", account, "--fail-rate", "1.5"}, "--fail-rate '1.5': want 0 to 1");
  refused({"--account", account, "--listen", "0.0.0.0:0"}, "not a loopback address");
  refused({"--account", account, "--callback-delay-ms"}, "--callback-delay-ms needs a value");
  refused({"--account", account, "--bogus"}, "unknown argument '--bogus'");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::testing
