#include "plugins/plugin_host.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <cstring>

#include "net/http_client.hpp"
#include "plugins/boundary.hpp"
#include "plugins/deadline.hpp"
#include "plugins/settings.hpp"
#include "plugins/vtables.hpp"

namespace tollgate::plugins {
namespace fs = std::filesystem;

namespace {

// Size a descriptor must have for every field ABI 1.0 requires (init included).
constexpr size_t kMinDescriptorSize = offsetof(tg_plugin_descriptor, init) + sizeof(void*);

// Every callback ABI 1.0 requires must be in the vtable and set. One a later minor requires
// must be set if the vtable holds it; a vtable that ends before it belongs to a plugin of an
// older minor, which the host may still load (whoever needs the callback checks for it).
std::optional<std::string> vtableProblem(tg_plugin_kind kind, const void* vtable) {
  uint32_t size = 0;
  std::memcpy(&size, vtable, sizeof size);
  for (const CallbackSlot& slot : requiredCallbacks(kind)) {
    if (!holds(size, slot)) {
      if (slot.since_minor > 0) continue;
      return fmt::format("{} vtable is {} bytes, too short for required callback '{}' (ABI {}.0)",
                         kindName(kind), size, slot.name, TG_ABI_MAJOR);
    }
    if (!isSet(vtable, slot)) {
      return fmt::format("{} vtable lacks required callback '{}' (ABI {}.{})", kindName(kind),
                         slot.name, TG_ABI_MAJOR, slot.since_minor);
    }
  }
  return std::nullopt;
}

// Boost wraps dlerror()'s text in its own words; keep only dlerror's, which users can search.
std::string dlerrorText(std::string_view what) {
  constexpr std::string_view kMarker = "dlerror system message: ";
  const auto start = what.find(kMarker);
  const auto end = what.rfind("):");
  if (start == std::string_view::npos || end == std::string_view::npos || end < start) {
    return std::string(what);
  }
  return std::string(what.substr(start + kMarker.size(), end - start - kMarker.size()));
}

std::string_view view(tg_str s) {
  return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size};
}

// The tg_host_api functions. Each stops its own exceptions (boundary.hpp) and counts them in
// the plugin's host_exceptions.
std::atomic<uint64_t>* hostExceptions(HostContext* c) {
  return &c->plugin->stats().host_exceptions;
}

void hostLog(void* ctx, int32_t level, tg_str message) {
  auto* c = static_cast<HostContext*>(ctx);
  stopAtBoundary("host log", hostExceptions(c), [&] {
    const auto lvl = level >= TG_LOG_ERROR  ? spdlog::level::err
                     : level == TG_LOG_WARN ? spdlog::level::warn
                     : level == TG_LOG_INFO ? spdlog::level::info
                                            : spdlog::level::debug;
    spdlog::log(lvl, "[{}] {}", c->plugin->id(), view(message));
  });
}

tg_status hostConfigGet(void* ctx, tg_str key, tg_str* out) {
  auto* c = static_cast<HostContext*>(ctx);
  return stopAtBoundary("host config_get", hostExceptions(c), TG_ERR_INTERNAL, [&] {
    auto it = c->settings.find(std::string(view(key)));
    if (it == c->settings.end()) return TG_ERR_NOT_FOUND;
    *out = tg_str{it->second.data(), it->second.size()};
    return TG_OK;
  });
}

int64_t hostNow(void* ctx) {
  return stopAtBoundary("host now_unix_ms", hostExceptions(static_cast<HostContext*>(ctx)),
                        int64_t{0}, [] {
                          return std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                              .count();
                        });
}

void hostMetricAdd(void* ctx, tg_str name, int64_t delta) {
  auto* c = static_cast<HostContext*>(ctx);
  stopAtBoundary("host metric_add", hostExceptions(c), [&] {
    std::lock_guard lock(c->metrics_mu);
    c->metrics[std::string(view(name))] += delta;
  });
}

tg_str hostStateDir(void* ctx) {
  auto* c = static_cast<HostContext*>(ctx);
  return stopAtBoundary("host state_dir", hostExceptions(c), tg_str{nullptr, 0}, [&] {
    return tg_str{c->state_dir.data(), c->state_dir.size()};
  });
}

void writeError(tg_error* err, std::string_view message) {
  if (err == nullptr) return;
  const size_t n = std::min(message.size(), sizeof err->message - 1);
  std::memcpy(err->message, message.data(), n);
  err->message[n] = '\0';
}

// Without a call (in init) and without a timeout, a request gets this long.
constexpr std::chrono::milliseconds kHttpDefaultTimeout{10000};

// The request's deadline on the steady clock: the earlier of the call's deadline (wall clock)
// and the request's own timeout.
std::chrono::steady_clock::time_point httpDeadline(const tg_call_ctx* ctx, int64_t timeout_ms) {
  const auto now = std::chrono::steady_clock::now();
  auto deadline =
      now + (timeout_ms > 0 ? std::chrono::milliseconds(timeout_ms) : kHttpDefaultTimeout);
  if (ctx != nullptr && TG_HAS_FIELD(tg_call_ctx, ctx->struct_size, deadline_unix_ms) &&
      ctx->deadline_unix_ms > 0) {
    const auto wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    const auto call_deadline = now + std::chrono::milliseconds(ctx->deadline_unix_ms - wall_now);
    deadline = timeout_ms > 0 ? std::min(deadline, call_deadline) : call_deadline;
  }
  return deadline;
}

tg_status hostHttpRequest(void* host_ctx, const tg_call_ctx* ctx, const tg_http_request* request,
                          tg_http_response_sink sink, tg_error* err) {
  auto* c = static_cast<HostContext*>(host_ctx);
  return stopAtBoundary("host http_request", hostExceptions(c), TG_ERR_INTERNAL, [&] {
    if (request == nullptr || sink.fn == nullptr ||
        !TG_HAS_FIELD(tg_http_request, request->struct_size, timeout_ms) ||
        (request->header_count > 0 && request->headers == nullptr)) {
      writeError(err, "http_request: a request of ABI 1.5 or newer and a sink are required");
      return TG_ERR_INVALID_ARGUMENT;
    }
    net::HttpRequest r{.method = std::string(view(request->method)),
                       .url = std::string(view(request->url)),
                       .headers = {},
                       .body = std::string(view(request->body)),
                       .deadline = httpDeadline(ctx, request->timeout_ms)};
    r.headers.reserve(request->header_count);
    for (size_t i = 0; i < request->header_count; ++i) {
      r.headers.emplace_back(view(request->headers[i].name), view(request->headers[i].value));
    }
    const auto started = std::chrono::steady_clock::now();
    try {
      const net::HttpResponse resp = c->http->send(r);
      spdlog::debug("[{}] {} {} -> {} ({} ms)", c->plugin->id(), r.method,
                    r.url.substr(0, r.url.find('?')), resp.status,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count());
      std::vector<tg_kv> headers;
      headers.reserve(resp.headers.size());
      for (const auto& [name, value] : resp.headers) {
        headers.push_back(tg_kv{.name = tg_str{name.data(), name.size()},
                                .value = tg_str{value.data(), value.size()}});
      }
      const tg_http_response out{.struct_size = sizeof(tg_http_response),
                                 .status = resp.status,
                                 .headers = headers.data(),
                                 .header_count = headers.size(),
                                 .body = tg_str{resp.body.data(), resp.body.size()}};
      sink.fn(sink.ctx, &out);
      return TG_OK;
    } catch (const net::HttpError& e) {
      writeError(err, e.what());
      switch (e.failure()) {
        case net::HttpFailure::kInvalid:
          return TG_ERR_INVALID_ARGUMENT;
        case net::HttpFailure::kNotSent:
          return TG_ERR_UNAVAILABLE;
        case net::HttpFailure::kOutcomeUnknown:
          return TG_ERR_OUTCOME_UNKNOWN;
      }
      return TG_ERR_INTERNAL;
    }
  });
}

}  // namespace

