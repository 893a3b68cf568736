// The plugin host: loads plugin shared objects with Boost.DLL, checks their descriptors,
// starts them, and accounts for every call (count, errors, deadline overruns).
#pragma once

#include <tollgate/abi/tollgate.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tollgate::net {
class HttpClient;
}

namespace tollgate::plugins {

// The bounds of a plugin's lane of workers (plugins/deadline.hpp), for plugins called with a
// deadline (voice, SMS, billing, pricing).
struct LaneLimits {
  size_t workers = 4;         // calls into the plugin at once
  size_t tenant_workers = 3;  // of those, calls of one tenant at once
  size_t max_queued = 64;     // calls waiting for a worker (a tenant may have half of them)
};

class DeadlineExecutor;

// What the configuration says about one plugin (one plugins.d/*.ini file).
struct PluginSpec {
  std::string config_file;                      // the plugins.d file it came from, for messages
  std::filesystem::path file;                   // the .so, absolute
  bool required = false;                        // the daemon refuses to start without it
  std::map<std::string, std::string> settings;  // [settings]
  std::chrono::milliseconds deadline{2000};     // per-call deadline
  LaneLimits lane;
};

// Counters kept for every plugin from the moment it is loaded.
struct PluginStats {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> errors{0};           // calls that returned a status other than TG_OK
  std::atomic<uint64_t> overruns{0};         // calls that passed their deadline
  std::atomic<uint64_t> refused{0};          // calls its lane refused (queue or tenant share full)
  std::atomic<uint64_t> exceptions{0};       // reserved: the SDK stops exceptions; raw ABI plugins
                                             // that throw are a bug the host cannot recover from
  std::atomic<uint64_t> host_exceptions{0};  // exceptions of the host's own functions and sinks,
                                             // stopped before they reached the plugin
};

class Plugin;

// The calls in flight into one plugin, so that shutdown() never runs under one (abi/plugin.h).
// Shared with the workers that make the calls: a call that returns late touches only this.
class CallsInFlight {
 public:
  bool enter();  // false once closed: the call must not be made
  void leave();
  void close();  // refuses every later enter()
  // Waits until no call is in flight or `until` passes; returns how many are still in flight.
  size_t waitIdle(std::chrono::steady_clock::time_point until);

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  size_t count_ = 0;
  bool closed_ = false;
};

// One call into a plugin, in flight while this lives. Test it: false means the plugin is
// shutting down and must not be called.
class CallInFlight {
 public:
  explicit CallInFlight(std::shared_ptr<CallsInFlight> calls)
      : calls_(calls->enter() ? std::move(calls) : nullptr) {}
  ~CallInFlight() {
    if (calls_) calls_->leave();
  }
  CallInFlight(const CallInFlight&) = delete;
  CallInFlight& operator=(const CallInFlight&) = delete;
  explicit operator bool() const { return calls_ != nullptr; }

 private:
  std::shared_ptr<CallsInFlight> calls_;
};

// The host-side context handed to one plugin (tg_host_api.host_ctx).
struct HostContext {
  Plugin* plugin = nullptr;
  std::string state_dir;
  std::map<std::string, std::string> settings;  // with declared defaults applied
  std::mutex metrics_mu;
  std::map<std::string, int64_t> metrics;
  net::HttpClient* http = nullptr;  // the host's, shared by every plugin
};

// A loaded and started plugin. Never unloaded while the process lives.
class Plugin {
 public:
  Plugin();
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const std::string& id() const { return id_; }
  const std::string& version() const { return version_; }
  tg_plugin_kind kind() const { return descriptor_->kind; }
  uint16_t abiMinor() const { return descriptor_->abi_minor; }  // the ABI it was built for
  const std::filesystem::path& file() const { return file_; }
  void* instance() const { return instance_; }
  template <class VTable>
  const VTable* vtable() const {
    return static_cast<const VTable*>(descriptor_->vtable);
  }
  std::chrono::milliseconds deadline() const { return deadline_; }
  PluginStats& stats() { return stats_; }
  const PluginStats& stats() const { return stats_; }
  std::map<std::string, int64_t> metrics();
  // Every call into the plugin holds a CallInFlight made from this.
  const std::shared_ptr<CallsInFlight>& callsInFlight() const { return calls_; }

