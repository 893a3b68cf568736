// Durable ledger charges per second on PostgreSQL (issue 24), with the real storage-postgres.so
// loaded by the real PluginHost and called through the core's Store, as the daemon calls it.
// bench/ledger_bench.sh runs it next to pgbench on the same server; not run by ctest.
//
//   build/bench/bench_ledger --dsn 'host=127.0.0.1 port=5432 dbname=ledger_bench user=postgres'
//       [--wallets 10000] [--clients 16] [--seconds 20] [--scenario many|hot|holds|all]
//       [--keep-schema]
//
// The DSN defaults to $TOLLGATE_TEST_PG_DSN. Everything happens in a fresh schema of that
// database (dropped at the end unless --keep-schema). Setup, not timed: one tenant per wallet,
// each with a USD wallet topped up once, created from --clients threads. Then each scenario
// runs --clients threads for --seconds, each looping on one operation, and prints one line:
//
//   scenario=many clients=16 wallets=10000 seconds=20 applied=... per_s=... p50_ms=...
//       p99_ms=... insufficient=... errors=... check=PASS
//
// check: over the scenario's wallets, the topups minus the balances equal what the applied
// operations took. Exits 1 if a check failed or a call raised an error.
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "plugins/plugin_host.hpp"
#include "storage/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using tollgate::storage::Store;

constexpr int64_t kChargeMicros = 1000;
// Every wallet's one topup: far more than a run can charge, so INSUFFICIENT means a bug.
constexpr int64_t kTopupMicros = 1'000'000'000'000;  // 1,000,000 USD
constexpr const char* kCurrency = "USD";

struct Options {
  std::string dsn;
  size_t wallets = 10000;
  size_t clients = 16;
  int seconds = 20;
  std::string scenario = "all";
  bool keep_schema = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "bench_ledger: %s\n"
               "usage: bench_ledger [--dsn CONNINFO] [--wallets N] [--clients N] [--seconds S]\n"
               "                    [--scenario many|hot|holds|all] [--keep-schema]\n"
               "--dsn defaults to $TOLLGATE_TEST_PG_DSN (a libpq key=value string).\n",
               why.c_str());
  std::exit(2);
}

size_t positive(const std::string& flag, const std::string& value) {
  try {
    size_t used = 0;
    const long long n = std::stoll(value, &used);
    if (used == value.size() && n > 0) return static_cast<size_t>(n);
  } catch (const std::exception&) {
  }
  usage(flag + ": '" + value + "' is not a positive integer");
}

Options parse(int argc, char** argv) {
  Options o;
  if (const char* dsn = std::getenv("TOLLGATE_TEST_PG_DSN")) o.dsn = dsn;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keep-schema") {
      o.keep_schema = true;
      continue;
    }
    if (i + 1 >= argc) usage(a + ": needs a value");
    const std::string v = argv[++i];
    if (a == "--dsn") {
      o.dsn = v;
    } else if (a == "--wallets") {
      o.wallets = positive(a, v);
    } else if (a == "--clients") {
      o.clients = positive(a, v);
    } else if (a == "--seconds") {
      o.seconds = static_cast<int>(positive(a, v));
    } else if (a == "--scenario") {
      if (v != "many" && v != "hot" && v != "holds" && v != "all") {
        usage("--scenario: many, hot, holds or all");
      }
      o.scenario = v;
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.dsn.empty()) usage("no DSN: pass --dsn or set TOLLGATE_TEST_PG_DSN");
  if (o.dsn.find("://") != std::string::npos) usage("--dsn: use the key=value form, not a URI");
  return o;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs fn(i) for i in [0, n) on `threads` threads; the first exception is rethrown.
