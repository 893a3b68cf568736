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
  void SetUp() override {
    dir_ = makeTempDir("tollgate-e2e-");
    fs::create_directories(dir_ / "plugins.d");
    port_ = freePort();
    writeMainIni();
    std::ofstream(dir_ / "plugins.d" / "10-storage-sqlite.ini")
        << "[plugin]\nfile = storage-sqlite.so\nrequired = true\n[settings]\npath = tollgate.db\n";
  }
  // (Re)writes tollgate.ini; `extra` is appended (more sections).
  void writeMainIni(const std::string& extra = "") {
    std::ofstream(dir_ / "tollgate.ini")
        << "[server]\nlisten = 127.0.0.1:" << port_
        << "\nthreads = 4\n[daemon]\nstate_dir = " << (dir_ / "state").string()
        << "\n[plugins]\ndir = " << kPluginDir.string() << "\n[storage]\nplugin = storage-sqlite\n"
        << extra;
  }
  void TearDown() override {
    daemon_.reset();
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

}  // namespace tollgate::testing
