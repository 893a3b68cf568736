// The plugin host's loader: every rejection has its own test and its own message, logged as
// exactly one line naming the file; the host keeps going after a rejection.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "support/sanitizers.hpp"
#if defined(TOLLGATE_TEST_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

#include "plugins/deadline.hpp"
#include "plugins/plugin_host.hpp"
#include "plugins/vtables.hpp"
#include "storage/store.hpp"

namespace tollgate::plugins {
namespace {
namespace fs = std::filesystem;

const fs::path kDir = TEST_PLUGIN_DIR;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }

  PluginSpec spec(const std::string& file, std::map<std::string, std::string> settings = {}) {
    PluginSpec s;
    s.config_file = "plugins.d/" + file + ".ini";
    s.file = kDir / (file + ".so");
    s.settings = std::move(settings);
    return s;
  }

  std::vector<std::string> errorLines() {
    std::vector<std::string> out;
    std::istringstream in(log_.str());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("error ", 0) == 0) out.push_back(line.substr(6));
    }
    return out;
  }

  // Loads `s`, expects rejection `reason` with exactly one log line that names the file and
  // contains `text`, and checks the host still loads a good plugin afterwards.
  void expectRejected(const PluginSpec& s, Rejection reason, const std::string& text) {
    auto failure = host_.load(s);
    ASSERT_TRUE(failure.has_value()) << "plugin was accepted: " << s.file;
    EXPECT_EQ(failure->reason, reason) << failure->message;
    EXPECT_EQ(failure->file, s.file.string());
    const auto lines = errorLines();
    ASSERT_EQ(lines.size(), 1u) << log_.str();
    EXPECT_EQ(lines[0], failure->message);
    EXPECT_NE(lines[0].find("plugin " + s.file.string() + " rejected: "), std::string::npos)
        << lines[0];
    EXPECT_NE(lines[0].find(text), std::string::npos) << lines[0];
    EXPECT_EQ(host_.all().size(), 0u);
    EXPECT_FALSE(host_.load(spec("test-raw-good")).has_value()) << log_.str();
  }

  std::ostringstream log_;
  PluginHost host_{fs::temp_directory_path().string()};
};

TEST_F(LoaderTest, LoadsAnSdkPluginAndAppliesDeclaredDefaults) {
  ASSERT_FALSE(host_.load(spec("test-sms")).has_value()) << log_.str();
  Plugin* p = host_.find("test-sms");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->version(), "1.0.0");
  EXPECT_EQ(p->kind(), TG_KIND_SMS_KEYWORDS);
  EXPECT_NE(log_.str().find("plugin test-sms 1.0.0 (sms-keywords) loaded from"), std::string::npos);
}

TEST_F(LoaderTest, LoadsAPluginWrittenInPlainC) {
  ASSERT_FALSE(host_.load(spec("test-raw-good")).has_value()) << log_.str();
  EXPECT_NE(host_.find("raw-test"), nullptr);
}

TEST_F(LoaderTest, RejectsMissingFile) {
  expectRejected(spec("no-such-plugin"), Rejection::kMissingFile, "file not found");
}

TEST_F(LoaderTest, RejectsAFileThatIsNotASharedObject) {
  const fs::path fake = fs::temp_directory_path() / "tollgate-not-elf.so";
  std::ofstream(fake) << std::string(4096, '#') << "\nthis is a text file, not an ELF object\n";
  PluginSpec s = spec("x");
  s.file = fake;
  expectRejected(s, Rejection::kNotSharedObject, "not a loadable shared object: ");
  EXPECT_NE(errorLines()[0].find("invalid ELF header"), std::string::npos) << errorLines()[0];
}

TEST_F(LoaderTest, RejectsASharedObjectWithoutTheEntrySymbol) {
  expectRejected(spec("test-raw-no-entry"), Rejection::kNoEntrySymbol,
                 "no entry symbol tollgate_plugin_entry_v1");
}

TEST_F(LoaderTest, RejectsADifferentAbiMajor) {
  expectRejected(spec("test-raw-abi-major"), Rejection::kAbiMajorMismatch,
                 "built for plugin ABI 2." + std::to_string(TG_ABI_MINOR) +
                     ", this tollgated speaks ABI 1." + std::to_string(TG_ABI_MINOR) +
                     "; rebuild the plugin");
}

