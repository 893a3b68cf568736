// SIGINT, SIGTERM and SIGQUIT, taken by one thread of their own. Constructed first thing in
// main(), before any other thread exists, it blocks them in every thread the daemon starts
// (each inherits the mask), so none of them can be ended by one while it works. Until
// ready() a signal ends the daemon at once, as the signal's default action does (a stop
// during a long migration must not wait for it); from ready() on it is a request to stop
// cleanly, which wait() returns on. Without this, a signal in the moment between /readyz
// answering 200 and main()'s wait, or one delivered to a thread of ours, ended the daemon with
// status 143 instead of a clean stop.
#pragma once

#include <signal.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace tollgate::ops {

class TerminationRequests {
 public:
  TerminationRequests();
  // The thread waits in sigwait until the process ends, on state it shares (not this object).
  ~TerminationRequests() { thread_.detach(); }
  TerminationRequests(const TerminationRequests&) = delete;
  TerminationRequests& operator=(const TerminationRequests&) = delete;

  // From now on a signal asks for a clean stop.
  void ready();
  // Returns once a signal came after ready().
  void wait();

 private:
  struct State {
    sigset_t set;
    std::mutex mu;
    std::condition_variable requested_cv;
    bool ready = false;
    bool requested = false;
  };
  static void run(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::thread thread_;
};

}  // namespace tollgate::ops
