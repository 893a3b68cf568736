#include "ops/termination.hpp"

#include <pthread.h>

namespace tollgate::ops {

TerminationRequests::TerminationRequests() {
  sigemptyset(&state_->set);
  sigaddset(&state_->set, SIGINT);
  sigaddset(&state_->set, SIGTERM);
  sigaddset(&state_->set, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &state_->set, nullptr);
  thread_ = std::thread([state = state_] { run(state); });
}

void TerminationRequests::ready() {
  std::lock_guard lock(state_->mu);
  state_->ready = true;
}

void TerminationRequests::wait() {
  std::unique_lock lock(state_->mu);
  state_->requested_cv.wait(lock, [this] { return state_->requested; });
}

void TerminationRequests::run(const std::shared_ptr<State>& state) {
  for (;;) {
    int sig = 0;
    if (sigwait(&state->set, &sig) != 0) continue;
    std::unique_lock lock(state->mu);
    if (!state->ready) {
      // Starting: end now, as the default action would have.
      signal(sig, SIG_DFL);
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      raise(sig);
      continue;
    }
    state->requested = true;
    state->requested_cv.notify_all();
    return;  // later signals stay pending: the stop is under way
  }
}

}  // namespace tollgate::ops
