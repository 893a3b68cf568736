// Fixture of the storage conformance suite: the same tests, parameterised by backend name
// ("sqlite", "postgres"), each against a fresh database of its own.
#pragma once

#include <gtest/gtest.h>

#include <Poco/Data/Session.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugins/plugin_host.hpp"
#include "storage/store.hpp"

namespace tollgate::testing {

inline constexpr int64_t kT0 = 1700000000000;  // a fixed "now" for rows the tests create
inline constexpr int64_t kSchemaVersion = 9;   // the newest migration's version
inline constexpr int kPgWriters = 2;           // storage-postgres's writer connections here

class StorageTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Per-call deadline of the plugin. Generous: 16 threads contend for one wallet on 2 cores.
  static constexpr std::chrono::milliseconds kDeadline{30000};

  void SetUp() override;
  void TearDown() override;

  bool isPostgres() const { return GetParam() == "postgres"; }
  // A plugin without unit_apply: the daemon makes each operation its own call, which is not
  // atomic (docs/abi-policy.md).
  bool withoutUnitApply() const { return GetParam() == "sqlite_without_units"; }
  storage::Store& store() { return *store_; }

  // The backend's plugin loaded once more, in a host of its own, as a second daemon sharing the
  // database would load it (both null, and a test failure, if it does not load).
  struct OtherDaemon {
    std::unique_ptr<plugins::PluginHost> host;
    std::unique_ptr<storage::Store> store;  // declared last: destroyed before its host
  };
  OtherDaemon loadAnotherDaemon(std::chrono::milliseconds deadline = kDeadline);
  // A session of the test's own on the same database, for checks the ABI cannot express.
  Poco::Data::Session rawSession();
  // SQLite: the database file.
  std::string sqlitePath() const { return dir_ + "/conformance.db"; }

  // Helpers over store() for brevity.
  void createTenant(const std::string& id);
  void createWallet(const std::string& tenant, const std::string& currency = "USD",
                    int64_t credit_limit = 0);
  storage::ApplyResult apply(const std::string& tenant, const std::string& key,
                             const std::vector<int64_t>& amounts,
                             const std::string& currency = "USD");
  std::vector<storage::LedgerEntry> allEntries(const std::string& tenant,
                                               const std::string& currency = "USD");
  int64_t balance(const std::string& tenant, const std::string& currency = "USD");
  // The ledger invariants: balance == sum of entries; seq increases; each balance_after is the
  // previous one plus the amount.
  void expectConsistent(const std::string& tenant, const std::string& currency = "USD");

  bool migrate_in_setup_ = true;

 private:
  plugins::PluginSpec spec(std::chrono::milliseconds deadline = kDeadline) const;

  std::string dir_;        // state directory (and SQLite database) of this test
  std::string pg_base_;    // TOLLGATE_TEST_PG_DSN
  std::string pg_schema_;  // this test's schema
  std::string pg_dsn_;     // pg_base_ with search_path set to pg_schema_
  std::unique_ptr<plugins::PluginHost> host_;
  std::unique_ptr<storage::Store> store_;
};

// Status of the StorageError `fn` throws, TG_OK when it throws none.
template <class Fn>
tg_status statusOf(Fn&& fn, std::string* message = nullptr) {
  try {
    fn();
    return TG_OK;
  } catch (const storage::StorageError& e) {
    if (message != nullptr) *message = e.what();
    return e.status();
  }
}

std::string backendName(const ::testing::TestParamInfo<std::string>& info);

}  // namespace tollgate::testing
