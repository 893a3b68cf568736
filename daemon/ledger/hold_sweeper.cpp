#include "ledger/hold_sweeper.hpp"

#include <spdlog/spdlog.h>

#include "tenancy/tenants.hpp"

namespace tollgate::ledger {
namespace {
constexpr uint32_t kPage = 500;
}  // namespace

HoldSweeper::HoldSweeper(storage::Store& store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval), thread_([this] { loop(); }) {}

HoldSweeper::~HoldSweeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t HoldSweeper::sweep() {
  uint64_t total = 0;
  const int64_t now = tenancy::nowMs();
  for (;;) {
    const uint32_t n = store_.expireHolds("", now, kPage);
    total += n;
    if (n < kPage) return total;
    std::lock_guard lock(mu_);
    if (stopping_) return total;
  }
}

void HoldSweeper::loop() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      if (const uint64_t n = sweep()) spdlog::info("released {} expired hold(s)", n);
    } catch (const std::exception& e) {
      spdlog::warn("hold sweep failed (retried in {} ms): {}", interval_.count(), e.what());
    }
    lock.lock();
  }
}

}  // namespace tollgate::ledger
