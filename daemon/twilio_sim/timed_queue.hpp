// A fixed pool of threads running tasks when they fall due: the simulator's status steps and
// callback retries wait here, not in a sleeping thread each.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace tollgate::twilio_sim {

class TimedQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TimedQueue(size_t threads);
  ~TimedQueue();  // stop()
  TimedQueue(const TimedQueue&) = delete;
  TimedQueue& operator=(const TimedQueue&) = delete;

  // Runs `task` on a pool thread once `delay` has passed. Tasks due at the same time run in the
  // order they were added (but may overlap on different threads). A task's exception is logged
  // and dropped. After stop(), does nothing.
  void after(std::chrono::milliseconds delay, std::function<void()> task);

  // Drops the tasks not started, waits for the running ones and joins the threads. Idempotent;
  // not from a pool thread.
  void stop();

  // Tasks waiting (for tests and stats).
  size_t pending();

 private:
  struct Entry {
    Clock::time_point due;
    uint64_t seq;  // ties broken by insertion order
    std::function<void()> task;
    bool operator>(const Entry& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;
  uint64_t next_seq_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tollgate::twilio_sim
