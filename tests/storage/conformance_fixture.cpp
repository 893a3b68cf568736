#include "conformance_fixture.hpp"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Statement.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>

namespace tollgate::testing {
namespace {

namespace kw = Poco::Data::Keywords;

void registerConnectors() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
}

// `dsn` with the schema search path set, in key=value or URI form.
std::string withSearchPath(const std::string& dsn, const std::string& schema) {
  if (dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0) {
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           schema;
  }
  // No space inside the value: Poco 1.11 splits connection strings at every space.
  return dsn + " options=-csearch_path=" + schema;
}

std::string uniqueSuffix() {
  static std::atomic<int> n{0};
  std::random_device rd;
  return std::to_string(getpid()) + "_" + std::to_string(n++) + "_" + std::to_string(rd() % 100000);
}

}  // namespace

std::string backendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

void StorageTest::SetUp() {
  registerConnectors();
  if (isPostgres()) {
    const char* dsn = std::getenv("TOLLGATE_TEST_PG_DSN");
    if (dsn == nullptr || *dsn == '\0') {
      const char* skip = std::getenv("TOLLGATE_TEST_SKIP_PG");
      if (skip != nullptr && std::string(skip) == "1") {
        GTEST_SKIP() << "PostgreSQL backend skipped: TOLLGATE_TEST_SKIP_PG=1";
      }
      FAIL() << "TOLLGATE_TEST_PG_DSN is not set, so the PostgreSQL backend cannot be tested. "
                "Run the storage tests with the test command in README.md (it starts a "
                "throwaway PostgreSQL cluster and sets the variable), or set "
                "TOLLGATE_TEST_SKIP_PG=1 to skip the PostgreSQL tests explicitly.";
    }
    pg_base_ = dsn;
    pg_schema_ = "tgtest_" + uniqueSuffix();
    pg_dsn_ = withSearchPath(pg_base_, pg_schema_);
    try {
      Poco::Data::Session admin("PostgreSQL", pg_base_);
      admin << "SET client_min_messages = warning", kw::now;
      admin << "CREATE SCHEMA " + pg_schema_, kw::now;
    } catch (const Poco::Exception& e) {
      pg_schema_.clear();
      FAIL() << "cannot create a test schema with TOLLGATE_TEST_PG_DSN=" << pg_base_ << ": "
             << e.displayText();
    }
  }
  char tmpl[] = "/tmp/tollgate-storage-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;

  host_ = std::make_unique<plugins::PluginHost>(dir_);
  const auto failure = host_->load(spec());
  ASSERT_FALSE(failure.has_value()) << failure->message;
  plugins::Plugin* plugin = host_->firstOfKind(TG_KIND_STORAGE);
  ASSERT_NE(plugin, nullptr);
  store_ = std::make_unique<storage::Store>(*plugin);
  if (migrate_in_setup_) {
    ASSERT_EQ(store_->migrate(), kSchemaVersion);
  }
}

