// Calls into plugins that must answer within a deadline (voice, SMS, billing, pricing).
//
// The call runs on one of a fixed set of worker threads while the caller waits until the
// deadline. A call that overruns keeps its worker until it returns, but the caller has already
// moved on with a fallback; its late result is dropped. C offers no way to cancel a thread
// safely, so a bounded pool is what keeps a stuck plugin from exhausting the process: when every
// worker is stuck, new calls wait in the queue and overrun too, which the counters show.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "plugins/plugin_host.hpp"

namespace tollgate::plugins {

class DeadlineExecutor {
 public:
  explicit DeadlineExecutor(size_t threads);
  ~DeadlineExecutor();
  DeadlineExecutor(const DeadlineExecutor&) = delete;
  DeadlineExecutor& operator=(const DeadlineExecutor&) = delete;

  void post(std::function<void()> task);

 private:
  // Shared with the workers, so a worker still stuck in a plugin at exit outlives the executor.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;
    bool stopping = false;
  };
  static void work(std::shared_ptr<State> state);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::vector<std::thread> threads_;
};

// Runs `fn` (which returns a default-constructible R holding a `tg_status status` member)
// against `plugin`'s deadline. Returns nullopt on overrun; accounts the call either way. The
// call counts as in flight until fn returns, even after the caller moved on; once the plugin
// is shutting down fn is not run and the status is TG_ERR_UNAVAILABLE.
template <class R, class Fn>
std::optional<R> callWithDeadline(DeadlineExecutor& ex, Plugin& plugin, Fn fn) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> result = promise->get_future();
  ex.post([promise, calls = plugin.callsInFlight(), fn = std::move(fn)]() mutable {
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
  });
  if (result.wait_until(start + plugin.deadline()) != std::future_status::ready) {
    plugin.record(TG_ERR_DEADLINE, Clock::now() - start);
    return std::nullopt;
  }
  R r = result.get();
  plugin.record(r.status, Clock::now() - start);
  return r;
}

}  // namespace tollgate::plugins
