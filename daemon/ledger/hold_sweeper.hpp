// Releases holds past their expiry (abi/storage.h, hold_expire) every `interval`, in pages, on
// a thread of its own. Safe with several daemons sweeping one storage: the plugin expires each
// hold once, under its wallet's lock. A late capture finds an expired hold expired whether or
// not a sweep came first; the sweeper only gives the money back sooner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "storage/store.hpp"

namespace tollgate::ledger {

class HoldSweeper {
 public:
  HoldSweeper(storage::Store& store, std::chrono::milliseconds interval);
  ~HoldSweeper();  // stops and joins the thread
  HoldSweeper(const HoldSweeper&) = delete;
  HoldSweeper& operator=(const HoldSweeper&) = delete;

  // One sweep now, on the caller's thread: every due hold, a page at a time. Returns how many
  // it expired.
  uint64_t sweep();

 private:
  void loop();

  storage::Store& store_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate::ledger
