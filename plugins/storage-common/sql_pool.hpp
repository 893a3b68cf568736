// A small fixed-capacity pool of database sessions.
//
// Not Poco's SessionPool: the store needs to open connections with engine-specific setup
// (pragmas, session settings), to wait for a free connection no longer than the caller's
// deadline, and to throw away a connection after the engine reported it broken.
#pragma once

#include <Poco/Data/Session.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

namespace tollgate::storage_sql {

// Thrown by acquire() when no connection became free in time.
class PoolTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConnectionPool {
 public:
  // Opens and configures one connection; throws (a Poco exception) on failure.
  using Opener = std::function<Poco::Data::Session()>;

  ConnectionPool(Opener opener, size_t max_size);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection lent to one caller; goes back to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Poco::Data::Session& session() { return *session_; }
    // The connection is in an unknown state: close it rather than lend it again.
    void discard() { discard_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, Poco::Data::Session session);
    ConnectionPool* pool_;
    std::optional<Poco::Data::Session> session_;
    bool discard_ = false;
  };

  // Lends an idle connection, opens a new one while fewer than max_size exist, or waits up to
  // `wait` for one to come back (then throws PoolTimeout). Opener failures propagate.
  Lease acquire(std::chrono::milliseconds wait);

  size_t maxSize() const { return max_size_; }

 private:
  void release(Poco::Data::Session session, bool discard);

  Opener opener_;
  const size_t max_size_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Poco::Data::Session> idle_;
  size_t open_ = 0;  // idle plus lent plus being opened
};

}  // namespace tollgate::storage_sql
