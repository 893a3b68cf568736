#include "ops/termination.hpp"

#include <pthread.h>

namespace tollgate::ops {

TerminationRequests::TerminationRequests() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this] { run(); });
}

void TerminationRequests::ready() {
  std::lock_guard lock(mu_);
  ready_ = true;
}

void TerminationRequests::wait() {
  std::unique_lock lock(mu_);
  requested_cv_.wait(lock, [this] { return requested_; });
}

void TerminationRequests::run() {
  for (;;) {
    int sig = 0;
    if (sigwait(&set_, &sig) != 0) continue;
    std::unique_lock lock(mu_);
    if (!ready_) {
      // Starting: end now, as the default action would have.
      signal(sig, SIG_DFL);
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      raise(sig);
      continue;
    }
    requested_ = true;
    requested_cv_.notify_all();
    return;  // later signals stay pending: the stop is under way
  }
}

}  // namespace tollgate::ops
