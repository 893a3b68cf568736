// Calls into plugins that must answer within a deadline (voice, SMS, billing, pricing).
//
// Each such plugin has a lane of its own (Plugin::lane()): a fixed set of worker threads and a
// bounded queue. The caller waits until the deadline while a worker makes the call. A call that
// overruns keeps its worker until it returns, but the caller has already moved on with a
// fallback; its late result is dropped. C offers no way to cancel a thread safely, so bounds
// are what keep a stuck plugin from hurting the rest (ADR 0003):
// - a plugin's workers are its own, so one plugin stuck leaves the others' calls alone;
// - one tenant's calls hold at most LaneLimits::tenant_workers of them, so a tenant whose calls
//   hang leaves workers for the other tenants of the same plugin;
// - a full queue (or a tenant with half of it) refuses a call at once, and the caller falls
//   back without waiting for the deadline;
// - a queued call whose caller has gone is dropped, never made.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "plugins/plugin_host.hpp"

namespace tollgate::plugins {

class DeadlineExecutor {
 public:
  // Whether a queued task's caller still waits for it (false: drop it).
  using Wanted = std::shared_ptr<std::atomic<bool>>;

  explicit DeadlineExecutor(const LaneLimits& limits);
  // `threads` workers, an unbounded queue, no tenant limit.
  explicit DeadlineExecutor(size_t threads);
  ~DeadlineExecutor();
  DeadlineExecutor(const DeadlineExecutor&) = delete;
  DeadlineExecutor& operator=(const DeadlineExecutor&) = delete;

  // Queues `task` on behalf of `tenant`. False, and nothing queued, when the queue is full or
  // the tenant already has half of it waiting.
  bool post(std::string_view tenant, std::function<void()> task, Wanted wanted = nullptr);
  void post(std::function<void()> task) { post({}, std::move(task)); }

  // Workers that have been in one task for longer than `threshold`.
  size_t stuck(std::chrono::steady_clock::duration threshold) const;
  // Calls waiting for a worker (dropped ones included until a worker passes them).
  size_t waiting() const;
  uint64_t refused() const { return state_->refused.load(std::memory_order_relaxed); }
  uint64_t skipped() const { return state_->skipped.load(std::memory_order_relaxed); }

 private:
  struct Task {
    std::string tenant;
    std::function<void()> fn;
    Wanted wanted;
  };
  // Shared with the workers, so a worker still stuck in a plugin at exit outlives the executor.
  struct State {
    LaneLimits limits;
    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<Task> queue;
    std::map<std::string, size_t, std::less<>> running, queued;  // by tenant
    bool stopping = false;
    // Per worker: when its current task began (steady clock, ns), 0 when idle.
    std::unique_ptr<std::atomic<int64_t>[]> busy_since;
    std::atomic<uint64_t> refused{0}, skipped{0};
  };
  static void work(std::shared_ptr<State> state, size_t index);
  // The first queued task a worker may run, dropping abandoned ones on the way; under mu.
  static std::optional<Task> next(State& s);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::vector<std::thread> threads_;
};

// Runs `fn` (which returns a default-constructible R holding a `tg_status status` member)
// against `plugin`'s deadline, on `ex` on behalf of `tenant`. Returns nullopt on overrun or
// when the lane refused the call; accounts the call either way. The call counts as in flight
// until fn returns, even after the caller moved on; once the plugin is shutting down fn is not
// run and the status is TG_ERR_UNAVAILABLE.
template <class R, class Fn>
std::optional<R> callWithDeadline(DeadlineExecutor& ex, Plugin& plugin, std::string_view tenant,
                                  Fn fn) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> result = promise->get_future();
  auto wanted = std::make_shared<std::atomic<bool>>(true);
  const bool queued = ex.post(
      tenant,
      [promise, calls = plugin.callsInFlight(), fn = std::move(fn)]() mutable {
        const CallInFlight call(calls);
        if (!call) {
          R refused{};
          refused.status = TG_ERR_UNAVAILABLE;
          promise->set_value(std::move(refused));
          return;
        }
        try {
          promise->set_value(fn());
        } catch (...) {  // the host's own code threw: hand it to the caller, not to the worker
          promise->set_exception(std::current_exception());
        }
      },
      wanted);
  if (!queued) {
    plugin.stats().refused.fetch_add(1, std::memory_order_relaxed);
    plugin.record(TG_ERR_UNAVAILABLE, Clock::now() - start);
    return std::nullopt;
  }
  if (result.wait_until(start + plugin.deadline()) != std::future_status::ready) {
    wanted->store(false);
    plugin.record(TG_ERR_DEADLINE, Clock::now() - start);
    return std::nullopt;
  }
  R r = result.get();
  plugin.record(r.status, Clock::now() - start);
  return r;
}

// The same, on the plugin's own lane.
template <class R, class Fn>
std::optional<R> callWithDeadline(Plugin& plugin, std::string_view tenant, Fn fn) {
  return callWithDeadline<R>(plugin.lane(), plugin, tenant, std::move(fn));
}

}  // namespace tollgate::plugins
