// Host code that a plugin calls (the tg_host_api functions, the sinks the host passes) runs with
// the plugin's C frames below it on the stack. An exception escaping it would unwind through
// them, which is undefined behaviour, so every such entry point runs its body through
// stopAtBoundary: it catches everything, logs one line, counts it and returns a fallback.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <string_view>
#include <type_traits>

namespace tollgate::plugins {

// Called from a catch block: logs the exception being handled and counts it in `counter` (may
// be null). Never throws, even if logging fails.
inline void noteStoppedException(std::string_view where, std::atomic<uint64_t>* counter) noexcept {
  if (counter != nullptr) counter->fetch_add(1, std::memory_order_relaxed);
  try {
    try {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("{}: exception stopped at the plugin boundary: {}", where, e.what());
    } catch (...) {
      spdlog::error("{}: exception of unknown type stopped at the plugin boundary", where);
    }
  } catch (...) {  // the log line is dropped; nothing else can be done here
  }
}

// Runs fn(); if it throws, notes the exception and returns `fallback` instead.
template <class Fn, class R = std::invoke_result_t<Fn&>>
requires(!std::is_void_v<R>) R
    stopAtBoundary(std::string_view where, std::atomic<uint64_t>* counter, R fallback, Fn&& fn)
noexcept {
  try {
    return fn();
  } catch (...) {
    noteStoppedException(where, counter);
    return fallback;
  }
}

// Runs fn(), which returns nothing; if it throws, notes the exception. Returns false then.
template <class Fn>
requires std::is_void_v<std::invoke_result_t<Fn&>>
bool stopAtBoundary(std::string_view where, std::atomic<uint64_t>* counter, Fn&& fn) noexcept {
  try {
    fn();
    return true;
  } catch (...) {
    noteStoppedException(where, counter);
    return false;
  }
}

}  // namespace tollgate::plugins
