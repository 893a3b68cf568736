#include "twilio_sim/timed_queue.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace tollgate::twilio_sim {

TimedQueue::TimedQueue(size_t threads) {
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

TimedQueue::~TimedQueue() { stop(); }

void TimedQueue::after(std::chrono::milliseconds delay, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push(Entry{.due = Clock::now() + delay, .seq = next_seq_++, .task = std::move(task)});
  }
  cv_.notify_one();
}

void TimedQueue::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_ = {};
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

size_t TimedQueue::pending() {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void TimedQueue::work() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    // A copy: the entry may move (or go) while this thread waits.
    const Clock::time_point due = queue_.top().due;
    if (Clock::now() < due) {
      // Also woken by a new task (possibly due sooner) or by stop(): look again.
      cv_.wait_until(lock, due);
      continue;
    }
    // priority_queue::top() is const; the entry is popped right after, so moving is safe.
    std::function<void()> task = std::move(const_cast<Entry&>(queue_.top()).task);
    queue_.pop();
    // Another thread may now wait for the next entry.
    if (!queue_.empty()) cv_.notify_one();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("timed task failed: {}", e.what());
    } catch (...) {
      spdlog::error("timed task failed with an unknown exception");
    }
    lock.lock();
  }
}

}  // namespace tollgate::twilio_sim