void StorageTest::TearDown() {
  store_.reset();
  host_.reset();  // shuts the plugin down, closing its connections
  if (!pg_schema_.empty()) {
    try {
      Poco::Data::Session admin("PostgreSQL", pg_base_);
      admin << "SET client_min_messages = warning", kw::now;
      admin << "DROP SCHEMA " + pg_schema_ + " CASCADE", kw::now;
    } catch (const Poco::Exception& e) {
      ADD_FAILURE() << "cannot drop test schema " << pg_schema_ << ": " << e.displayText();
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

plugins::PluginSpec StorageTest::spec(std::chrono::milliseconds deadline) const {
  plugins::PluginSpec spec;
  spec.config_file = "conformance-test.ini";
  spec.required = true;
  spec.deadline = deadline;
  if (isPostgres()) {
    spec.file = std::filesystem::path(TOLLGATE_PLUGIN_BUILD_DIR) / "storage-postgres.so";
    spec.settings = {{"dsn", pg_dsn_},
                     {"pool_size", "8"},
                     {"writers", std::to_string(kPgWriters)},
                     {"statement_timeout_ms", "20000"}};
  } else {
    spec.file = GetParam() == "sqlite_without_units"
                    ? std::filesystem::path(TEST_PLUGIN_DIR) / "storage-sqlite-without-units.so"
                    : std::filesystem::path(TOLLGATE_PLUGIN_BUILD_DIR) / "storage-sqlite.so";
    // Relative on purpose: resolved against the host's state directory.
    spec.settings = {{"path", "conformance.db"}, {"pool_size", "8"}, {"busy_timeout_ms", "20000"}};
  }
  return spec;
}

StorageTest::OtherDaemon StorageTest::loadAnotherDaemon(std::chrono::milliseconds deadline) {
  OtherDaemon d;
  d.host = std::make_unique<plugins::PluginHost>(dir_);
  const auto failure = d.host->load(spec(deadline));
  if (failure) {
    ADD_FAILURE() << failure->message;
    d.host.reset();
    return d;
  }
  d.store = std::make_unique<storage::Store>(*d.host->firstOfKind(TG_KIND_STORAGE));
  return d;
}

Poco::Data::Session StorageTest::rawSession() {
  if (isPostgres()) return Poco::Data::Session("PostgreSQL", pg_dsn_);
  return Poco::Data::Session("SQLite", sqlitePath());
}

void StorageTest::createTenant(const std::string& id) {
  store().createTenant(storage::Tenant{id, "Tenant " + id, TG_TENANT_ACTIVE, kT0});
}

void StorageTest::createWallet(const std::string& tenant, const std::string& currency,
                               int64_t credit_limit) {
  store().createWallet(storage::Wallet{tenant, currency, 0, credit_limit, kT0});
}

storage::ApplyResult StorageTest::apply(const std::string& tenant, const std::string& key,
                                        const std::vector<int64_t>& amounts,
                                        const std::string& currency) {
  std::vector<storage::LedgerEntryIn> entries;
  for (const int64_t a : amounts) {
    entries.push_back({a > 0 ? TG_ENTRY_TOPUP : TG_ENTRY_CHARGE, a, "ref-" + key, "test entry"});
  }
  return store().applyLedger(tenant, currency, key, entries, kT0);
}

std::vector<storage::LedgerEntry> StorageTest::allEntries(const std::string& tenant,
                                                          const std::string& currency) {
  std::vector<storage::LedgerEntry> all;
  int64_t after = 0;
  for (;;) {
    auto page = store().ledger(tenant, currency, after, 97);
    if (page.empty()) return all;
    after = page.back().seq;
    all.insert(all.end(), page.begin(), page.end());
  }
}

int64_t StorageTest::balance(const std::string& tenant, const std::string& currency) {
  const auto w = store().wallet(tenant, currency);
  EXPECT_TRUE(w.has_value()) << tenant << " has no " << currency << " wallet";
  return w ? w->balance_micros : 0;
}

void StorageTest::expectConsistent(const std::string& tenant, const std::string& currency) {
  const auto entries = allEntries(tenant, currency);
  int64_t running = 0;
  int64_t last_seq = 0;
  for (const auto& e : entries) {
    EXPECT_GT(e.seq, last_seq);
    running += e.amount_micros;
    EXPECT_EQ(e.balance_after_micros, running) << "entry seq " << e.seq;
    EXPECT_EQ(e.tenant_id, tenant);
    EXPECT_EQ(e.currency, currency);
    last_seq = e.seq;
  }
  EXPECT_EQ(balance(tenant, currency), running) << "balance != sum of entries";
  // held == the sum of the active holds (a plugin with holds).
  if (!store().hasHolds()) return;
  int64_t held = 0;
  storage::HoldQuery q{.currency = currency, .status = TG_HOLD_ACTIVE, .limit = 1000};
  for (auto page = store().holds(tenant, q); !page.empty(); page = store().holds(tenant, q)) {
    for (const auto& h : page) held += h.amount_micros;
    q.after_id = page.back().hold_id;
  }
  const auto w = store().wallet(tenant, currency);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->held_micros, held) << "held != sum of active holds";
}

}  // namespace tollgate::testing