  // Accounts for one call that took `elapsed` and returned `status`.
  void record(tg_status status, std::chrono::steady_clock::duration elapsed);

  // The workers that call it with a deadline (plugins/deadline.hpp), started when it was
  // loaded; every kind has one but storage, which is called on the caller's thread.
  DeadlineExecutor& lane();
  // Its workers that have been in one call for longer than kStuckAfter deadlines.
  static constexpr int kStuckAfter = 3;
  size_t stuckWorkers();
  // Calls its lane dropped because their caller had gone.
  uint64_t skippedCalls();

 private:
  friend class PluginHost;
  std::string id_, version_;
  std::filesystem::path file_;
  const tg_plugin_descriptor* descriptor_ = nullptr;
  void* instance_ = nullptr;  // may be null: a plugin without state
  bool shut_down_ = false;
  std::shared_ptr<CallsInFlight> calls_ = std::make_shared<CallsInFlight>();
  std::chrono::milliseconds deadline_{2000};
  std::unique_ptr<DeadlineExecutor> lane_;
  PluginStats stats_;
  tg_host_api api_{};
  std::unique_ptr<HostContext> ctx_;
  std::shared_ptr<void> library_;  // keeps the shared object mapped
};

// Why a plugin was rejected. Each reason has its own log message (see plugin_host.cpp).
enum class Rejection {
  kMissingFile,
  kNotSharedObject,
  kNoEntrySymbol,
  kNullDescriptor,
  kAbiMajorMismatch,
  kAbiMinorNewer,
  kStructTooShort,
  kUnknownKind,
  kInvalidId,
  kDuplicateId,
  kBadConfig,
  kInitFailed,
  kInitThrew,
};

struct LoadFailure {
  std::string file;
  Rejection reason;
  std::string message;  // the whole log line: names the file and the reason
};

// Descriptor facts readable without starting the plugin (for --check-config).
struct Inspection {
  std::string id, version;
  tg_plugin_kind kind = 0;
  std::vector<tg_config_key> config_keys;  // strings point into the mapped plugin
};

class PluginHost {
 public:
  explicit PluginHost(std::string state_dir);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads, checks and starts one plugin. On rejection logs one error line naming the file and
  // the reason and returns it; the host goes on.
  std::optional<LoadFailure> load(const PluginSpec& spec);

  // Loads and checks without init, to read the descriptor (never unloaded either).
  std::optional<Inspection> inspect(const std::filesystem::path& file, LoadFailure* failure);

  Plugin* find(const std::string& id);
  Plugin* firstOfKind(tg_plugin_kind kind);
  std::vector<Plugin*> all();

  // Refuses new calls to every plugin, waits up to `grace` (in all) for the calls in flight to
  // return, then calls shutdown() of every started plugin, newest first. A plugin still busy
  // then is not shut down (one log line names it) and its code stays mapped for good.
  static constexpr std::chrono::milliseconds kShutdownGrace{5000};
  void shutdownAll(std::chrono::milliseconds grace = kShutdownGrace);

 private:
  struct Checked;
  std::optional<Checked> open(const std::filesystem::path& file, LoadFailure* failure);

  std::string state_dir_;
  std::unique_ptr<net::HttpClient> http_;  // tg_host_api.http_request of every plugin
  std::mutex mu_;
  std::vector<std::unique_ptr<Plugin>> plugins_;
  std::vector<std::shared_ptr<void>> inspected_;  // libraries mapped by inspect()
};

const char* kindName(tg_plugin_kind kind);

}  // namespace tollgate::plugins