TEST_F(LoaderTest, RejectsANewerAbiMinor) {
  expectRejected(spec("test-raw-abi-minor"), Rejection::kAbiMinorNewer,
                 "built for plugin ABI 1." + std::to_string(TG_ABI_MINOR + 1) +
                     ", newer than this tollgated's 1." + std::to_string(TG_ABI_MINOR) +
                     "; upgrade tollgated");
}

TEST_F(LoaderTest, RejectsAVtableTooShortForTheRequiredCallbacks) {
  expectRejected(spec("test-raw-short-vtable"), Rejection::kStructTooShort,
                 "storage vtable is 8 bytes, too short for required callback 'migrate' (ABI 1.0)");
}

TEST_F(LoaderTest, NamesARequiredAbi10CallbackThatIsNull) {
  expectRejected(spec("test-raw-storage-null-ledger-list"), Rejection::kStructTooShort,
                 "storage vtable lacks required callback 'ledger_list' (ABI 1.0)");
}

TEST_F(LoaderTest, NamesARequiredAbi11CallbackThatIsNull) {
  expectRejected(spec("test-raw-storage-null-message-insert"), Rejection::kStructTooShort,
                 "storage vtable lacks required callback 'message_insert' (ABI 1.1)");
}

TEST_F(LoaderTest, LoadsAStoragePluginBuiltForAnOlderMinorButTheStoreSeesWhatItLacks) {
  ASSERT_FALSE(host_.load(spec("test-raw-storage-v10")).has_value()) << log_.str();
  storage::Store store(*host_.find("raw-storage-v10"));
  ASSERT_NE(store.missingCallback(), nullptr);
  EXPECT_STREQ(store.missingCallback()->name, "number_put");
  EXPECT_EQ(store.missingCallback()->since_minor, 1);
}

TEST_F(LoaderTest, ReadsConfigKeysWithTheStrideOfThePluginThatDeclaredThem) {
  LoadFailure failure;
  auto in = host_.inspect(kDir / "test-raw-config-stride.so", &failure);
  ASSERT_TRUE(in.has_value()) << failure.message;
  ASSERT_EQ(in->config_keys.size(), 2u);
  EXPECT_EQ(std::string(in->config_keys[1].name.data, in->config_keys[1].name.size), "retries");
  EXPECT_EQ(in->config_keys[1].type, TG_CONFIG_INT);
  EXPECT_EQ(in->config_keys[1].required, 1);
  expectRejected(spec("test-raw-config-stride"), Rejection::kBadConfig,
                 "settings.retries: required (count)");
  log_.str("");
  EXPECT_FALSE(host_.load(spec("test-raw-config-stride", {{"retries", "5"}})).has_value())
      << log_.str();
}

TEST_F(LoaderTest, RejectsADuplicateId) {
  ASSERT_FALSE(host_.load(spec("test-sms")).has_value());
  auto failure = host_.load(spec("test-sms-duplicate"));
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->reason, Rejection::kDuplicateId);
  const auto lines = errorLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(
                "test-sms-duplicate.so rejected: duplicate id 'test-sms', already loaded from " +
                (kDir / "test-sms.so").string()),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(host_.all().size(), 1u);
}

TEST_F(LoaderTest, RejectsAnInitThatFails) {
  expectRejected(spec("test-sms", {{"fail_init", "true"}}), Rejection::kInitFailed,
                 "init failed with status 1: settings.api_token is required");
}

TEST_F(LoaderTest, RejectsAnInitThatThrowsAcrossTheAbi) {
  expectRejected(spec("test-init-throws"), Rejection::kInitThrew,
                 "init threw an exception across the ABI: boom in init");
}

TEST_F(LoaderTest, RejectsSettingsTheDescriptorDoesNotDeclare) {
  expectRejected(spec("test-sms", {{"replly", "x"}}), Rejection::kBadConfig,
                 "settings.replly: unknown key for plugin test-sms (known: reply, sleep_ms, "
                 "init_sleep_ms, fail_init, action, gate_dir, leak_at_shutdown)");
}

TEST_F(LoaderTest, RejectsSettingsOfTheWrongType) {
  expectRejected(spec("test-sms", {{"sleep_ms", "soon"}}), Rejection::kBadConfig,
                 "settings.sleep_ms: 'soon' is not an integer");
}

