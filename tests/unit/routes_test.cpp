// The route cache over the real SQLite storage plugin: numbers nobody owns, which anyone can
// make the gateway look up before a signature is checked, are remembered only up to a bound.
#include "numbers/routes.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/sqlite_store.hpp"

namespace tollgate::numbers {
namespace {
using std::chrono::milliseconds;

class RoutesTest : public tollgate::testing::SqliteStoreTest {
 protected:
  void SetUp() override {
    SqliteStoreTest::SetUp();
    if (HasFatalFailure()) return;
    attach("+14155550100");
  }
  void attach(const std::string& e164) {
    storage::Number n;
    n.e164 = e164;
    n.tenant_id = "tn_a";
    n.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    n.sms_plugin = "x";
    store_->putNumber(n);
  }
  static std::string unknownNumber(int i) { return "+1999" + std::to_string(1000000 + i); }
};

TEST_F(RoutesTest, UnknownNumbersAreRememberedOnlyUpToTheBound) {
  Routes routes(*store_, milliseconds(60000));
  const int n = static_cast<int>(Routes::kMaxUnknown) * 2 + 100;
  for (int i = 0; i < n; ++i) EXPECT_EQ(routes.lookup(unknownNumber(i)), nullptr);
  EXPECT_EQ(routes.cachedUnknown(), Routes::kMaxUnknown);
  // Owned numbers are cached apart, whatever the unknown ones did.
  auto route = routes.lookup("+14155550100");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->tenant.id, "tn_a");
  EXPECT_EQ(routes.cachedRoutes(), 1u);
  // A number attached after it was looked up as unknown is found once invalidated.
  attach(unknownNumber(0));
  EXPECT_EQ(routes.lookup(unknownNumber(0)), nullptr) << "still cached as unknown";
  routes.invalidate(unknownNumber(0));
  EXPECT_NE(routes.lookup(unknownNumber(0)), nullptr);
  EXPECT_EQ(routes.cachedUnknown(), Routes::kMaxUnknown - 1);
}

TEST_F(RoutesTest, ExpiredUnknownEntriesMakeRoomForNewOnes) {
  Routes routes(*store_, milliseconds(0));  // every entry expires at once
  for (int i = 0; i < static_cast<int>(Routes::kMaxUnknown) + 10; ++i) {
    routes.lookup(unknownNumber(i));
  }
  EXPECT_LE(routes.cachedUnknown(), 11u) << "expired entries were swept when the cache filled";
}

// The country that prices a number: libphonenumber's region, by area code inside +1; a range
// the plan does not know falls to the calling code's main country; non-geographic codes none.
TEST(RegionOfTest, NamesTheCountryOfANumber) {
  EXPECT_EQ(numbers::regionOf("+14155550100"), "US");
  EXPECT_EQ(numbers::regionOf("+14165550100"), "CA");
  EXPECT_EQ(numbers::regionOf("+447400123456"), "GB");
  EXPECT_EQ(numbers::regionOf("+447911123456"), "GG") << "Guernsey shares +44";
  EXPECT_EQ(numbers::regionOf("+447700900123"), "GB") << "Ofcom's drama range";
  EXPECT_EQ(numbers::regionOf("+33612345678"), "FR");
  EXPECT_EQ(numbers::regionOf("+80012345678"), std::nullopt);
  EXPECT_EQ(numbers::regionOf("14155550100"), std::nullopt);
  EXPECT_EQ(numbers::regionOf(""), std::nullopt);
}

}  // namespace
}  // namespace tollgate::numbers
