// Subaccount tokens as two daemons sharing one storage see them: each daemon caches what it
// decrypted, for at most its TTL; a reload bypasses the cache; a recheck (what the webhook gate
// asks for when a signature fails) reads storage again at most once a second.
#include "twilio/accounts.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/sqlite_store.hpp"

namespace tollgate::twilio {
namespace {
using std::chrono::milliseconds;

constexpr const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kSub = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

class AccountsTest : public tollgate::testing::SqliteStoreTest {
 protected:
  // One daemon's view of the accounts (each daemon has its own cache).
  Accounts daemon(milliseconds ttl) {
    return Accounts(*store_, TokenVault::fromHex(kKey), "", "", ttl);
  }
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