const char* kindName(tg_plugin_kind kind) {
  switch (kind) {
    case TG_KIND_STORAGE:
      return "storage";
    case TG_KIND_VOICE:
      return "voice";
    case TG_KIND_SMS_KEYWORDS:
      return "sms-keywords";
    case TG_KIND_BILLING:
      return "billing";
    case TG_KIND_PRICING:
      return "pricing";
    default:
      return "unknown";
  }
}

std::map<std::string, int64_t> Plugin::metrics() {
  std::lock_guard lock(ctx_->metrics_mu);
  return ctx_->metrics;
}

Plugin::Plugin() = default;
Plugin::~Plugin() = default;

DeadlineExecutor& Plugin::lane() {
  if (!lane_) throw std::logic_error("plugin " + id_ + " is not called through a lane");
  return *lane_;
}

size_t Plugin::stuckWorkers() { return lane_ ? lane_->stuck(kStuckAfter * deadline_) : 0; }

uint64_t Plugin::skippedCalls() { return lane_ ? lane_->skipped() : 0; }

void Plugin::record(tg_status status, std::chrono::steady_clock::duration elapsed) {
  stats_.calls.fetch_add(1, std::memory_order_relaxed);
  if (status != TG_OK) stats_.errors.fetch_add(1, std::memory_order_relaxed);
  if (elapsed > deadline_) stats_.overruns.fetch_add(1, std::memory_order_relaxed);
}

