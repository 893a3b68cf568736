// tollgated as a user runs it: a real process on a real port with real plugins from .so
// files, driven over HTTP and through tollgatectl.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <tollgate/abi/tollgate.h>

#include "support/fixture.hpp"
#include "support/sanitizers.hpp"

namespace tollgate::testing {
namespace {

using DaemonTest = DaemonFixture;

TEST_F(DaemonTest, TenantsAndKeysThroughTollgatectlScopeEveryTenantRequest) {
  start();
  waitReady();
  EXPECT_EQ(http(port_, "GET", "/livez").status, 200);

  // tollgatectl creates two tenants and a key for each; the key is printed once.
  const Ran a = ctl({"tenant", "create", "Acme Dental"});
  ASSERT_EQ(a.code, 0) << a.err;
  const std::string acme = json(a.out)->getValue<std::string>("id");
  const Ran b = ctl({"tenant", "create", "Bravo Plumbing"});
  ASSERT_EQ(b.code, 0) << b.err;
  const std::string bravo = json(b.out)->getValue<std::string>("id");
  const Ran ka = ctl({"key", "issue", acme, "--label", "crm"});
  ASSERT_EQ(ka.code, 0) << ka.err;
  const std::string acme_key = json(ka.out)->getValue<std::string>("key");
  const std::string acme_key_id = json(ka.out)->getValue<std::string>("id");
  const std::string bravo_key =
      json(ctl({"key", "issue", bravo}).out)->getValue<std::string>("key");
  EXPECT_EQ(acme_key.rfind("tgk_", 0), 0u);

  // Each key sees its own tenant only.
  auto me = http(port_, "GET", "/v1/tenant", "", bearer(acme_key));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json(me.body)->getValue<std::string>("id"), acme);
  me = http(port_, "GET", "/v1/tenant", "", bearer(bravo_key));
  EXPECT_EQ(json(me.body)->getValue<std::string>("id"), bravo);
  auto keys = http(port_, "GET", "/v1/keys", "", bearer(acme_key));
  EXPECT_EQ(json(keys.body)->getArray("keys")->size(), 1u);
  EXPECT_EQ(keys.body.find(acme_key.substr(21)), std::string::npos)
      << "secret must never be listed";

  // The secret is stored hashed: it is nowhere in the database file.
  EXPECT_EQ(slurp(dir_ / "state" / "tollgate.db").find(acme_key.substr(21)), std::string::npos);

  // Tenant keys are not admin keys, and admin endpoints need the admin key.
  EXPECT_EQ(http(port_, "GET", "/admin/v1/tenants", "", bearer(acme_key)).status, 401);
  EXPECT_EQ(http(port_, "GET", "/admin/v1/tenants").status, 401);
  EXPECT_EQ(http(port_, "GET", "/v1/tenant", "", bearer("tgk_garbage")).status, 401);

  // Suspension answers 403 with a JSON reason; activation restores access.
  ASSERT_EQ(ctl({"tenant", "suspend", acme}).code, 0);
  auto suspended = http(port_, "GET", "/v1/tenant", "", bearer(acme_key));
  EXPECT_EQ(suspended.status, 403);
  EXPECT_EQ(json(suspended.body)->getObject("error")->getValue<std::string>("code"),
            "tenant_suspended");
  ASSERT_EQ(ctl({"tenant", "activate", acme}).code, 0);
  EXPECT_EQ(http(port_, "GET", "/v1/tenant", "", bearer(acme_key)).status, 200);

  // Revocation takes effect on the next request; another tenant cannot revoke it.
  const Ran cross = ctl({"key", "revoke", bravo, acme_key_id});
  EXPECT_NE(cross.code, 0);
  EXPECT_NE(cross.err.find("404"), std::string::npos) << cross.err;
  ASSERT_EQ(ctl({"key", "revoke", acme, acme_key_id}).code, 0);
  EXPECT_EQ(http(port_, "GET", "/v1/tenant", "", bearer(acme_key)).status, 401);
  EXPECT_EQ(http(port_, "GET", "/v1/tenant", "", bearer(bravo_key)).status, 200);

