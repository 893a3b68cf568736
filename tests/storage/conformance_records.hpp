// Fixture of the ABI 1.1 conformance tests (numbers, Twilio accounts, records, opt-outs): two
// tenants, and builders of rows and log queries.
#pragma once

#include <Poco/Data/Statement.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "conformance_fixture.hpp"

namespace tollgate::testing {

class RecordsTest : public StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    createTenant("tn_a");
    createTenant("tn_b");
  }

  static storage::Number number(const std::string& tenant, const std::string& e164,
                                int64_t at = kT0) {
    return storage::Number{e164,
                           tenant,
                           "AC" + tenant,
                           "PN" + e164.substr(e164.empty() ? 0 : 1),
                           "voicemail",
                           "keywords",
                           R"({"greeting":"Hello"})",
                           at,
                           at};
  }

  static storage::Message message(const std::string& tenant, const std::string& sid,
                                  int64_t at = kT0, const std::string& status = "received",
                                  int32_t rank = 1, const std::string& from = "+14155550001",
                                  const std::string& to = "+14155550100") {
    return storage::Message{
        sid, tenant, TG_DIRECTION_INBOUND, from, to, "hello", status, rank, 0, 1, 0, "", at, at};
  }

  static storage::Call call(const std::string& tenant, const std::string& sid, int64_t at = kT0,
                            const std::string& status = "ringing", int32_t rank = 1,
                            const std::string& from = "+14155550001",
                            const std::string& to = "+14155550100") {
    return storage::Call{sid, tenant, TG_DIRECTION_INBOUND, from, to, status, rank, 0, "", at, at};
  }

  static storage::LogQuery query(uint32_t limit = 100) {
    storage::LogQuery q;
    q.limit = limit;
    return q;
  }

  // Every sid `list` returns for `q`, following the cursor page by page (page_size rows each).
  template <class Row>
  static std::vector<std::string> allPages(
      const std::function<std::vector<Row>(const storage::LogQuery&)>& list, storage::LogQuery q,
      uint32_t page_size, int* pages = nullptr) {
    std::vector<std::string> sids;
    q.limit = page_size;
    int n = 0;
    for (; n < 1000; ++n) {
      const std::vector<Row> page = list(q);
      EXPECT_LE(page.size(), page_size);
      for (const Row& r : page) sids.push_back(r.sid);
      if (page.size() < page_size) break;
      q.before_ms = page.back().created_at_ms;
      q.before_sid = page.back().sid;
    }
    if (pages != nullptr) *pages = n + 1;
    return sids;
  }

  // Sids of `rows` (created_at_ms, sid) that `keep` accepts, newest first, ties by sid
  // descending, byte-wise.
  static std::vector<std::string> expectedOrder(std::vector<std::pair<int64_t, std::string>> rows) {
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a > b; });
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.second);
    return out;
  }

  // The one integer `sql` (raw, on the test's own session) selects.
  int64_t count(const std::string& sql) {
    auto s = rawSession();
    Poco::Int64 n = -1;
    s << sql, Poco::Data::Keywords::into(n), Poco::Data::Keywords::now;
    return n;
  }
};

}  // namespace tollgate::testing