struct PluginHost::Checked {
  std::shared_ptr<void> library;
  const tg_plugin_descriptor* descriptor;
};

PluginHost::PluginHost(std::string state_dir)
    : state_dir_(std::move(state_dir)), http_(std::make_unique<net::HttpClient>()) {}

PluginHost::~PluginHost() { shutdownAll(); }

std::optional<PluginHost::Checked> PluginHost::open(const fs::path& file, LoadFailure* failure) {
  auto reject = [&](Rejection r, const std::string& reason) {
    failure->file = file.string();
    failure->reason = r;
    failure->message = fmt::format("plugin {} rejected: {}", file.string(), reason);
    return std::nullopt;
  };

  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return reject(Rejection::kMissingFile, "file not found (check plugins.dir and the file= key)");
  }
  auto lib = std::make_shared<boost::dll::shared_library>();
  try {
    lib->load(file.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return reject(Rejection::kNotSharedObject,
                  fmt::format("not a loadable shared object: {}", dlerrorText(e.what())));
  }
  if (!lib->has(TG_PLUGIN_ENTRY_SYMBOL)) {
    return reject(Rejection::kNoEntrySymbol,
                  fmt::format("no entry symbol {} (was it built with TOLLGATE_PLUGIN()?)",
                              TG_PLUGIN_ENTRY_SYMBOL));
  }
  auto entry = lib->get<const tg_plugin_descriptor*()>(TG_PLUGIN_ENTRY_SYMBOL);
  const tg_plugin_descriptor* d = entry();
  if (d == nullptr)
    return reject(Rejection::kNullDescriptor, "entry symbol returned no descriptor");

  // struct_size, abi_major and abi_minor are the frozen first fields of every version.
  if (d->abi_major != TG_ABI_MAJOR) {
    return reject(
        Rejection::kAbiMajorMismatch,
        fmt::format("built for plugin ABI {}.{}, this tollgated speaks ABI {}.{}; "
                    "rebuild the plugin against Tollgate SDK {}.x",
                    d->abi_major, d->abi_minor, TG_ABI_MAJOR, TG_ABI_MINOR, TG_ABI_MAJOR));
  }
  if (d->abi_minor > TG_ABI_MINOR) {
    return reject(Rejection::kAbiMinorNewer,
                  fmt::format("built for plugin ABI {}.{}, newer than this tollgated's {}.{}; "
                              "upgrade tollgated or rebuild the plugin against an older SDK",
                              d->abi_major, d->abi_minor, TG_ABI_MAJOR, TG_ABI_MINOR));
  }
  if (d->struct_size < kMinDescriptorSize || d->init == nullptr) {
    return reject(Rejection::kStructTooShort,
                  fmt::format("descriptor is {} bytes, ABI {}.0 needs at least {} with init set",
                              d->struct_size, TG_ABI_MAJOR, kMinDescriptorSize));
  }
  if (requiredCallbacks(d->kind).empty())
    return reject(Rejection::kUnknownKind, fmt::format("unknown plugin kind {}", d->kind));
  if (d->vtable == nullptr) {
    return reject(Rejection::kStructTooShort, fmt::format("no {} vtable", kindName(d->kind)));
  }
  if (auto problem = vtableProblem(d->kind, d->vtable)) {
    return reject(Rejection::kStructTooShort, *problem);
  }
  if (auto problem = configKeysProblem(d)) return reject(Rejection::kStructTooShort, *problem);
  const std::string_view id = view(d->id);
  if (!validPluginId(id)) {
    return reject(Rejection::kInvalidId, fmt::format("invalid id '{}' (want [a-z0-9-]+)", id));
  }
  return Checked{std::move(lib), d};
}

std::optional<Inspection> PluginHost::inspect(const fs::path& file, LoadFailure* failure) {
  auto checked = open(file, failure);
  if (!checked) return std::nullopt;
  std::lock_guard lock(mu_);
  inspected_.push_back(checked->library);
  return inspectionOf(checked->descriptor);
}

