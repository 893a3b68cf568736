#include "plugins/deadline.hpp"

namespace tollgate::plugins {

DeadlineExecutor::DeadlineExecutor(size_t threads) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back(work, state_);
}

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

void DeadlineExecutor::post(std::function<void()> task) {
  {
    std::lock_guard lock(state_->mu);
    state_->queue.push_back(std::move(task));
  }
  state_->cv.notify_one();
}

void DeadlineExecutor::work(std::shared_ptr<State> state) {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(state->mu);
      state->cv.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
      if (state->stopping) return;
      task = std::move(state->queue.front());
      state->queue.pop_front();
    }
    task();
  }
}

}  // namespace tollgate::plugins
