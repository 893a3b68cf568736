// tollgated as a user runs it: a real process on a real port with real plugins from .so
// files, driven over HTTP and through tollgatectl.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "support/daemon.hpp"

namespace tollgate::testing {
namespace {

const fs::path kTollgated = TOLLGATED_PATH;
const fs::path kTollgatectl = TOLLGATECTL_PATH;
const fs::path kPluginDir = PLUGIN_BUILD_DIR;
const fs::path kTestPluginDir = TEST_PLUGIN_DIR;
const fs::path kSourceDir = SOURCE_DIR;

Poco::JSON::Object::Ptr json(const std::string& s) {
  return Poco::JSON::Parser().parse(s).extract<Poco::JSON::Object::Ptr>();
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("tollgate-e2e-");
    fs::create_directories(dir_ / "plugins.d");
    port_ = freePort();
    std::ofstream(dir_ / "tollgate.ini")
        << "[server]\nlisten = 127.0.0.1:" << port_
        << "\nthreads = 4\n[daemon]\nstate_dir = " << (dir_ / "state").string()
        << "\n[plugins]\ndir = " << kPluginDir.string() << "\n[storage]\nplugin = storage-sqlite\n";
    std::ofstream(dir_ / "plugins.d" / "10-storage-sqlite.ini")
        << "[plugin]\nfile = storage-sqlite.so\nrequired = true\n[settings]\npath = tollgate.db\n";
  }
  void TearDown() override {
    daemon_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void addTestPlugin(const std::string& name, const std::string& settings, bool required) {
    std::ofstream(dir_ / "plugins.d" / ("50-" + name + ".ini"))
        << "[plugin]\nfile = " << (kTestPluginDir / (name + ".so")).string()
        << "\nrequired = " << (required ? "true" : "false") << "\n[settings]\n"
        << settings;
  }

  void start() {
    daemon_ = std::make_unique<Child>(
        std::vector<std::string>{kTollgated.string(), "--config", (dir_ / "tollgate.ini").string()},
        dir_);
  }

  // Polls /readyz until 200; returns every status seen on the way.
  std::vector<int> waitReady() {
    std::vector<int> seen;
    for (int i = 0; i < 300; ++i) {
      if (!daemon_->running()) {
        ADD_FAILURE() << "tollgated exited:\n" << daemon_->err();
        return seen;
      }
      try {
        const int s = http(port_, "GET", "/readyz").status;
        if (seen.empty() || seen.back() != s) seen.push_back(s);
        if (s == 200) return seen;
      } catch (const Poco::Exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "not ready:\n" << daemon_->err();
    return seen;
  }

  Ran ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{kTollgatectl.string(),
                                  "--url",
                                  "http://127.0.0.1:" + std::to_string(port_),
                                  "--admin-key-file",
                                  (dir_ / "state" / "admin.key").string(),
                                  "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    const fs::path d = makeTempDir("tollgate-ctl-");
    Ran r = run(argv, d);
    fs::remove_all(d);
    return r;
  }

  std::map<std::string, std::string> bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
  }
  std::string adminKey() {
    std::string k = slurp(dir_ / "state" / "admin.key");
    while (!k.empty() && k.back() == '\n') k.pop_back();
    return k;
  }

  fs::path dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Child> daemon_;
};

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

TEST_F(DaemonTest, GoesOnWithoutARejectedOptionalPlugin) {
  addTestPlugin("test-raw-abi-major", "", false);
  start();
  waitReady();
  const std::string log = daemon_->err();
  EXPECT_NE(log.find("test-raw-abi-major.so rejected: built for plugin ABI 2.0"), std::string::npos)
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

TEST_F(DaemonTest, CheckConfigAcceptsConfAsShipped) {
  const Ran r = run({kTollgated.string(), "--check-config", "--config",
                     (kSourceDir / "conf" / "tollgate.ini").string()},
                    dir_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("configuration OK"), std::string::npos) << r.out;
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
  EXPECT_EQ(r.out, std::string("tollgated ") + TOLLGATE_VERSION + " (plugin ABI 1.0)\n");
  fs::remove_all(d);
}

}  // namespace
}  // namespace tollgate::testing
