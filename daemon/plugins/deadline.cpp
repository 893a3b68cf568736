#include "plugins/deadline.hpp"

#include <limits>

namespace tollgate::plugins {
namespace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DeadlineExecutor::DeadlineExecutor(const LaneLimits& limits) {
  state_->limits = limits;
  state_->busy_since = std::make_unique<std::atomic<int64_t>[]>(limits.workers);
  for (size_t i = 0; i < limits.workers; ++i) threads_.emplace_back(work, state_, i);
}

DeadlineExecutor::DeadlineExecutor(size_t threads)
    : DeadlineExecutor(LaneLimits{.workers = threads,
                                  .tenant_workers = threads,
                                  .max_queued = std::numeric_limits<size_t>::max()}) {}

DeadlineExecutor::~DeadlineExecutor() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    state_->queue.clear();
  }
  state_->cv.notify_all();
  // A worker stuck in a plugin that never returns must not block exit: detach; it owns a
  // reference to the state it touches.
  for (auto& t : threads_) t.detach();
}

bool DeadlineExecutor::post(std::string_view tenant, std::function<void()> task, Wanted wanted) {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    if (s.queue.size() >= s.limits.max_queued) {
      s.refused.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    auto it = s.queued.find(tenant);
    const size_t mine = it == s.queued.end() ? 0 : it->second;
    if (s.limits.max_queued != std::numeric_limits<size_t>::max() &&
        mine >= std::max<size_t>(1, s.limits.max_queued / 2)) {
      s.refused.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (it == s.queued.end()) it = s.queued.emplace(std::string(tenant), 0).first;
    ++it->second;
    s.queue.push_back(
        Task{.tenant = std::string(tenant), .fn = std::move(task), .wanted = std::move(wanted)});
  }
  // Workers are alike: if one cannot take this task now (its tenant has its share), none can.
  s.cv.notify_one();
  return true;
}

size_t DeadlineExecutor::waiting() const {
  std::lock_guard lock(state_->mu);
  return state_->queue.size();
}

size_t DeadlineExecutor::stuck(std::chrono::steady_clock::duration threshold) const {
  const int64_t limit =
      nowNs() - std::chrono::duration_cast<std::chrono::nanoseconds>(threshold).count();
  size_t n = 0;
  for (size_t i = 0; i < state_->limits.workers; ++i) {
    const int64_t since = state_->busy_since[i].load(std::memory_order_relaxed);
    if (since != 0 && since < limit) ++n;
  }
  return n;
}

std::optional<DeadlineExecutor::Task> DeadlineExecutor::next(State& s) {
  auto unqueue = [&](const std::string& tenant) {
    auto it = s.queued.find(tenant);
    if (--it->second == 0) s.queued.erase(it);
  };
  for (auto it = s.queue.begin(); it != s.queue.end();) {
    if (it->wanted && !it->wanted->load()) {  // its caller has gone: never made
      s.skipped.fetch_add(1, std::memory_order_relaxed);
      unqueue(it->tenant);
      it = s.queue.erase(it);
      continue;
    }
    const auto running = s.running.find(it->tenant);
    if (running != s.running.end() && running->second >= s.limits.tenant_workers) {
      ++it;  // the tenant holds its share of the workers: others go first
      continue;
    }
    Task t = std::move(*it);
    s.queue.erase(it);
    unqueue(t.tenant);
    ++s.running[t.tenant];
    return t;
  }
  return std::nullopt;
}

void DeadlineExecutor::work(std::shared_ptr<State> state, size_t index) {
  State& s = *state;
  for (;;) {
    std::optional<Task> task;
    {
      std::unique_lock lock(s.mu);
      s.cv.wait(lock, [&] { return s.stopping || (task = next(s)).has_value(); });
      if (s.stopping) return;
    }
    s.busy_since[index].store(nowNs(), std::memory_order_relaxed);
    task->fn();
    s.busy_since[index].store(0, std::memory_order_relaxed);
    // A task of this tenant that waited for its share can run now: this worker takes it next.
    std::lock_guard lock(s.mu);
    auto it = s.running.find(task->tenant);
    if (--it->second == 0) s.running.erase(it);
  }
}

}  // namespace tollgate::plugins
