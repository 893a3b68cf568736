// Test support: a scratch configuration directory and a real tollgated started on it.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "support/daemon.hpp"

namespace tollgate::testing {

const fs::path kTollgated = TOLLGATED_PATH;
const fs::path kTollgatectl = TOLLGATECTL_PATH;
const fs::path kPluginDir = PLUGIN_BUILD_DIR;
const fs::path kTestPluginDir = TEST_PLUGIN_DIR;
const fs::path kSourceDir = SOURCE_DIR;

inline Poco::JSON::Object::Ptr json(const std::string& s) {
  return Poco::JSON::Parser().parse(s).extract<Poco::JSON::Object::Ptr>();
}

class DaemonFixture : public ::testing::Test {
 protected:
  // TOLLGATE_E2E_STORAGE=postgres runs the same tests on the PostgreSQL named by
  // TOLLGATE_TEST_PG_DSN, each test in a schema of its own.
  static bool onPostgres() {
    const char* s = std::getenv("TOLLGATE_E2E_STORAGE");
    return s != nullptr && std::string(s) == "postgres";
  }

  void SetUp() override {
    dir_ = makeTempDir("tollgate-e2e-");
    fs::create_directories(dir_ / "plugins.d");
    port_ = freePort();
    if (onPostgres()) {
      const char* dsn = std::getenv("TOLLGATE_TEST_PG_DSN");
      if (dsn == nullptr || *dsn == '\0') {
        if (std::getenv("TOLLGATE_TEST_SKIP_PG") != nullptr)
          GTEST_SKIP() << "TOLLGATE_TEST_SKIP_PG set";
        FAIL()
            << "TOLLGATE_TEST_PG_DSN is not set: run the README's test command (scripts/test.sh)";
      }
      dsn_ = dsn;
      schema_ = "e2e_" + dir_.filename().string().substr(std::string("tollgate-e2e-").size());
      for (char& c : schema_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const Ran r = sql("CREATE SCHEMA " + schema_);
      ASSERT_EQ(r.code, 0) << r.err;
      storage_ = "storage-postgres";
      std::ofstream(dir_ / "plugins.d" / "10-storage-postgres.ini")
          << "[plugin]\nfile = storage-postgres.so\nrequired = true\n[settings]\ndsn = " << dsn_
          << " options=-csearch_path=" << schema_ << "\n";
      // Shared storage needs a token key that every daemon on the database uses.
      token_key_file_ = dir_ / "token-key";
      std::ofstream(token_key_file_) << kSharedTokenKey << "\n";
    } else {
      std::ofstream(dir_ / "plugins.d" / "10-storage-sqlite.ini")
          << "[plugin]\nfile = storage-sqlite.so\nrequired = true\n[settings]\npath = "
             "tollgate.db\n";
    }
    writeMainIni();
  }

  // Runs one SQL statement against the test's database (sqlite3 or psql), for checks and for
  // setting up rows no API writes yet.
  Ran sql(const std::string& statement) {
    if (onPostgres()) {
      const std::string stmt = schema_.empty() || statement.rfind("CREATE SCHEMA", 0) == 0 ||
                                       statement.rfind("DROP SCHEMA", 0) == 0
                                   ? statement
                                   : "SET search_path = " + schema_ + "; " + statement;
      return run({"/usr/bin/psql", dsn_, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", stmt},
                 dir_ / "sql");
    }
    return run({"/usr/bin/sqlite3", (dir_ / "state" / "tollgate.db").string(), statement},
               dir_ / "sql");
  }

  // What the database holds for `table`, as text, to check that secrets are not in clear.
  std::string tableDump(const std::string& table) {
    const Ran r =
        onPostgres() ? sql("SELECT t::text FROM " + table + " t") : sql("SELECT * FROM " + table);
    return r.out + slurp(dir_ / "state" / "tollgate.db");
  }
  // (Re)writes tollgate.ini; `extra` is appended (more sections).
  void writeMainIni(const std::string& extra = "") {
    std::ofstream(dir_ / "tollgate.ini")
        << "[server]\nlisten = 127.0.0.1:" << port_
        << "\nthreads = 4\n[daemon]\nstate_dir = " << (dir_ / "state").string()
        << "\n[plugins]\ndir = " << kPluginDir.string() << "\n[storage]\nplugin = " << storage_
        << "\n"
        << extra;
  }
  void TearDown() override {
    if (daemon_) daemon_->stopCleanly();
    daemon_.reset();
    if (!schema_.empty()) sql("DROP SCHEMA " + schema_ + " CASCADE");
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void addTestPlugin(const std::string& name, const std::string& settings, bool required,
                     const std::string& plugin_extra = "") {
    addPlugin(kTestPluginDir / (name + ".so"), name, settings, required, plugin_extra);
  }
  void addPlugin(const fs::path& so, const std::string& name, const std::string& settings,
                 bool required, const std::string& plugin_extra = "") {
    std::ofstream(dir_ / "plugins.d" / ("50-" + name + ".ini"))
        << "[plugin]\nfile = " << so.string() << "\n"
        << plugin_extra << "\nrequired = " << (required ? "true" : "false") << "\n[settings]\n"
        << settings;
  }

  void start() { daemon_ = std::make_unique<Child>(daemonArgv(dir_ / "tollgate.ini"), dir_); }
  // tollgated on `ini`, with the shared token key when there is one.
  std::vector<std::string> daemonArgv(const fs::path& ini) const {
    std::vector<std::string> argv{kTollgated.string(), "--config", ini.string()};
    if (!token_key_file_.empty()) {
      argv.insert(argv.end(), {"-D", "twilio.token_key_file=" + token_key_file_.string()});
    }
    return argv;
  }

  // Polls /readyz until 200; returns every status seen on the way.
  std::vector<int> waitReady() {
    std::vector<int> seen;
    // Generous: two loaded cores, and a start may wait for another daemon's migration.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < give_up) {
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

  static constexpr const char* kSharedTokenKey =
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

  fs::path dir_;
  fs::path token_key_file_;  // passed as twilio.token_key_file when set (PostgreSQL)
  std::string storage_ = "storage-sqlite";
  std::string dsn_, schema_;
  uint16_t port_ = 0;
  std::unique_ptr<Child> daemon_;
};

}  // namespace tollgate::testing
