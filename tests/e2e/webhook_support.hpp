// Test support for webhook tests: a daemon with a Twilio master account, a tenant with a
// number, and Twilio-shaped form posts signed as Twilio signs them.
#pragma once

#include <Poco/DOM/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/URI.h>

#include "support/fixture.hpp"
#include "support/twilio_forms.hpp"

namespace tollgate::testing {

class WebhookFixture : public DaemonFixture {
 protected:
  const std::string kAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string kToken = "0123456789abcdef0123456789abcdef";
  const std::string kBase = "https://gw.example.com";
  const std::string kNumber = "+14155550100";
  std::string signed_base_ = kBase;  // the daemon's public_base_url, as post() signs for it

  void SetUp() override {
    DaemonFixture::SetUp();
    std::ofstream(dir_ / "twilio-token") << kToken << "\n";
    writeMainIni("[twilio]\naccount_sid = " + kAccount + "\nauth_token_file = " +
                 (dir_ / "twilio-token").string() + "\npublic_base_url = " + kBase + "\n");
  }

  std::map<std::string, std::string> admin() { return bearer(adminKey()); }

  std::string createTenant(const std::string& name) {
    auto r = http(port_, "POST", "/admin/v1/tenants", "{\"name\":\"" + name + "\"}", admin());
    EXPECT_EQ(r.status, 201) << r.body;
    return json(r.body)->getValue<std::string>("id");
  }
  std::string issueKey(const std::string& tenant) {
    auto r = http(port_, "POST", "/admin/v1/tenants/" + tenant + "/keys", "", admin());
    EXPECT_EQ(r.status, 201) << r.body;
    return json(r.body)->getValue<std::string>("key");
  }
  void attach(const std::string& tenant, const std::string& e164, const std::string& fields) {
    auto r =
        http(port_, "POST", "/admin/v1/tenants/" + tenant + "/numbers",
             "{\"e164\":\"" + e164 + "\"" + (fields.empty() ? "" : "," + fields) + "}", admin());
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Posts a form to `path`, signed with `token` over exactly `signed_params`.
  HttpReply post(const std::string& path, const Params& params, const std::string& token,
                 const Params* signed_params = nullptr,
                 std::map<std::string, std::string> headers = {}) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    if (!token.empty()) {
      headers["X-Twilio-Signature"] = twilio::computeSignature(
          token, signed_base_ + path, signed_params ? *signed_params : params);
    }
    return http(port_, "POST", path, formEncode(params), headers);
  }
  HttpReply post(const std::string& path, const Params& params) {
    return post(path, params, kToken);
  }

  static Poco::XML::AutoPtr<Poco::XML::Document> twiml(const std::string& xml) {
    Poco::XML::DOMParser parser;
    return parser.parseString(xml);
  }
  // Text of the first <Message>, or nullopt when the answer sends no reply.
  static std::optional<std::string> reply(const HttpReply& r) {
    auto doc = twiml(r.body);
    auto* list = doc->getElementsByTagName("Message");
    std::optional<std::string> out;
    if (list->length() > 0) out = list->item(0)->innerText();
    list->release();
    return out;
  }
};

}  // namespace tollgate::testing