void parallelFor(size_t n, size_t threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr failure;
  std::vector<std::thread> pool;
  for (size_t t = 0; t < std::min(threads, n); ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) {
        try {
          fn(i);
        } catch (...) {
          const std::lock_guard lock(mu);
          if (!failure) failure = std::current_exception();
          next = n;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

// ---- the database: a fresh schema, and the plugin loaded against it --------------------------

// The schema every table of this run lives in, created on construction and dropped on
// destruction (unless kept), as tests/storage/conformance_fixture.cpp does per test.
class Schema {
 public:
  Schema(std::string dsn, bool keep) : dsn_(std::move(dsn)), keep_(keep) {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    name_ = "ledger_bench_" + std::to_string(getpid()) + "_" + std::to_string(nowMs() % 100000);
    admin() << "CREATE SCHEMA " + name_, Poco::Data::Keywords::now;
  }
  ~Schema() {
    if (keep_) {
      std::fprintf(stderr, "bench_ledger: kept schema %s\n", name_.c_str());
      return;
    }
    try {
      admin() << "DROP SCHEMA " + name_ + " CASCADE", Poco::Data::Keywords::now;
    } catch (const Poco::Exception& e) {
      std::fprintf(stderr, "bench_ledger: cannot drop schema %s: %s\n", name_.c_str(),
                   e.displayText().c_str());
    }
  }
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  // The DSN with this schema as search path (no space inside the value: Poco 1.11 splits
  // connection strings at every space).
  std::string dsn() const { return dsn_ + " options=-csearch_path=" + name_; }

  // A session of the bench's own on the database.
  Poco::Data::Session admin() const {
    Poco::Data::Session s("PostgreSQL", dsn_);
    s << "SET client_min_messages = warning", Poco::Data::Keywords::now;
    return s;
  }

 private:
  std::string dsn_;
  bool keep_;
  std::string name_;
};

// storage-postgres.so from this build, loaded as the daemon loads it, with a per-call deadline
// and statement timeout no charge under load comes near, and a connection for every client.
class LoadedStore {
 public:
  LoadedStore(const std::string& dsn, size_t clients) {
    char tmpl[] = "/tmp/tollgate-ledger-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    host_ = std::make_unique<tollgate::plugins::PluginHost>(dir_);
    tollgate::plugins::PluginSpec spec;
    spec.config_file = "ledger-bench";
    spec.file = std::filesystem::path(TOLLGATE_PLUGIN_BUILD_DIR) / "storage-postgres.so";
    spec.required = true;
    spec.deadline = std::chrono::seconds(30);
    spec.settings = {{"dsn", dsn},
                     {"pool_size", std::to_string(std::max<size_t>(clients, 8))},
                     {"statement_timeout_ms", "30000"}};
    // The plugin's own default unless WRITERS names another (to compare them).
    if (const char* w = std::getenv("WRITERS"); w != nullptr && *w != '\0') {
      spec.settings["writers"] = w;
    }
    if (const auto failure = host_->load(spec)) throw std::runtime_error(failure->message);
    store_ = std::make_unique<Store>(*host_->firstOfKind(TG_KIND_STORAGE));
  }
  ~LoadedStore() {
    store_.reset();
    host_.reset();  // shuts the plugin down, closing its connections
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  LoadedStore(const LoadedStore&) = delete;
  LoadedStore& operator=(const LoadedStore&) = delete;

  Store& store() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<tollgate::plugins::PluginHost> host_;
  std::unique_ptr<Store> store_;
};

// ---- scenarios -------------------------------------------------------------------------------

enum class Outcome { kApplied, kInsufficient, kError };

// One client thread's state and tallies.
struct Client {
  size_t index = 0;
  uint64_t ops = 0;  // for unique idempotency keys
  std::mt19937_64 rng;
  uint64_t applied = 0, insufficient = 0, errors = 0;
  std::vector<double> latency_ms;
  std::string first_error;
};

// One operation on one tenant's wallet.
using Operation = std::function<Outcome(Store&, Client&, const std::string& tenant)>;

struct Scenario {
  std::string name;
  size_t wallets = 0;         // its own tenants, each with one topped-up wallet
  int64_t micros_per_op = 0;  // what one applied operation takes from its wallet (the check)
  Operation op;
};

std::string tenantId(const Scenario& s, size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "tn_%s_%06zu", s.name.c_str(), i);
  return buf;
}

// A charge: one ledger apply of -1000 micros under a fresh idempotency key.
Outcome charge(Store& store, Client& c, const std::string& tenant) {
  const std::string key = "charge-" + std::to_string(c.index) + "-" + std::to_string(c.ops++);
  const auto r = store.applyLedger(tenant, kCurrency, key,
                                   {{.kind = TG_ENTRY_CHARGE,
                                     .amount_micros = -kChargeMicros,
                                     .reference = "",
                                     .description = ""}},
                                   nowMs());
  if (r.outcome == TG_APPLY_APPLIED) return Outcome::kApplied;
  if (r.outcome == TG_APPLY_INSUFFICIENT_FUNDS) return Outcome::kInsufficient;
  throw std::runtime_error("charge " + key + ": outcome " + std::to_string(r.outcome) +
                           " (a fresh key cannot have been applied before)");
}

// A reserve-then-capture pair: hold an estimate of twice the charge for a minute, then
// capture the actual charge (the rest goes back). One applied pair takes kChargeMicros.
Outcome reserveThenCapture(Store& store, Client& c, const std::string& tenant) {
  const std::string id = "hold-" + std::to_string(c.index) + "-" + std::to_string(c.ops++);
  const int64_t now = nowMs();
  const auto held = store.applyHold(tenant, {.action = TG_HOLD_RESERVE,
                                             .currency = kCurrency,
                                             .hold_id = id,
                                             .amount_micros = 2 * kChargeMicros,
                                             .kind = 0,
                                             .reference = "",
                                             .description = "",
                                             .expires_at_ms = now + 60000,
                                             .now_ms = now});
  if (held.outcome == TG_APPLY_INSUFFICIENT_FUNDS) return Outcome::kInsufficient;
  if (held.outcome != TG_APPLY_APPLIED) {
    throw std::runtime_error("reserve " + id + ": outcome " + std::to_string(held.outcome));
  }
  const auto captured = store.applyHold(tenant, {.action = TG_HOLD_CAPTURE,
                                                 .currency = kCurrency,
                                                 .hold_id = id,
                                                 .amount_micros = kChargeMicros,
                                                 .kind = TG_ENTRY_SMS_USAGE,
                                                 .reference = "",
                                                 .description = "",
                                                 .expires_at_ms = 0,
                                                 .now_ms = nowMs()});
  if (captured.outcome != TG_APPLY_APPLIED) {
    throw std::runtime_error("capture " + id + ": outcome " + std::to_string(captured.outcome));
  }
  return Outcome::kApplied;
}

std::vector<Scenario> scenarios(const Options& o) {
  std::vector<Scenario> all = {
      {.name = "many", .wallets = o.wallets, .micros_per_op = kChargeMicros, .op = charge},
      {.name = "hot", .wallets = 1, .micros_per_op = kChargeMicros, .op = charge},
      {.name = "holds",
       .wallets = o.wallets,
       .micros_per_op = kChargeMicros,
       .op = reserveThenCapture},
  };
  if (o.scenario == "all") return all;
  std::erase_if(all, [&](const Scenario& s) { return s.name != o.scenario; });
  return all;
}

// ---- setup, run, check -----------------------------------------------------------------------

// One tenant per wallet, its USD wallet, and one topup.
void setUp(Store& store, const Scenario& s, size_t threads) {
  const int64_t now = nowMs();
  parallelFor(s.wallets, threads, [&](size_t i) {
    const std::string id = tenantId(s, i);
    store.createTenant(
        {.id = id, .name = "Ledger bench " + id, .status = TG_TENANT_ACTIVE, .created_at_ms = now});
    store.createWallet({.tenant_id = id,
                        .currency = kCurrency,
                        .balance_micros = 0,
                        .credit_limit_micros = 0,
                        .created_at_ms = now});
    const auto r = store.applyLedger(id, kCurrency, "topup",
                                     {{.kind = TG_ENTRY_TOPUP,
                                       .amount_micros = kTopupMicros,
                                       .reference = "",
                                       .description = ""}},
                                     now);
    if (r.outcome != TG_APPLY_APPLIED) throw std::runtime_error("topup of " + id + " not applied");
  });
}

struct Totals {
  uint64_t applied = 0, insufficient = 0, errors = 0;
  double seconds = 0;
  std::vector<double> latency_ms;
  std::string first_error;
};

Totals run(Store& store, const Scenario& s, const Options& o) {
  std::vector<Client> clients(o.clients);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (size_t t = 0; t < o.clients; ++t) {
    Client& c = clients[t];
    c.index = t;
    c.rng.seed(std::random_device{}() ^ t);
    c.latency_ms.reserve(200000);
    threads.emplace_back([&store, &s, &stop, &c] {
      std::uniform_int_distribution<size_t> pick(0, s.wallets - 1);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string tenant = tenantId(s, pick(c.rng));
        const auto t0 = Clock::now();
        Outcome out = Outcome::kError;
        try {
          out = s.op(store, c, tenant);
        } catch (const std::exception& e) {
          if (c.first_error.empty()) c.first_error = e.what();
        }
        c.latency_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        switch (out) {
          case Outcome::kApplied:
            ++c.applied;
            break;
          case Outcome::kInsufficient:
            ++c.insufficient;
            break;
          case Outcome::kError:
            ++c.errors;
            break;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  stop = true;
  for (auto& th : threads) th.join();
  Totals t;
  t.seconds = secondsSince(start);  // includes the calls in flight at the stop
  for (auto& c : clients) {
    t.applied += c.applied;
    t.insufficient += c.insufficient;
    t.errors += c.errors;
    t.latency_ms.insert(t.latency_ms.end(), c.latency_ms.begin(), c.latency_ms.end());
    if (t.first_error.empty()) t.first_error = c.first_error;
  }
  return t;
}

// The plugin's group-commit counters (what /metrics shows as tollgate_plugin_counter_total).
struct Commits {
  int64_t commits = 0, units = 0, retries = 0;
};

Commits commits(Store& store) {
  const auto m = store.plugin().metrics();
  const auto get = [&m](const char* name) {
    const auto it = m.find(name);
    return it == m.end() ? int64_t{0} : it->second;
  };
  return {.commits = get("group_commits"),
          .units = get("group_commit_units"),
          .retries = get("tx_retries")};
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// Whether the scenario's wallets lost exactly what its applied operations took.
bool balancesMatch(Store& store, const Scenario& s, uint64_t applied, size_t threads) {
  std::atomic<int64_t> taken{0};
  std::atomic<size_t> missing{0};
  parallelFor(s.wallets, threads, [&](size_t i) {
    const auto w = store.wallet(tenantId(s, i), kCurrency);
    if (!w) {
      ++missing;
      return;
    }
    taken += kTopupMicros - w->balance_micros;
  });
  const int64_t want = static_cast<int64_t>(applied) * s.micros_per_op;
  if (missing > 0 || taken != want) {
    std::fprintf(stderr,
                 "bench_ledger: %s: wallets lost %lld micros, applied operations took %lld%s\n",
                 s.name.c_str(), static_cast<long long>(taken.load()), static_cast<long long>(want),
                 missing > 0 ? (", " + std::to_string(missing) + " wallets missing").c_str() : "");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  bool ok = true;
  try {
    const Schema schema(o.dsn, o.keep_schema);
    LoadedStore loaded(schema.dsn(), o.clients);
    Store& store = loaded.store();
    store.migrate();
    const std::vector<Scenario> list = scenarios(o);

    const auto setup_start = Clock::now();
    size_t wallets = 0;
    for (const Scenario& s : list) {
      setUp(store, s, o.clients);
      wallets += s.wallets;
    }
    std::printf("setup wallets=%zu threads=%zu setup_s=%.1f\n", wallets, o.clients,
                secondsSince(setup_start));
    std::fflush(stdout);

    for (const Scenario& s : list) {
      // Each run starts from a checkpoint (the setup's, or the run's before, dirty pages
      // written), as pgbench's does in ledger_bench.sh: no run pays for another's.
      try {
        Poco::Data::Session admin = schema.admin();
        admin << "CHECKPOINT", Poco::Data::Keywords::now;
      } catch (const Poco::Exception& e) {
        std::fprintf(stderr, "bench_ledger: no CHECKPOINT (%s): runs may pay for each other\n",
                     e.displayText().c_str());
      }
      const Commits before = commits(store);
      Totals t = run(store, s, o);
      const Commits after = commits(store);
      const int64_t n = after.commits - before.commits;
      const bool match = balancesMatch(store, s, t.applied, o.clients);
      ok = ok && match && t.errors == 0;
      std::printf(
          "scenario=%s clients=%zu wallets=%zu seconds=%d applied=%llu per_s=%.0f p50_ms=%.2f "
          "p99_ms=%.2f insufficient=%llu errors=%llu commits=%lld units_per_commit=%.1f "
          "tx_retries=%lld check=%s\n",
          s.name.c_str(), o.clients, s.wallets, o.seconds,
          static_cast<unsigned long long>(t.applied), static_cast<double>(t.applied) / t.seconds,
          percentile(t.latency_ms, 0.50), percentile(t.latency_ms, 0.99),
          static_cast<unsigned long long>(t.insufficient),
          static_cast<unsigned long long>(t.errors), static_cast<long long>(n),
          n > 0 ? static_cast<double>(after.units - before.units) / static_cast<double>(n) : 0.0,
          static_cast<long long>(after.retries - before.retries), match ? "PASS" : "FAIL");
      std::fflush(stdout);
      if (!t.first_error.empty()) {
        std::fprintf(stderr, "bench_ledger: %s: first error: %s\n", s.name.c_str(),
                     t.first_error.c_str());
      }
    }
  } catch (const Poco::Exception& e) {  // before std::exception, which it derives from
    std::fprintf(stderr, "bench_ledger: %s\n", e.displayText().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ledger: %s\n", e.what());
    return 1;
  }
  return ok ? 0 : 1;
}
