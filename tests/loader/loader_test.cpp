// The plugin host's loader: every rejection has its own test and its own message, logged as
// exactly one line naming the file; the host keeps going after a rejection.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "plugins/deadline.hpp"
#include "plugins/plugin_host.hpp"

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
                 "built for plugin ABI 2.1, this tollgated speaks ABI 1.1; rebuild the plugin");
}

TEST_F(LoaderTest, RejectsANewerAbiMinor) {
  expectRejected(spec("test-raw-abi-minor"), Rejection::kAbiMinorNewer,
                 "built for plugin ABI 1.2, newer than this tollgated's 1.1; upgrade tollgated");
}

TEST_F(LoaderTest, RejectsAVtableTooShortForTheRequiredCallbacks) {
  expectRejected(spec("test-raw-short-vtable"), Rejection::kStructTooShort,
                 "storage vtable is 8 bytes or has null callbacks");
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
                 "init_sleep_ms, fail_init, action, gate_dir)");
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
  auto ok = callWithDeadline<SmsResult>(ex, p, [&] { return callSms(p, "hi"); });
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, TG_OK);
  EXPECT_EQ(ok->reply, "pong hi");
  auto bad = callWithDeadline<SmsResult>(ex, p, [&] { return callSms(p, "throw"); });
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, TG_ERR_INTERNAL);
  EXPECT_EQ(bad->error, "unhandled exception: asked to throw");
  EXPECT_EQ(p.stats().calls.load(), 2u);
  EXPECT_EQ(p.stats().errors.load(), 1u);
  EXPECT_EQ(p.stats().overruns.load(), 0u);
  EXPECT_EQ(p.metrics()["answers"], 1);
}

TEST_F(LoaderTest, AnOverrunningCallReturnsAtItsDeadline) {
  PluginSpec s = spec("test-sms", {{"sleep_ms", "1500"}});
  s.deadline = std::chrono::milliseconds(100);
  ASSERT_FALSE(host_.load(s).has_value());
  Plugin& p = *host_.find("test-sms");
  DeadlineExecutor ex(2);
  const auto start = std::chrono::steady_clock::now();
  auto r = callWithDeadline<SmsResult>(ex, p, [&] { return callSms(p, "slow"); });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.has_value());
  EXPECT_GE(waited, std::chrono::milliseconds(100));
  EXPECT_LT(waited, std::chrono::milliseconds(1000));
  EXPECT_EQ(p.stats().overruns.load(), 1u);
  EXPECT_EQ(p.stats().errors.load(), 1u);
}

}  // namespace
}  // namespace tollgate::plugins