  // SIGTERM stops it cleanly.
  daemon_->signal(SIGTERM);
  EXPECT_EQ(daemon_->wait(), 0);
  EXPECT_NE(daemon_->err().find("stopped"), std::string::npos);
}

TEST_F(DaemonTest, BadInputGetsA4xxNamingTheFieldAndWritesNothing) {
  start();
  waitReady();
  const auto admin = bearer(adminKey());
  auto r = http(port_, "POST", "/admin/v1/tenants", "{not json", admin);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("code"), "invalid_json");
  r = http(port_, "POST", "/admin/v1/tenants", "{\"nam\": \"x\"}", admin);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), "name");
  r = http(port_, "POST", "/admin/v1/tenants", "{\"name\": 42}", admin);
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), "name");
  r = http(port_, "POST", "/admin/v1/tenants", "{\"name\": \"" + std::string(101, 'x') + "\"}",
           admin);
  EXPECT_EQ(r.status, 400);
  r = http(port_, "PATCH", "/admin/v1/tenants/tn_nope", "{\"status\": \"active\"}", admin);
  EXPECT_EQ(r.status, 404);
  r = http(port_, "POST", "/admin/v1/tenants", "{\"name\": \"Same\"}", admin);
  EXPECT_EQ(r.status, 201);
  const std::string id = json(r.body)->getValue<std::string>("id");
  r = http(port_, "PATCH", "/admin/v1/tenants/" + id, "{\"status\": \"gone\"}", admin);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), "status");
  r = http(port_, "POST", "/admin/v1/tenants", "{\"name\": \"Same\"}", admin);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), "name");
  r = http(port_, "DELETE", "/admin/v1/tenants", "", admin);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(http(port_, "GET", "/nowhere").status, 404);
  // Only the one good tenant exists.
  r = http(port_, "GET", "/admin/v1/tenants", "", admin);
  EXPECT_EQ(json(r.body)->getArray("tenants")->size(), 1u);
  r = http(port_, "GET", "/admin/v1/tenants?limit=0", "", admin);
  EXPECT_EQ(json(r.body)->getObject("error")->getValue<std::string>("field"), "limit");
}

TEST_F(DaemonTest, ReadyzIs503UntilPluginsAreUp) {
  addTestPlugin("test-sms", "init_sleep_ms = 1500\n", false);
  start();
  const auto seen = waitReady();
  ASSERT_GE(seen.size(), 2u) << "readyz never answered 503 while a plugin was starting";
  EXPECT_EQ(seen.front(), 503);
  EXPECT_EQ(seen.back(), 200);
}

// The harness's own check, in the asan build: a sanitizer report from the daemon (here
// LeakSanitizer's, when it exits) fails the test, though the daemon answered everything.
TEST_F(DaemonTest, ASanitizerReportFromTheDaemonFailsTheTest) {
#if !defined(TOLLGATE_TEST_ASAN)
  GTEST_SKIP() << "needs the asan build: scripts/sanitize.sh asan";
#endif
  addTestPlugin("test-sms", "leak_at_shutdown = true\n", true);
  start();
  waitReady();
  // EXPECT_NONFATAL_FAILURE's statement cannot name members: a static alias.
  static std::unique_ptr<Child>* daemon;
  daemon = &daemon_;
  EXPECT_NONFATAL_FAILURE((*daemon)->stopCleanly(), "ERROR: LeakSanitizer");
  EXPECT_NONFATAL_FAILURE(daemon->reset(), "sanitizer report from a child process");
}

TEST_F(DaemonTest, GoesOnWithoutARejectedOptionalPlugin) {
  addTestPlugin("test-raw-abi-major", "", false);
  start();
  waitReady();
  const std::string log = daemon_->err();
  EXPECT_NE(log.find("test-raw-abi-major.so rejected: built for plugin ABI 2." +
                     std::to_string(TG_ABI_MINOR)),
            std::string::npos)
      << log;
  auto plugins = http(port_, "GET", "/admin/v1/plugins", "", bearer(adminKey()));
  EXPECT_NE(plugins.body.find("storage-sqlite"), std::string::npos);
  EXPECT_EQ(plugins.body.find("raw-test"), std::string::npos);
}