// ---- calls: counters and deadlines ----

struct SmsResult {
  tg_status status = TG_ERR_INTERNAL;
  std::string reply;
  std::string error;
};

SmsResult callSms(Plugin& p, const std::string& body) {
  SmsResult r;
  tg_sms_inbound msg{};
  msg.struct_size = sizeof msg;
  msg.body = tg_str{body.data(), body.size()};
  tg_call_ctx ctx{sizeof ctx, {"tn_1", 4}, {"rq", 2}, 0};
  tg_error err{};
  r.status = p.vtable<tg_sms_vtable>()->on_inbound(p.instance(), &ctx, &msg,
                                                   {&r,
                                                    [](void* c, const tg_sms_decision* d) {
                                                      static_cast<SmsResult*>(c)->reply.assign(
                                                          d->reply_body.data, d->reply_body.size);
                                                    }},
                                                   &err);
  r.error = err.message;
  return r;
}

TEST_F(LoaderTest, CountsCallsAndErrorsAndStopsExceptionsAtTheBoundary) {
  ASSERT_FALSE(host_.load(spec("test-sms")).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(2);
  auto ok = callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "hi"); });
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, TG_OK);
  EXPECT_EQ(ok->reply, "pong hi");
  auto bad = callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "throw"); });
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, TG_ERR_INTERNAL);
  EXPECT_EQ(bad->error, "unhandled exception: asked to throw");
  EXPECT_EQ(p.stats().calls.load(), 2u);
  EXPECT_EQ(p.stats().errors.load(), 1u);
  EXPECT_EQ(p.stats().overruns.load(), 0u);
  EXPECT_EQ(p.metrics()["answers"], 1);
}

// The plugin asks for a setting and bumps a counter with names no host can copy: the host's
// exception must stop in the host function, not unwind through the plugin's C frames.
TEST_F(LoaderTest, HostFunctionsStopExceptionsAtTheBoundary) {
  ASSERT_FALSE(host_.load(spec("test-raw-host-throws")).has_value()) << log_.str();
  Plugin& p = *host_.find("raw-host-throws");
  SmsResult r;
  EXPECT_NO_THROW(r = callSms(p, "hi"));
  EXPECT_EQ(r.status, TG_OK);
  EXPECT_EQ(r.reply, "config_get status 7");  // TG_ERR_INTERNAL
  EXPECT_EQ(p.stats().host_exceptions.load(), 2u);
  EXPECT_NE(log_.str().find("host config_get: exception stopped at the plugin boundary"),
            std::string::npos)
      << log_.str();
}

