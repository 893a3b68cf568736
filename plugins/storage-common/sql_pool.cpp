#include "sql_pool.hpp"

#include <utility>

namespace tollgate::storage_sql {

ConnectionPool::ConnectionPool(Opener opener, size_t max_size)
    : opener_(std::move(opener)), max_size_(max_size == 0 ? 1 : max_size) {}

ConnectionPool::Lease::Lease(ConnectionPool* pool, Poco::Data::Session session)
    : pool_(pool), session_(std::move(session)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), session_(std::move(other.session_)), discard_(other.discard_) {
  other.session_.reset();
}

ConnectionPool::Lease::~Lease() {
  if (session_) pool_->release(std::move(*session_), discard_);
}

ConnectionPool::Lease ConnectionPool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  const bool ready =
      freed_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < max_size_; });
  if (!ready) throw PoolTimeout("no database connection became free in time");
  if (!idle_.empty()) {
    Poco::Data::Session s = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(s));
  }
  ++open_;
  lock.unlock();
  // Opening takes a network round trip or a file lock: done outside the mutex.
  try {
    return Lease(this, opener_());
  } catch (...) {
    lock.lock();
    --open_;
    freed_.notify_one();
    throw;
  }
}

void ConnectionPool::release(Poco::Data::Session session, bool discard) {
  bool keep = !discard;
  if (keep) {
    try {
      keep = session.isConnected();
    } catch (...) {
      keep = false;
    }
  }
  if (!keep) {
    try {
      session.close();
    } catch (...) {
      // Closing a broken connection may fail too; it is dropped either way.
    }
  }
  std::lock_guard lock(mu_);
  if (keep) {
    idle_.push_back(std::move(session));
  } else {
    --open_;
  }
  freed_.notify_one();
}

}  // namespace tollgate::storage_sql
