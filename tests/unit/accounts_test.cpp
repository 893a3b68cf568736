// Subaccount tokens as two daemons sharing one storage see them: each daemon caches what it
// decrypted, for at most its TTL; a reload bypasses the cache; a recheck (what the webhook gate
// asks for when a signature fails) reads storage again at most once a second.
#include "twilio/accounts.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "plugins/plugin_host.hpp"
#include "storage/store.hpp"

namespace tollgate::twilio {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kSub = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tollgate-accounts-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_ = std::make_unique<plugins::PluginHost>(dir_.string());
    plugins::PluginSpec spec;
    spec.config_file = "accounts-test.ini";
    spec.file = fs::path(TOLLGATE_PLUGIN_BUILD_DIR) / "storage-sqlite.so";
    spec.settings = {{"path", "accounts.db"}, {"synchronous", "normal"}};
    const auto failure = host_->load(spec);
    ASSERT_FALSE(failure.has_value()) << failure->message;
    store_ = std::make_unique<storage::Store>(*host_->firstOfKind(TG_KIND_STORAGE));
    store_->migrate();
    store_->createTenant(
        {.id = "tn_a", .name = "A", .status = TG_TENANT_ACTIVE, .created_at_ms = 1});
  }
  void TearDown() override {
    store_.reset();
    host_.reset();
    fs::remove_all(dir_);
  }
  // One daemon's view of the accounts (each daemon has its own cache).
  Accounts daemon(milliseconds ttl) {
    return Accounts(*store_, TokenVault::fromHex(kKey), "", "", ttl);
  }

  fs::path dir_;
  std::unique_ptr<plugins::PluginHost> host_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(AccountsTest, ATokenIsCachedForItsTtlAndNotAtAllWithoutOne) {
  Accounts x = daemon(milliseconds(600000));
  Accounts cached = daemon(milliseconds(600000));
  Accounts uncached = daemon(milliseconds(0));
  x.put("tn_a", kSub, "token-one-0123456789", "", 1);
  EXPECT_EQ(cached.authToken(kSub), "token-one-0123456789");
  EXPECT_EQ(uncached.authToken(kSub), "token-one-0123456789");
  x.put("tn_a", kSub, "token-two-0123456789", "", 2);
  EXPECT_EQ(x.authToken(kSub), "token-two-0123456789") << "put refreshes its own daemon's cache";
  EXPECT_EQ(cached.authToken(kSub), "token-one-0123456789") << "within the TTL: the cache";
  EXPECT_EQ(uncached.authToken(kSub), "token-two-0123456789") << "TTL 0: read every time";
}

TEST_F(AccountsTest, AReloadBypassesTheCacheAndRefreshesIt) {
  Accounts x = daemon(milliseconds(600000));
  Accounts y = daemon(milliseconds(600000));
  x.put("tn_a", kSub, "token-one-0123456789", "", 1);
  EXPECT_EQ(y.authToken(kSub), "token-one-0123456789");
  x.put("tn_a", kSub, "token-two-0123456789", "", 2);
  EXPECT_EQ(y.authToken(kSub, Freshness::kReload), "token-two-0123456789");
  EXPECT_EQ(y.authToken(kSub), "token-two-0123456789") << "the reload refreshed the cache";
}

TEST_F(AccountsTest, ARecheckReadsStorageAtMostOnceAnInterval) {
  Accounts x = daemon(milliseconds(600000));
  Accounts y = daemon(milliseconds(600000));
  x.put("tn_a", kSub, "token-one-0123456789", "", 1);
  EXPECT_EQ(y.authToken(kSub), "token-one-0123456789");
  x.put("tn_a", kSub, "token-two-0123456789", "", 2);
  // Read just now: a recheck (anyone can cause one with a bad signature) keeps the cache.
  EXPECT_EQ(y.authToken(kSub, Freshness::kRecheck), "token-one-0123456789");
  // Once the interval has passed, it reads again. (Sleeping guarantees elapsed time here; it
  // synchronises with nothing.)
  std::this_thread::sleep_for(kRecheckInterval + milliseconds(10));
  EXPECT_EQ(y.authToken(kSub, Freshness::kRecheck), "token-two-0123456789");
}

TEST_F(AccountsTest, AnUnknownAccountHasNoToken) {
  Accounts y = daemon(milliseconds(600000));
  EXPECT_EQ(y.authToken(kSub), std::nullopt);
  EXPECT_EQ(y.authToken(kSub, Freshness::kReload), std::nullopt);
}

}  // namespace
}  // namespace tollgate::twilio