// A row the host cannot copy and a row shorter than ABI 1.0's: each makes the call an error
// that names the operation, and neither exception nor over-read crosses into the plugin.
TEST_F(LoaderTest, StorageSinksStopExceptionsAndRefuseShortRows) {
  ASSERT_FALSE(host_.load(spec("test-raw-storage-rows")).has_value()) << log_.str();
  storage::Store store(*host_.find("raw-storage-rows"));
  try {
    store.tenant("tn_1");
    ADD_FAILURE() << "tenant() returned";
  } catch (const storage::StorageError& e) {
    EXPECT_EQ(e.status(), TG_ERR_INTERNAL);
    EXPECT_NE(std::string(e.what()).find("storage tenant_get: the host could not take a row"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(store.plugin().stats().host_exceptions.load(), 1u);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a StorageError: " << e.what();
  }
  try {
    store.tenants("", 10);
    ADD_FAILURE() << "tenants() returned";
  } catch (const storage::StorageError& e) {
    EXPECT_EQ(e.status(), TG_ERR_INTERNAL);
    EXPECT_NE(std::string(e.what()).find("storage tenant_list: plugin delivered a tg_tenant_row "
                                         "of 24 bytes; this host needs 56"),
              std::string::npos)
        << e.what();
  }
}

// A plugin built against the ABI 1.0 headers as released (tests/abi/golden): every later host
// loads it, passes it its settings, calls it and shuts it down.
TEST_F(LoaderTest, KeepsLoadingTheGoldenPluginBuiltAgainstAbi10) {
  ASSERT_FALSE(host_.load(spec("golden-sms-1-0", {{"prefix", "hi"}})).has_value()) << log_.str();
  Plugin& p = *host_.find("golden-sms-1-0");
  const SmsResult r = callSms(p, "there");
  EXPECT_EQ(r.status, TG_OK) << r.error;
  EXPECT_EQ(r.reply, "hi there");
  EXPECT_EQ(p.metrics()["golden_answers"], 1);
  host_.shutdownAll();
  EXPECT_NE(log_.str().find("[golden-sms-1-0] golden plugin 1.0 shut down"), std::string::npos)
      << log_.str();
}

TEST_F(LoaderTest, ShutdownRunsForAPluginWrittenInPlainC) {
  ASSERT_FALSE(host_.load(spec("test-raw-good")).has_value()) << log_.str();
  host_.shutdownAll();
  EXPECT_NE(log_.str().find("[raw-test] raw plugin shut down"), std::string::npos) << log_.str();
}

// test-sms holds a "wait..." message inside the plugin until the test creates gate/release
// (tests/plugins/test_sms.cpp); these wait for it to be inside, without sleeping.
class GatedCall {
 public:
  GatedCall() : dir_(fs::temp_directory_path() / ("tollgate-gate-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~GatedCall() {
    release();
    fs::remove_all(dir_);
  }
  std::string dir() const { return dir_.string(); }
  bool waitEntered() const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!fs::exists(dir_ / "entered") && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return fs::exists(dir_ / "entered");
  }
  void release() const { std::ofstream(dir_ / "release") << "1"; }

 private:
  fs::path dir_;
};

// A call that overran its deadline is still inside the plugin: shutdown waits for it to return.
TEST_F(LoaderTest, ShutdownWaitsForACallStillInFlight) {
  GatedCall gate;
  PluginSpec s = spec("test-sms", {{"gate_dir", gate.dir()}});
  s.deadline = std::chrono::milliseconds(50);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(2);
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "wait late"); }));
  ASSERT_TRUE(gate.waitEntered());
  // Released while shutdownAll is (most likely) already waiting; in any order, shutdown must
  // come after the answer.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate.release();
  });
  host_.shutdownAll();
  releaser.join();
  const std::string log = log_.str();
  const auto answered = log.find("[test-sms] answered wait late");
  const auto shut_down = log.find("[test-sms] test-sms shut down");
  ASSERT_NE(answered, std::string::npos) << log;
  ASSERT_NE(shut_down, std::string::npos) << log;
  EXPECT_LT(answered, shut_down) << log;
}

// Still busy after the grace: not shut down, one line names it, and no new call gets in.
TEST_F(LoaderTest, ShutdownLeavesAPluginStillBusyAfterTheGraceAlone) {
  GatedCall gate;
  PluginSpec s = spec("test-sms", {{"gate_dir", gate.dir()}});
  s.deadline = std::chrono::milliseconds(50);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(2);
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "wait late"); }));
  ASSERT_TRUE(gate.waitEntered());
  host_.shutdownAll(std::chrono::milliseconds(100));
  EXPECT_NE(log_.str().find("warning plugin test-sms: 1 call(s) still in flight 100 ms after "
                            "shutdown began; not shutting it down"),
            std::string::npos)
      << log_.str();
  auto refused = callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "refused"); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, TG_ERR_UNAVAILABLE);
  // Let the late call leave the plugin before the fixture unloads it.
  gate.release();
  EXPECT_EQ(
      p.callsInFlight()->waitIdle(std::chrono::steady_clock::now() + std::chrono::seconds(30)), 0u);
  EXPECT_EQ(log_.str().find("test-sms shut down"), std::string::npos) << log_.str();
  EXPECT_EQ(log_.str().find("answered refused"), std::string::npos) << log_.str();
#if defined(TOLLGATE_TEST_ASAN)
  // Never shut down, by design: its instance is left for good, not leaked by mistake.
  __lsan_ignore_object(p.instance());
#endif
}