TEST_F(DaemonTest, RefusesToStartWithoutARequiredPlugin) {
  addTestPlugin("test-sms", "fail_init = true\n", true);
  start();
  EXPECT_EQ(daemon_->wait(), 1);
  const std::string log = daemon_->err();
  EXPECT_NE(log.find("init failed with status 1: settings.api_token is required"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("not starting: required plugin"), std::string::npos) << log;
}

TEST_F(DaemonTest, RefusesToStartWithoutStorage) {
  fs::remove(dir_ / "plugins.d" / "10-storage-sqlite.ini");
  start();
  EXPECT_EQ(daemon_->wait(), 1);
  EXPECT_NE(daemon_->err().find("storage plugin 'storage-sqlite' is not loaded"), std::string::npos)
      << daemon_->err();
}

TEST_F(DaemonTest, RefusesAStoragePluginBuiltForAnOlderMinorThatLacksWhatItNeeds) {
  fs::remove(dir_ / "plugins.d" / "10-storage-sqlite.ini");
  addTestPlugin("test-raw-storage-v10", "", true);
  // storage.plugin names the 1.0 plugin: it loads (ABI 1.0 <= 1.1), then is refused.
  std::string ini = slurp(dir_ / "tollgate.ini");
  ini.replace(ini.find("plugin = storage-sqlite"), 23, "plugin = raw-storage-v10");
  std::ofstream(dir_ / "tollgate.ini") << ini;
  start();
  EXPECT_EQ(daemon_->wait(), 1);
  const std::string log = daemon_->err();
  EXPECT_NE(log.find("plugin raw-storage-v10 0.0.1 (storage) loaded"), std::string::npos) << log;
  EXPECT_NE(log.find("implements plugin ABI 1.0 only; tollgated needs the 1.1 operations"),
            std::string::npos)
      << log;
}

TEST_F(DaemonTest, CheckConfigAcceptsConfAsShipped) {
  const Ran r = run({kTollgated.string(), "--check-config", "--config",
                     (kSourceDir / "conf" / "tollgate.ini").string()},
                    dir_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("configuration OK"), std::string::npos) << r.out;
}

// pricing-static with the table shipped in conf/: the daemon loads it, reading the table at
// init, and a bad line keeps the daemon from starting, named.
TEST_F(DaemonTest, LoadsThePricingTableAndRefusesABadLine) {
  const fs::path table = dir_ / "prices.csv";
  fs::copy_file(kSourceDir / "conf" / "prices.csv", table);
  std::ofstream(dir_ / "plugins.d" / "30-pricing.ini")
      << "[plugin]\nfile = pricing-static.so\nrequired = true\n[settings]\ntable = "
      << table.string() << "\n";
  start();
  waitReady();
  EXPECT_NE(daemon_->err().find("pricing table: 7 price(s) in USD"), std::string::npos)
      << daemon_->err();
  daemon_->stopCleanly();
  std::ofstream(table, std::ios::app) << "US,*,sms_out,0.01\n";
  start();
  EXPECT_EQ(daemon_->wait(), 1);
  EXPECT_NE(daemon_->err().find("settings.table: line 10: the same country"), std::string::npos)
      << daemon_->err();
}

TEST_F(DaemonTest, CheckConfigNamesFileAndKeyOfEveryError) {
  std::ofstream(dir_ / "tollgate.ini", std::ios::app)
      << "[server]\nlisten = everywhere\nthreads = many\nlisten_port = 1\n[log]\nlevel = loud\n";
  std::ofstream(dir_ / "plugins.d" / "10-storage-sqlite.ini", std::ios::app)
      << "busy_timeout_ms = soon\n";
  std::ofstream(dir_ / "plugins.d" / "20-voice.ini") << "[plugin]\nfile = voice-missing.so\n";
  const Ran r = run(
      {kTollgated.string(), "--check-config", "--config", (dir_ / "tollgate.ini").string()}, dir_);
  EXPECT_EQ(r.code, 78);
  const std::string ini = (dir_ / "tollgate.ini").string();
  for (const std::string& expected : {
           ini + ": server.listen: 'everywhere' is not host:port",
           ini + ": server.threads: 'many' is not an integer",
           ini + ": server.listen_port: unknown key",
           ini + ": log.level: 'loud' is not one of",
           (dir_ / "plugins.d" / "10-storage-sqlite.ini").string() +
               ": settings.busy_timeout_ms: 'soon' is not an integer",
           (dir_ / "plugins.d" / "20-voice.ini").string() + ": plugin.file: plugin " +
               (kPluginDir / "voice-missing.so").string() + " rejected: file not found",
       }) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n"
                                                       << r.err;
  }
}

TEST(Tollgated, PrintsItsVersion) {
  const fs::path d = makeTempDir("tollgate-v-");
  const Ran r = run({kTollgated.string(), "--version"}, d);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("tollgated ") + TOLLGATE_VERSION + " (plugin ABI 1.13)\n");
  fs::remove_all(d);
}

}  // namespace
}  // namespace tollgate::testing