std::optional<LoadFailure> PluginHost::load(const PluginSpec& spec) {
  LoadFailure failure;
  auto fail = [&](Rejection r, const std::string& reason) {
    failure.file = spec.file.string();
    failure.reason = r;
    failure.message = fmt::format("plugin {} rejected: {}", spec.file.string(), reason);
    spdlog::error("{}", failure.message);
    return failure;
  };

  auto checked = open(spec.file, &failure);
  if (!checked) {
    spdlog::error("{}", failure.message);
    return failure;
  }
  const tg_plugin_descriptor* d = checked->descriptor;
  const std::string id(view(d->id));

  std::lock_guard lock(mu_);
  for (const auto& p : plugins_) {
    if (p->id() == id) {
      return fail(Rejection::kDuplicateId,
                  fmt::format("duplicate id '{}', already loaded from {}", id, p->file().string()));
    }
  }
  auto settings = applySettings(inspectionOf(d), spec.settings);
  if (!settings.errors.empty()) {
    return fail(Rejection::kBadConfig, fmt::format("bad settings in {}: {}", spec.config_file,
                                                   fmt::join(settings.errors, "; ")));
  }

  auto plugin = std::make_unique<Plugin>();
  plugin->id_ = id;
  plugin->version_ = std::string(view(d->version));
  plugin->file_ = spec.file;
  plugin->descriptor_ = d;
  plugin->deadline_ = spec.deadline;
  if (plugin->kind() != TG_KIND_STORAGE)
    plugin->lane_ = std::make_unique<DeadlineExecutor>(spec.lane);
  plugin->library_ = checked->library;
  plugin->ctx_ = std::make_unique<HostContext>();
  plugin->ctx_->plugin = plugin.get();
  plugin->ctx_->state_dir = state_dir_;
  plugin->ctx_->settings = std::move(settings.values);
  plugin->ctx_->http = http_.get();
  plugin->api_ = tg_host_api{.struct_size = sizeof(tg_host_api),
                             .abi_major = TG_ABI_MAJOR,
                             .abi_minor = TG_ABI_MINOR,
                             .host_ctx = plugin->ctx_.get(),
                             .log = hostLog,
                             .config_get = hostConfigGet,
                             .now_unix_ms = hostNow,
                             .metric_add = hostMetricAdd,
                             .state_dir = hostStateDir,
                             .http_request = hostHttpRequest};

  tg_error err{};
  tg_status st = TG_ERR_INTERNAL;
  try {
    st = d->init(&plugin->api_, &plugin->instance_, &err);
  } catch (const std::exception& e) {
    return fail(Rejection::kInitThrew,
                fmt::format("init threw an exception across the ABI: {}", e.what()));
  } catch (...) {
    return fail(Rejection::kInitThrew, "init threw an exception of unknown type across the ABI");
  }
  if (st != TG_OK) {
    err.message[sizeof(err.message) - 1] = '\0';
    return fail(Rejection::kInitFailed, fmt::format("init failed with status {}: {}", st,
                                                    err.message[0] ? err.message : "(no message)"));
  }
  spdlog::info("plugin {} {} ({}) loaded from {}", id, plugin->version_, kindName(d->kind),
               spec.file.string());
  plugins_.push_back(std::move(plugin));
  return std::nullopt;
}

Plugin* PluginHost::find(const std::string& id) {
  std::lock_guard lock(mu_);
  for (auto& p : plugins_)
    if (p->id() == id) return p.get();
  return nullptr;
}

Plugin* PluginHost::firstOfKind(tg_plugin_kind kind) {
  std::lock_guard lock(mu_);
  for (auto& p : plugins_)
    if (p->kind() == kind) return p.get();
  return nullptr;
}

std::vector<Plugin*> PluginHost::all() {
  std::lock_guard lock(mu_);
  std::vector<Plugin*> out;
  for (auto& p : plugins_) out.push_back(p.get());
  return out;
}

void PluginHost::shutdownAll(std::chrono::milliseconds grace) {
  std::lock_guard lock(mu_);
  for (auto& p : plugins_) p->calls_->close();
  const auto until = std::chrono::steady_clock::now() + grace;
  for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) {
    Plugin& p = **it;
    if (p.shut_down_) continue;
    p.shut_down_ = true;
    if (const size_t busy = p.calls_->waitIdle(until); busy > 0) {
      spdlog::warn(
          "plugin {}: {} call(s) still in flight {} ms after shutdown began; not "
          "shutting it down",
          p.id(), busy, grace.count());
      // The late call returns into the plugin's code: keep it mapped until the process exits.
      static auto* pinned = new std::vector<std::shared_ptr<void>>;
      pinned->push_back(p.library_);
      continue;
    }
    // By offset: a plugin of an older minor has a shorter descriptor that still holds shutdown.
    if (TG_HAS_FIELD(tg_plugin_descriptor, p.descriptor_->struct_size, shutdown) &&
        p.descriptor_->shutdown != nullptr) {
      p.descriptor_->shutdown(p.instance_);
    }
  }
}

bool CallsInFlight::enter() {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  ++count_;
  return true;
}

void CallsInFlight::leave() {
  std::lock_guard lock(mu_);
  if (--count_ == 0) idle_.notify_all();
}

void CallsInFlight::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

size_t CallsInFlight::waitIdle(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  idle_.wait_until(lock, until, [&] { return count_ == 0; });
  return count_;
}

}  // namespace tollgate::plugins