// A lane whose queue is full refuses the next call at once: the caller falls back without
// waiting for the deadline.
TEST_F(LoaderTest, AFullLaneRefusesACallAtOnce) {
  GatedCall gate;
  PluginSpec s = spec("test-sms", {{"gate_dir", gate.dir()}});
  s.deadline = std::chrono::milliseconds(20000);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(LaneLimits{.workers = 1, .tenant_workers = 1, .max_queued = 1});
  auto held = std::async(std::launch::async, [&] {
    return callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "wait held"); });
  });
  ASSERT_TRUE(gate.waitEntered());
  auto queued = std::async(std::launch::async, [&] {
    return callWithDeadline<SmsResult>(ex, p, "tn_b", [&] { return callSms(p, "queued"); });
  });
  // The queue's one place is taken (polled: the call above queues on another thread).
  for (int i = 0; i < 2000 && ex.waiting() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(ex.waiting(), 1u);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_c", [&] { return callSms(p, "refused"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "refused only at the deadline";
  EXPECT_GE(ex.refused(), 1u);
  EXPECT_GE(p.stats().refused.load(), 1u);
  gate.release();
  ASSERT_TRUE(held.get().has_value());
  const auto later = queued.get();
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->status, TG_OK);
  EXPECT_EQ(log_.str().find("answered refused"), std::string::npos) << log_.str();
}

// A queued call whose caller gave up at its deadline is dropped, never made.
TEST_F(LoaderTest, AQueuedCallWhoseCallerHasGoneIsNeverMade) {
  GatedCall gate;
  PluginSpec s = spec("test-sms", {{"gate_dir", gate.dir()}});
  s.deadline = std::chrono::milliseconds(100);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(LaneLimits{.workers = 1, .tenant_workers = 1, .max_queued = 8});
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "wait late"); }));
  ASSERT_TRUE(gate.waitEntered());
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "gone"); }));
  gate.release();
  for (int i = 0; i < 2000 && ex.skipped() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ex.skipped(), 1u);
  // The worker is free again and serves the next call.
  const auto next = callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "next"); });
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(log_.str().find("answered gone"), std::string::npos) << log_.str();
}

// One tenant's calls that hang hold at most tenant_workers workers: another tenant's call is
// made by a worker left free, though the hung tenant's next call was queued first.
// Workers in one call for longer than kStuckAfter deadlines are counted.
TEST_F(LoaderTest, OneTenantsHungCallsLeaveAWorkerForAnother) {
  GatedCall gate;
  PluginSpec s = spec("test-sms", {{"gate_dir", gate.dir()}});
  s.deadline = std::chrono::milliseconds(200);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(LaneLimits{.workers = 2, .tenant_workers = 1, .max_queued = 8});
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "wait 1"); }));
  ASSERT_TRUE(gate.waitEntered());
  // Tenant A's next call waits for A's share of the workers, not for the free worker, and
  // reaches its deadline there.
  EXPECT_FALSE(callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "wait 2"); }));
  const auto other =
      callWithDeadline<SmsResult>(ex, p, "tn_b", [&] { return callSms(p, "other tenant"); });
  ASSERT_TRUE(other.has_value()) << "tenant B waited behind tenant A's hung calls";
  EXPECT_EQ(other->status, TG_OK);
  EXPECT_EQ(log_.str().find("answered wait 2"), std::string::npos) << log_.str();
  size_t stuck = 0;
  for (int i = 0; i < 2000 && stuck == 0; ++i) {
    stuck = ex.stuck(Plugin::kStuckAfter * s.deadline);
    if (stuck == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stuck, 1u);
  // Let the hung call leave the plugin before the gate's folder goes.
  gate.release();
  EXPECT_EQ(
      p.callsInFlight()->waitIdle(std::chrono::steady_clock::now() + std::chrono::seconds(30)), 0u);
}

TEST_F(LoaderTest, AnOverrunningCallReturnsAtItsDeadline) {
  PluginSpec s = spec("test-sms", {{"sleep_ms", "1500"}});
  s.deadline = std::chrono::milliseconds(100);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(2);
  const auto start = std::chrono::steady_clock::now();
  auto r = callWithDeadline<SmsResult>(ex, p, "tn_a", [&] { return callSms(p, "slow"); });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.has_value());
  EXPECT_GE(waited, std::chrono::milliseconds(100));
  EXPECT_LT(waited, std::chrono::milliseconds(1000));
  EXPECT_EQ(p.stats().overruns.load(), 1u);
  EXPECT_EQ(p.stats().errors.load(), 1u);
}

}  // namespace
}  // namespace tollgate::plugins
