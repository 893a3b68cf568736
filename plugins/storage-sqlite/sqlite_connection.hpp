// storage-sqlite's group-commit writer connection: the SQLite C API directly, with every
// statement prepared once and kept (SQLITE_PREPARE_PERSISTENT), so that a batch of units costs
// no parsing. Poco::Data prepares a statement on every execution.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sql_exec.hpp"

namespace tollgate::storage_sqlite {

// Copies the WAL back into the database file on a thread of its own. SQLite would otherwise
// run that checkpoint inside the commit that grows the WAL past 1000 pages, and every request
// waiting on that commit (a whole group of them) would wait for it too: a 5-10 ms stall every
// few hundred webhooks. A PASSIVE checkpoint runs beside the writer without blocking it. But
// the WAL only starts over from its beginning once a checkpoint has copied all of it, which one
// running beside a busy writer never does; so after each background checkpoint the writer
// copies what was committed meanwhile (a few hundred pages at most), and its next commit starts
// the WAL over. Should the background fall behind, the writer does it all at kRestartPages.
class Checkpointer {
 public:
  using Warn = std::function<void(const std::string&)>;
  Checkpointer(std::string path, int64_t busy_timeout_ms, Warn warn);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // After each commit of the writer, on its thread: the WAL now holds `pages` pages.
  void walGrew(sqlite3* writer, int pages);

  static constexpr int kPages = 1000;  // SQLite's own autocheckpoint threshold
  static constexpr int kRestartPages = 3 * kPages;

 private:
  void run();

  const std::string path_;
  const int64_t busy_timeout_ms_;
  const Warn warn_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;
  bool stopping_ = false;
  std::atomic<bool> asked_{false};      // a checkpoint was asked for and has not run yet
  std::atomic<bool> caught_up_{false};  // one ran: the writer is to copy the rest
  std::thread thread_;
};

class SqliteConnection : public storage_sql::SqlExec {
 public:
  // Opens `path` with the settings of every connection of the plugin (busy_timeout, WAL,
  // synchronous, foreign keys). Throws storage_sql::DbFailure. With a checkpointer, the
  // connection never checkpoints itself but tells it how large the WAL grew.
  SqliteConnection(const std::string& path, int64_t busy_timeout_ms, const std::string& synchronous,
                   std::shared_ptr<Checkpointer> checkpointer = nullptr);
  ~SqliteConnection() override;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  storage_sql::Rows query(std::string_view sql,
                          const std::vector<storage_sql::Param>& params) override;
  void limitWaits(int64_t ms) override;

 private:
  sqlite3_stmt* prepared(std::string_view sql);
  [[noreturn]] void raise(int rc, std::string_view what) const;

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  std::shared_ptr<Checkpointer> checkpointer_;
};

}  // namespace tollgate::storage_sqlite
