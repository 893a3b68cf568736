// Tollgate plugin SDK: header-only C++17 convenience layer over the C ABI (tollgate/abi/*.h).
//
// Everything here is compiled into the plugin, so it may change between SDK releases without
// breaking plugins already built: only the C ABI is the contract. A plugin:
//   1. derives from one of the kind base classes (StoragePlugin, SmsPlugin, VoicePlugin,
//      BillingPlugin, PricingPlugin) and takes a `tollgate::sdk::Host` in its constructor;
//   2. optionally declares `static ConfigKeys configKeys()` listing its settings;
//   3. writes TOLLGATE_PLUGIN(ClassName, "id", "version") once, in one .cpp file.
// Every exception thrown by plugin code is caught at the boundary: tollgate::sdk::Error keeps
// its status, anything else becomes TG_ERR_INTERNAL with the exception's text.
#ifndef TOLLGATE_SDK_PLUGIN_HPP
#define TOLLGATE_SDK_PLUGIN_HPP

#include <tollgate/abi/tollgate.h>

#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::sdk {

// ---- value helpers ----

inline std::string_view view(tg_str s) noexcept {
  return s.size == 0 ? std::string_view{} : std::string_view{s.data, s.size};
}
inline tg_str str(std::string_view s) noexcept { return tg_str{s.data(), s.size()}; }
template <size_t N>
constexpr tg_str lit(const char (&s)[N]) noexcept {
  return tg_str{s, N - 1};
}

// Writes `msg` into a caller-owned error buffer, truncating, always NUL-terminated.
inline void setError(tg_error* err, std::string_view msg) noexcept {
  if (err == nullptr) return;
  const size_t n = msg.size() < sizeof(err->message) - 1 ? msg.size() : sizeof(err->message) - 1;
  std::memcpy(err->message, msg.data(), n);
  err->message[n] = '\0';
}

// Copies an ISO code ("USD", "US") into a fixed NUL-terminated field.
template <size_t N>
inline void setCode(char (&dst)[N], std::string_view code) noexcept {
  const size_t n = code.size() < N - 1 ? code.size() : N - 1;
  std::memcpy(dst, code.data(), n);
  std::memset(dst + n, 0, N - n);
}

// Throw this from plugin code to return a specific status with a message.
class Error : public std::runtime_error {
 public:
  Error(tg_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  tg_status status() const noexcept { return status_; }

 private:
  tg_status status_;
};

// Runs `fn`, turning any exception into a status and message. The only place exceptions stop.
template <class Fn>
tg_status guard(tg_error* err, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return TG_OK;
  } catch (const Error& e) {
    setError(err, e.what());
    return e.status() == TG_OK ? TG_ERR_INTERNAL : e.status();
  } catch (const std::exception& e) {
    setError(err, std::string("unhandled exception: ") + e.what());
    return TG_ERR_INTERNAL;
  } catch (...) {
    setError(err, "unhandled exception of unknown type");
    return TG_ERR_INTERNAL;
  }
}

// The call context, as C++ sees it. Borrowed for the duration of the call.
struct CallContext {
  std::string_view tenant_id;
  std::string_view request_id;
  int64_t deadline_unix_ms = 0;

  static CallContext from(const tg_call_ctx* c) noexcept {
    CallContext r;
    if (c == nullptr) return r;
    r.tenant_id = view(c->tenant_id);
    r.request_id = view(c->request_id);
    r.deadline_unix_ms = c->deadline_unix_ms;
    return r;
  }
};

// ---- outbound HTTP through the host (ABI 1.5; see tg_host_api.http_request) ----
using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  int64_t timeout_ms = 0;  // 0: the call's deadline only
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;

  // The first header called `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers) {
      if (n.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < n.size() && same; ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        same = lower(n[i]) == lower(name[i]);
      }
      if (same) return std::string_view(v);
    }
    return std::nullopt;
  }
};

// The host's function table, wrapped. Cheap to copy; valid for the process lifetime.
class Host {
 public:
  explicit Host(const tg_host_api* api) noexcept : api_(api) {}

  void log(int32_t level, std::string_view msg) const noexcept {
    api_->log(api_->host_ctx, level, str(msg));
  }
  void debug(std::string_view m) const noexcept { log(TG_LOG_DEBUG, m); }
  void info(std::string_view m) const noexcept { log(TG_LOG_INFO, m); }
  void warn(std::string_view m) const noexcept { log(TG_LOG_WARN, m); }
  void error(std::string_view m) const noexcept { log(TG_LOG_ERROR, m); }

  // The setting's value (declared default applied by the host), or nullopt.
  std::optional<std::string_view> config(std::string_view key) const noexcept {
    tg_str out{nullptr, 0};
    if (api_->config_get(api_->host_ctx, str(key), &out) != TG_OK) return std::nullopt;
    return view(out);
  }
  std::string configOr(std::string_view key, std::string_view fallback) const {
    auto v = config(key);
    return std::string(v ? *v : fallback);
  }
  int64_t nowUnixMs() const noexcept { return api_->now_unix_ms(api_->host_ctx); }
  void metricAdd(std::string_view name, int64_t delta = 1) const noexcept {
    api_->metric_add(api_->host_ctx, str(name), delta);
  }
  std::string_view stateDir() const noexcept { return view(api_->state_dir(api_->host_ctx)); }
  const tg_host_api* raw() const noexcept { return api_; }

  // Whether the host sends HTTP requests for plugins (tollgated 1.5 and newer).
  bool hasHttp() const noexcept {
    return TG_HAS_FIELD(tg_host_api, api_->struct_size, http_request) &&
           api_->http_request != nullptr;
  }
  // Sends `r` through the host, bounded by the call's deadline (and r.timeout_ms); returns the
  // response whatever its status. Throws Error with the host's status: TG_ERR_UNAVAILABLE
  // (nothing sent; retry), TG_ERR_OUTCOME_UNKNOWN (sent, no answer), TG_ERR_INVALID_ARGUMENT,
  // or TG_ERR_UNSUPPORTED from a host older than 1.5.
  HttpResponse http(const CallContext& ctx, const HttpRequest& r) const {
    tg_call_ctx c{};
    c.struct_size = sizeof c;
    c.tenant_id = str(ctx.tenant_id);
    c.request_id = str(ctx.request_id);
    c.deadline_unix_ms = ctx.deadline_unix_ms;
    return send(&c, r);
  }
  // The same outside a call (in a constructor, which init runs): r.timeout_ms bounds it.
  HttpResponse http(const HttpRequest& r) const { return send(nullptr, r); }

 private:
  HttpResponse send(const tg_call_ctx* c, const HttpRequest& r) const {
    if (!hasHttp()) {
      throw Error(TG_ERR_UNSUPPORTED,
                  "this tollgated sends no HTTP requests for plugins (it speaks plugin ABI " +
                      std::to_string(api_->abi_major) + "." + std::to_string(api_->abi_minor) +
                      "; 1.5 is needed)");
    }
    std::vector<tg_kv> headers;
    headers.reserve(r.headers.size());
    for (const auto& [n, v] : r.headers) headers.push_back(tg_kv{str(n), str(v)});
    tg_http_request req{};
    req.struct_size = sizeof req;
    req.method = str(r.method);
    req.url = str(r.url);
    req.headers = headers.empty() ? nullptr : headers.data();
    req.header_count = headers.size();
    req.body = str(r.body);
    req.timeout_ms = r.timeout_ms;
    HttpResponse out;
    const tg_http_response_sink sink{&out, [](void* p, const tg_http_response* resp) {
                                       auto* o = static_cast<HttpResponse*>(p);
                                       o->status = resp->status;
                                       for (size_t i = 0; i < resp->header_count; ++i) {
                                         o->headers.emplace_back(view(resp->headers[i].name),
                                                                 view(resp->headers[i].value));
                                       }
                                       o->body = std::string(view(resp->body));
                                     }};
    tg_error err{};
    const tg_status st = api_->http_request(api_->host_ctx, c, &req, sink, &err);
    if (st != TG_OK) throw Error(st, err.message);
    return out;
  }

  const tg_host_api* api_;
};

// A plugin's configuration keys: a static array and its length.
struct ConfigKeys {
  const tg_config_key* keys = nullptr;
  size_t count = 0;
};

constexpr tg_config_key configKey(tg_str name, tg_config_type type, bool required,
                                  tg_str default_value, tg_str help) noexcept {
  return tg_config_key{sizeof(tg_config_key), name, type, required ? 1 : 0, default_value, help};
}

class PluginBase {
 public:
  explicit PluginBase(Host host) noexcept : host_(host) {}
  virtual ~PluginBase() = default;
  PluginBase(const PluginBase&) = delete;
  PluginBase& operator=(const PluginBase&) = delete;

  static ConfigKeys configKeys() noexcept { return {}; }
  const Host& host() const noexcept { return host_; }

 private:
  Host host_;
};

namespace detail {
template <class Base>
Base* self(void* instance) noexcept {
  return static_cast<Base*>(static_cast<PluginBase*>(instance));
}
}  // namespace detail

// ---- storage backend ----
// Methods throw tollgate::sdk::Error for statuses other than TG_OK; see storage.h for each
// operation's contract. Sinks are called once per row.
class StoragePlugin : public PluginBase {
 public:
  static constexpr tg_plugin_kind kKind = TG_KIND_STORAGE;
  using PluginBase::PluginBase;

  virtual int64_t migrate(const CallContext& ctx) = 0;
  virtual void tenantCreate(const CallContext& ctx, const tg_tenant_row& row) = 0;
  virtual void tenantGet(const CallContext& ctx, std::string_view id, tg_tenant_sink sink) = 0;
  virtual void tenantList(const CallContext& ctx, std::string_view after_id, uint32_t limit,
                          tg_tenant_sink sink) = 0;
  virtual void tenantSetStatus(const CallContext& ctx, std::string_view id,
                               tg_tenant_status status) = 0;
  virtual void apiKeyCreate(const CallContext& ctx, const tg_api_key_row& row) = 0;
  virtual void apiKeyGet(const CallContext& ctx, std::string_view key_id, tg_api_key_sink sink) = 0;
  virtual void apiKeyList(const CallContext& ctx, tg_api_key_sink sink) = 0;
  virtual void apiKeyRevoke(const CallContext& ctx, std::string_view key_id,
                            int64_t revoked_at_ms) = 0;
  virtual void walletCreate(const CallContext& ctx, const tg_wallet_row& row) = 0;
  virtual void walletGet(const CallContext& ctx, std::string_view currency,
                         tg_wallet_sink sink) = 0;
  virtual tg_ledger_apply_result ledgerApply(const CallContext& ctx,
                                             const tg_ledger_apply_request& req) = 0;
  virtual void ledgerList(const CallContext& ctx, std::string_view currency, int64_t after_seq,
                          uint32_t limit, tg_ledger_entry_sink sink) = 0;
  // Returns true when this call claimed the key; otherwise `existing` got the stored row.
  virtual bool idempotencyClaim(const CallContext& ctx, const tg_idempotency_row& row,
                                tg_idempotency_sink existing) = 0;
  virtual void idempotencyComplete(const CallContext& ctx, std::string_view scope,
                                   std::string_view key, int32_t response_status,
                                   std::string_view response_body) = 0;

  // ABI 1.1
  virtual void numberPut(const CallContext& ctx, const tg_number_row& row) = 0;
  virtual void numberGet(const CallContext& ctx, std::string_view e164, tg_number_sink sink) = 0;
  virtual void numberList(const CallContext& ctx, tg_number_sink sink) = 0;
  virtual void numberDetach(const CallContext& ctx, std::string_view e164) = 0;
  virtual void twilioAccountPut(const CallContext& ctx, const tg_twilio_account_row& row) = 0;
  virtual void twilioAccountGet(const CallContext& ctx, std::string_view account_sid,
                                tg_twilio_account_sink sink) = 0;
  virtual void messageInsert(const CallContext& ctx, const tg_message_row& row) = 0;
  // Returns true when the status moved forward.
  virtual bool messageUpdateStatus(const CallContext& ctx, std::string_view sid,
                                   std::string_view status, int32_t status_rank, int32_t error_code,
                                   int64_t now_ms) = 0;
  virtual void messageGet(const CallContext& ctx, std::string_view sid, tg_message_sink sink) = 0;
  virtual void messageList(const CallContext& ctx, const tg_log_query& q, tg_message_sink sink) = 0;
  virtual void callInsert(const CallContext& ctx, const tg_call_row& row) = 0;
  virtual bool callUpdateStatus(const CallContext& ctx, std::string_view sid,
                                std::string_view status, int32_t status_rank, int32_t duration_s,
                                int64_t now_ms) = 0;
  virtual void callSetRecording(const CallContext& ctx, std::string_view sid,
                                std::string_view recording_url, int64_t now_ms) = 0;
  virtual void callGet(const CallContext& ctx, std::string_view sid, tg_call_sink sink) = 0;
  virtual void callList(const CallContext& ctx, const tg_log_query& q, tg_call_sink sink) = 0;
  virtual void optoutSet(const CallContext& ctx, std::string_view phone, bool opted_out,
                         std::string_view keyword, std::string_view message_sid,
                         int64_t now_ms) = 0;
  virtual bool optoutGet(const CallContext& ctx, std::string_view phone) = 0;

  // ABI 1.2, optional. The compare-and-swap on a claim in progress (abi/storage.h); returns
  // whether this call changed it. The default says TG_ERR_UNSUPPORTED, which the host treats
  // as a plugin without the operation.
  virtual bool idempotencyReclaim(const CallContext& ctx, std::string_view scope,
                                  std::string_view key, int64_t expected_created_at_ms,
                                  int64_t new_created_at_ms) {
    (void)ctx, (void)scope, (void)key, (void)expected_created_at_ms, (void)new_created_at_ms;
    throw Error(TG_ERR_UNSUPPORTED, "idempotency_reclaim is not implemented by this plugin");
  }

  // ABI 1.3, optional. Applies a unit of work atomically (abi/storage.h) and returns
  // TG_UNIT_APPLIED or TG_UNIT_DUPLICATE (after calling `existing` with the stored record). The
  // default says TG_ERR_UNSUPPORTED: the host then makes each operation its own call.
  virtual tg_unit_outcome unitApply(const CallContext& ctx, const tg_unit& unit,
                                    tg_idempotency_sink existing) {
    (void)ctx, (void)unit, (void)existing;
    throw Error(TG_ERR_UNSUPPORTED, "unit_apply is not implemented by this plugin");
  }

  // ABI 1.4, optional: holds and ledger queries (abi/storage.h). The defaults say
  // TG_ERR_UNSUPPORTED.
  virtual tg_hold_result holdApply(const CallContext& ctx, const tg_hold_request& req) {
    (void)ctx, (void)req;
    throw Error(TG_ERR_UNSUPPORTED, "hold_apply is not implemented by this plugin");
  }
  virtual void holdList(const CallContext& ctx, const tg_hold_query& q, tg_hold_sink sink) {
    (void)ctx, (void)q, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "hold_list is not implemented by this plugin");
  }
  // Returns how many holds it expired.
  virtual uint32_t holdExpire(const CallContext& ctx, int64_t now_ms, uint32_t limit) {
    (void)ctx, (void)now_ms, (void)limit;
    throw Error(TG_ERR_UNSUPPORTED, "hold_expire is not implemented by this plugin");
  }
  virtual void ledgerQuery(const CallContext& ctx, const tg_ledger_query& q,
                           tg_ledger_entry_sink sink) {
    (void)ctx, (void)q, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "ledger_query is not implemented by this plugin");
  }
  virtual void ledgerSummary(const CallContext& ctx, const tg_ledger_query& q,
                             tg_ledger_summary_sink sink) {
    (void)ctx, (void)q, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "ledger_summary is not implemented by this plugin");
  }

  // ABI 1.6, optional: billing profiles and the auto-recharge lease (abi/storage.h). The
  // defaults say TG_ERR_UNSUPPORTED.
  virtual void billingProfilePut(const CallContext& ctx, const tg_billing_profile_row& row) {
    (void)ctx, (void)row;
    throw Error(TG_ERR_UNSUPPORTED, "billing_profile_put is not implemented by this plugin");
  }
  virtual void billingProfileGet(const CallContext& ctx, std::string_view currency,
                                 tg_billing_profile_sink sink) {
    (void)ctx, (void)currency, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "billing_profile_get is not implemented by this plugin");
  }
  // Returns the lease's started_at_ms, or 0 when none began.
  virtual int64_t rechargeBegin(const CallContext& ctx, std::string_view currency, int64_t now_ms,
                                int64_t lease_ms) {
    (void)ctx, (void)currency, (void)now_ms, (void)lease_ms;
    throw Error(TG_ERR_UNSUPPORTED, "recharge_begin is not implemented by this plugin");
  }
  // Returns whether the lease was still in flight (and is now ended).
  virtual bool rechargeEnd(const CallContext& ctx, const tg_recharge_end& req) {
    (void)ctx, (void)req;
    throw Error(TG_ERR_UNSUPPORTED, "recharge_end is not implemented by this plugin");
  }

  // ABI 1.7, optional: queued usage (abi/storage.h). The defaults say TG_ERR_UNSUPPORTED.
  virtual void usageList(const CallContext& ctx, uint32_t limit, tg_usage_sink sink) {
    (void)ctx, (void)limit, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "usage_list is not implemented by this plugin");
  }
  // charges: count of them, stride charges[0].struct_size; fills out_statuses[0..count).
  virtual void usageSettle(const CallContext& ctx, const tg_usage_charge* charges, uint32_t count,
                           tg_status* out_statuses) {
    (void)ctx, (void)charges, (void)count, (void)out_statuses;
    throw Error(TG_ERR_UNSUPPORTED, "usage_settle is not implemented by this plugin");
  }

  // ABI 1.8, optional: the outbox (abi/storage.h). The defaults say TG_ERR_UNSUPPORTED.
  virtual void outboxClaim(const CallContext& ctx, int64_t now_ms, int64_t lease_ms,
                           std::string_view owner, uint32_t limit, tg_outbox_sink sink) {
    (void)ctx, (void)now_ms, (void)lease_ms, (void)owner, (void)limit, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_claim is not implemented by this plugin");
  }
  // transitions: count of them, stride transitions[0].struct_size; fills out_applied.
  virtual void outboxTransition(const CallContext& ctx, const tg_outbox_transition* transitions,
                                uint32_t count, int32_t* out_applied) {
    (void)ctx, (void)transitions, (void)count, (void)out_applied;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_transition is not implemented by this plugin");
  }
  // Returns how many were reclaimed.
  virtual uint32_t outboxReclaim(const CallContext& ctx, int64_t now_ms, uint32_t limit) {
    (void)ctx, (void)now_ms, (void)limit;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_reclaim is not implemented by this plugin");
  }
  virtual void outboxGet(const CallContext& ctx, std::string_view id, tg_outbox_sink sink) {
    (void)ctx, (void)id, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_get is not implemented by this plugin");
  }
  virtual void outboxList(const CallContext& ctx, tg_outbox_state state, uint32_t limit,
                          tg_outbox_sink sink) {
    (void)ctx, (void)state, (void)limit, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_list is not implemented by this plugin");
  }
  // ABI 1.10, optional.
  virtual void outboxClaimPaced(const CallContext& ctx, const tg_outbox_claim& claim,
                                tg_outbox_sink sink) {
    (void)ctx, (void)claim, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_claim_paced is not implemented by this plugin");
  }
  // ABI 1.11, optional.
  virtual void outboxPriceDue(const CallContext& ctx, int64_t now_ms, uint32_t limit,
                              tg_outbox_sink sink) {
    (void)ctx, (void)now_ms, (void)limit, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "outbox_price_due is not implemented by this plugin");
  }
  // ABI 1.13, optional.
  virtual void callPriceDue(const CallContext& ctx, int64_t now_ms, uint32_t limit,
                            tg_call_sink sink) {
    (void)ctx, (void)now_ms, (void)limit, (void)sink;
    throw Error(TG_ERR_UNSUPPORTED, "call_price_due is not implemented by this plugin");
  }
  // Whether it was stored (the call's price was PENDING).
  virtual bool callPriceSet(const CallContext& ctx, const tg_call_price& price) {
    (void)ctx, (void)price;
    throw Error(TG_ERR_UNSUPPORTED, "call_price_set is not implemented by this plugin");
  }

  static const void* vtable() noexcept {
    using S = StoragePlugin;
    static const tg_storage_vtable vt = {
        sizeof(tg_storage_vtable),
        [](void* i, const tg_call_ctx* c, int64_t* v, tg_error* e) {
          return guard(e, [&] { *v = detail::self<S>(i)->migrate(CallContext::from(c)); });
        },
        [](void* i, const tg_call_ctx* c, const tg_tenant_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->tenantCreate(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, tg_str id, tg_tenant_sink s, tg_error* e) {
          return guard(e,
                       [&] { detail::self<S>(i)->tenantGet(CallContext::from(c), view(id), s); });
        },
        [](void* i, const tg_call_ctx* c, tg_str after, uint32_t limit, tg_tenant_sink s,
           tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->tenantList(CallContext::from(c), view(after), limit, s);
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str id, tg_tenant_status st, tg_error* e) {
          return guard(
              e, [&] { detail::self<S>(i)->tenantSetStatus(CallContext::from(c), view(id), st); });
        },
        [](void* i, const tg_call_ctx* c, const tg_api_key_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->apiKeyCreate(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, tg_str id, tg_api_key_sink s, tg_error* e) {
          return guard(e,
                       [&] { detail::self<S>(i)->apiKeyGet(CallContext::from(c), view(id), s); });
        },
        [](void* i, const tg_call_ctx* c, tg_api_key_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->apiKeyList(CallContext::from(c), s); });
        },
        [](void* i, const tg_call_ctx* c, tg_str id, int64_t at, tg_error* e) {
          return guard(
              e, [&] { detail::self<S>(i)->apiKeyRevoke(CallContext::from(c), view(id), at); });
        },
        [](void* i, const tg_call_ctx* c, const tg_wallet_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->walletCreate(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, const char cur[4], tg_wallet_sink s, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->walletGet(CallContext::from(c),
                                          std::string_view(cur, strnlen(cur, 4)), s);
          });
        },
        [](void* i, const tg_call_ctx* c, const tg_ledger_apply_request* r,
           tg_ledger_apply_result* out, tg_error* e) {
          return guard(e, [&] {
            const tg_ledger_apply_result res =
                detail::self<S>(i)->ledgerApply(CallContext::from(c), *r);
            // Copy only what the caller's struct has room for.
            const size_t n = out->struct_size < sizeof(res) ? out->struct_size : sizeof(res);
            const uint32_t caller_size = out->struct_size;
            std::memcpy(out, &res, n);
            out->struct_size = caller_size;
          });
        },
        [](void* i, const tg_call_ctx* c, const char cur[4], int64_t after, uint32_t limit,
           tg_ledger_entry_sink s, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->ledgerList(CallContext::from(c),
                                           std::string_view(cur, strnlen(cur, 4)), after, limit, s);
          });
        },
        [](void* i, const tg_call_ctx* c, const tg_idempotency_row* r, int32_t* claimed,
           tg_idempotency_sink s, tg_error* e) {
          return guard(e, [&] {
            *claimed = detail::self<S>(i)->idempotencyClaim(CallContext::from(c), *r, s) ? 1 : 0;
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str scope, tg_str key, int32_t st, tg_str body,
           tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->idempotencyComplete(CallContext::from(c), view(scope), view(key),
                                                    st, view(body));
          });
        },
        // ABI 1.1
        [](void* i, const tg_call_ctx* c, const tg_number_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->numberPut(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, tg_str n, tg_number_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->numberGet(CallContext::from(c), view(n), s); });
        },
        [](void* i, const tg_call_ctx* c, tg_number_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->numberList(CallContext::from(c), s); });
        },
        [](void* i, const tg_call_ctx* c, tg_str n, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->numberDetach(CallContext::from(c), view(n)); });
        },
        [](void* i, const tg_call_ctx* c, const tg_twilio_account_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->twilioAccountPut(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, tg_str sid, tg_twilio_account_sink s, tg_error* e) {
          return guard(
              e, [&] { detail::self<S>(i)->twilioAccountGet(CallContext::from(c), view(sid), s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_message_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->messageInsert(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, tg_str sid, tg_str status, int32_t rank, int32_t code,
           int64_t now, int32_t* applied, tg_error* e) {
          return guard(e, [&] {
            *applied = detail::self<S>(i)->messageUpdateStatus(CallContext::from(c), view(sid),
                                                               view(status), rank, code, now)
                           ? 1
                           : 0;
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str sid, tg_message_sink s, tg_error* e) {
          return guard(e,
                       [&] { detail::self<S>(i)->messageGet(CallContext::from(c), view(sid), s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_log_query* q, tg_message_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->messageList(CallContext::from(c), *q, s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_call_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->callInsert(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, tg_str sid, tg_str status, int32_t rank, int32_t dur,
           int64_t now, int32_t* applied, tg_error* e) {
          return guard(e, [&] {
            *applied = detail::self<S>(i)->callUpdateStatus(CallContext::from(c), view(sid),
                                                            view(status), rank, dur, now)
                           ? 1
                           : 0;
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str sid, tg_str url, int64_t now, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->callSetRecording(CallContext::from(c), view(sid), view(url), now);
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str sid, tg_call_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->callGet(CallContext::from(c), view(sid), s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_log_query* q, tg_call_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->callList(CallContext::from(c), *q, s); });
        },
        [](void* i, const tg_call_ctx* c, tg_str phone, int32_t out, tg_str kw, tg_str msid,
           int64_t now, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->optoutSet(CallContext::from(c), view(phone), out != 0, view(kw),
                                          view(msid), now);
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str phone, int32_t* out, tg_error* e) {
          return guard(e, [&] {
            *out = detail::self<S>(i)->optoutGet(CallContext::from(c), view(phone)) ? 1 : 0;
          });
        },
        // ABI 1.2
        [](void* i, const tg_call_ctx* c, tg_str scope, tg_str key, int64_t expected, int64_t next,
           int32_t* out, tg_error* e) {
          return guard(e, [&] {
            *out = detail::self<S>(i)->idempotencyReclaim(CallContext::from(c), view(scope),
                                                          view(key), expected, next)
                       ? 1
                       : 0;
          });
        },
        // ABI 1.3
        [](void* i, const tg_call_ctx* c, const tg_unit* u, tg_unit_outcome* out,
           tg_idempotency_sink existing, tg_error* e) {
          return guard(
              e, [&] { *out = detail::self<S>(i)->unitApply(CallContext::from(c), *u, existing); });
        },
        // ABI 1.4
        [](void* i, const tg_call_ctx* c, const tg_hold_request* r, tg_hold_result* out,
           tg_error* e) {
          return guard(e, [&] {
            const tg_hold_result res = detail::self<S>(i)->holdApply(CallContext::from(c), *r);
            // Copy only what the caller's struct has room for.
            const size_t n = out->struct_size < sizeof(res) ? out->struct_size : sizeof(res);
            const uint32_t caller_size = out->struct_size;
            std::memcpy(out, &res, n);
            out->struct_size = caller_size;
          });
        },
        [](void* i, const tg_call_ctx* c, const tg_hold_query* q, tg_hold_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->holdList(CallContext::from(c), *q, s); });
        },
        [](void* i, const tg_call_ctx* c, int64_t now, uint32_t limit, uint32_t* out, tg_error* e) {
          return guard(
              e, [&] { *out = detail::self<S>(i)->holdExpire(CallContext::from(c), now, limit); });
        },
        [](void* i, const tg_call_ctx* c, const tg_ledger_query* q, tg_ledger_entry_sink s,
           tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->ledgerQuery(CallContext::from(c), *q, s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_ledger_query* q, tg_ledger_summary_sink s,
           tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->ledgerSummary(CallContext::from(c), *q, s); });
        },
        // ABI 1.6
        [](void* i, const tg_call_ctx* c, const tg_billing_profile_row* r, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->billingProfilePut(CallContext::from(c), *r); });
        },
        [](void* i, const tg_call_ctx* c, const char currency[4], tg_billing_profile_sink s,
           tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->billingProfileGet(
                CallContext::from(c), std::string_view(currency, strnlen(currency, 4)), s);
          });
        },
        [](void* i, const tg_call_ctx* c, const char currency[4], int64_t now, int64_t lease,
           int64_t* out, tg_error* e) {
          return guard(e, [&] {
            *out = detail::self<S>(i)->rechargeBegin(
                CallContext::from(c), std::string_view(currency, strnlen(currency, 4)), now, lease);
          });
        },
        [](void* i, const tg_call_ctx* c, const tg_recharge_end* r, int32_t* out, tg_error* e) {
          return guard(
              e, [&] { *out = detail::self<S>(i)->rechargeEnd(CallContext::from(c), *r) ? 1 : 0; });
        },
        // ABI 1.7
        [](void* i, const tg_call_ctx* c, uint32_t limit, tg_usage_sink s, tg_error* e) {
          return guard(e, [&] { detail::self<S>(i)->usageList(CallContext::from(c), limit, s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_usage_charge* charges, uint32_t count,
           tg_status* out, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->usageSettle(CallContext::from(c), charges, count, out);
          });
        },
        // ABI 1.8
        [](void* i, const tg_call_ctx* c, int64_t now, int64_t lease, tg_str owner, uint32_t limit,
           tg_outbox_sink s, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->outboxClaim(CallContext::from(c), now, lease, view(owner), limit,
                                            s);
          });
        },
        [](void* i, const tg_call_ctx* c, const tg_outbox_transition* t, uint32_t count,
           int32_t* out, tg_error* e) {
          return guard(e, [&] {
            detail::self<S>(i)->outboxTransition(CallContext::from(c), t, count, out);
          });
        },
        [](void* i, const tg_call_ctx* c, int64_t now, uint32_t limit, uint32_t* out, tg_error* e) {
          return guard(e, [&] {
            *out = detail::self<S>(i)->outboxReclaim(CallContext::from(c), now, limit);
          });
        },
        [](void* i, const tg_call_ctx* c, tg_str id, tg_outbox_sink s, tg_error* e) {
          return guard(e,
                       [&] { detail::self<S>(i)->outboxGet(CallContext::from(c), view(id), s); });
        },
        [](void* i, const tg_call_ctx* c, tg_outbox_state state, uint32_t limit, tg_outbox_sink s,
           tg_error* e) {
          return guard(
              e, [&] { detail::self<S>(i)->outboxList(CallContext::from(c), state, limit, s); });
        },
        // ABI 1.10
        [](void* i, const tg_call_ctx* c, const tg_outbox_claim* claim, tg_outbox_sink s,
           tg_error* e) {
          return guard(e, [&] {
            if (claim == nullptr) throw Error(TG_ERR_INVALID_ARGUMENT, "claim: missing");
            detail::self<S>(i)->outboxClaimPaced(CallContext::from(c), *claim, s);
          });
        },
        // ABI 1.11
        [](void* i, const tg_call_ctx* c, int64_t now, uint32_t limit, tg_outbox_sink s,
           tg_error* e) {
          return guard(
              e, [&] { detail::self<S>(i)->outboxPriceDue(CallContext::from(c), now, limit, s); });
        },
        // ABI 1.13
        [](void* i, const tg_call_ctx* c, int64_t now, uint32_t limit, tg_call_sink s,
           tg_error* e) {
          return guard(
              e, [&] { detail::self<S>(i)->callPriceDue(CallContext::from(c), now, limit, s); });
        },
        [](void* i, const tg_call_ctx* c, const tg_call_price* price, int32_t* applied,
           tg_error* e) {
          return guard(e, [&] {
            if (price == nullptr) throw Error(TG_ERR_INVALID_ARGUMENT, "price: missing");
            const bool stored = detail::self<S>(i)->callPriceSet(CallContext::from(c), *price);
            if (applied != nullptr) *applied = stored ? 1 : 0;
          });
        },
    };
    return &vt;
  }
};

// ---- SMS keyword processor ----
class SmsPlugin : public PluginBase {
 public:
  static constexpr tg_plugin_kind kKind = TG_KIND_SMS_KEYWORDS;
  using PluginBase::PluginBase;

  struct Decision {
    tg_sms_action action = TG_SMS_IGNORE;
    std::string reply_body;
    std::string forward_url;
  };
  virtual Decision onInbound(const CallContext& ctx, const tg_sms_inbound& msg) = 0;

  static const void* vtable() noexcept {
    static const tg_sms_vtable vt = {
        sizeof(tg_sms_vtable),
        [](void* i, const tg_call_ctx* c, const tg_sms_inbound* m, tg_sms_decision_sink s,
           tg_error* e) {
          return guard(e, [&] {
            const Decision d = detail::self<SmsPlugin>(i)->onInbound(CallContext::from(c), *m);
            const tg_sms_decision out{sizeof(tg_sms_decision), d.action, str(d.reply_body),
                                      str(d.forward_url)};
            s.fn(s.ctx, &out);
          });
        },
    };
    return &vt;
  }
};

// ---- voice AI handler ----
class VoicePlugin : public PluginBase {
 public:
  static constexpr tg_plugin_kind kKind = TG_KIND_VOICE;
  using PluginBase::PluginBase;

  // Returns a complete TwiML document.
  virtual std::string onCall(const CallContext& ctx, const tg_voice_request& req) = 0;

  static const void* vtable() noexcept {
    static const tg_voice_vtable vt = {
        sizeof(tg_voice_vtable),
        [](void* i, const tg_call_ctx* c, const tg_voice_request* r, tg_twiml_sink s, tg_error* e) {
          return guard(e, [&] {
            const std::string twiml =
                detail::self<VoicePlugin>(i)->onCall(CallContext::from(c), *r);
            s.fn(s.ctx, str(twiml));
          });
        },
    };
    return &vt;
  }
};

// ---- billing provider ----
class BillingPlugin : public PluginBase {
 public:
  static constexpr tg_plugin_kind kKind = TG_KIND_BILLING;
  using PluginBase::PluginBase;

  struct Result {
    tg_payment_state state = TG_PAYMENT_FAILED;
    std::string provider_ref;
    tg_money amount{0, {0}};
    std::string failure;
  };
  virtual Result registerCustomer(const CallContext& ctx, const tg_billing_customer& c) = 0;
  virtual Result charge(const CallContext& ctx, const tg_billing_charge& charge) = 0;
  virtual Result refund(const CallContext& ctx, std::string_view payment_ref, tg_money amount,
                        std::string_view idempotency_key) = 0;

  // ABI 1.6, optional: the customer's saved payment methods, kept by the provider (the plugin
  // passes on references, never card data). LIST returns every method, the default first;
  // ATTACH and SET_DEFAULT the method as it is after the change; DETACH as it was (abi/billing.h
  // lists the statuses to throw). The default says TG_ERR_UNSUPPORTED: a provider without
  // payment methods (billing-manual) needs nothing more.
  struct PaymentMethod {
    std::string ref;    // the provider's id (pm_...)
    std::string brand;  // as the provider names it (visa, ...); may be empty
    std::string last4;  // may be empty
    int32_t exp_month = 0;
    int32_t exp_year = 0;
    bool is_default = false;
  };
  virtual std::vector<PaymentMethod> paymentMethods(const CallContext& ctx,
                                                    const tg_payment_method_request& req) {
    (void)ctx, (void)req;
    throw Error(TG_ERR_UNSUPPORTED, "payment_methods: this billing provider keeps no methods");
  }

  // Filled by field name, so that a callback appended in a later minor never shifts another.
  static const void* vtable() noexcept {
    using B = BillingPlugin;
    static const tg_billing_vtable vt = [] {
      tg_billing_vtable v{};
      v.struct_size = sizeof(tg_billing_vtable);
      v.register_customer = [](void* i, const tg_call_ctx* c, const tg_billing_customer* cu,
                               tg_billing_result_sink s, tg_error* e) {
        return guard(
            e, [&] { emit(s, detail::self<B>(i)->registerCustomer(CallContext::from(c), *cu)); });
      };
      v.charge = [](void* i, const tg_call_ctx* c, const tg_billing_charge* ch,
                    tg_billing_result_sink s, tg_error* e) {
        return guard(e, [&] { emit(s, detail::self<B>(i)->charge(CallContext::from(c), *ch)); });
      };
      v.refund = [](void* i, const tg_call_ctx* c, tg_str ref, tg_money amount, tg_str key,
                    tg_billing_result_sink s, tg_error* e) {
        return guard(e, [&] {
          emit(s, detail::self<B>(i)->refund(CallContext::from(c), view(ref), amount, view(key)));
        });
      };
      // ABI 1.6
      v.payment_methods = [](void* i, const tg_call_ctx* c, const tg_payment_method_request* r,
                             tg_payment_method_sink s, tg_error* e) {
        return guard(e, [&] {
          if (r == nullptr ||
              !TG_HAS_FIELD(tg_payment_method_request, r->struct_size, idempotency_key)) {
            throw Error(TG_ERR_INVALID_ARGUMENT, "payment_methods: a request of ABI 1.6 is needed");
          }
          for (const PaymentMethod& m :
               detail::self<B>(i)->paymentMethods(CallContext::from(c), *r)) {
            emit(s, m);
          }
        });
      };
      return v;
    }();
    return &vt;
  }

 private:
  static void emit(tg_billing_result_sink s, const Result& r) {
    tg_billing_result out{};
    out.struct_size = sizeof(tg_billing_result);
    out.state = r.state;
    out.provider_ref = str(r.provider_ref);
    out.amount = r.amount;
    out.failure = str(r.failure);
    s.fn(s.ctx, &out);
  }
  static void emit(tg_payment_method_sink s, const PaymentMethod& m) {
    tg_payment_method_row out{};
    out.struct_size = sizeof(tg_payment_method_row);
    out.method_ref = str(m.ref);
    out.brand = str(m.brand);
    out.last4 = str(m.last4);
    out.exp_month = m.exp_month;
    out.exp_year = m.exp_year;
    out.is_default = m.is_default ? 1 : 0;
    s.fn(s.ctx, &out);
  }
};

// ---- pricing source ----
class PricingPlugin : public PluginBase {
 public:
  static constexpr tg_plugin_kind kKind = TG_KIND_PRICING;
  using PluginBase::PluginBase;

  // Throw Error(TG_ERR_NOT_FOUND, ...) when there is no price.
  virtual tg_money price(const CallContext& ctx, const tg_price_query& q) = 0;

  static const void* vtable() noexcept {
    static const tg_pricing_vtable vt = {
        sizeof(tg_pricing_vtable),
        [](void* i, const tg_call_ctx* c, const tg_price_query* q, tg_money* out, tg_error* e) {
          return guard(
              e, [&] { *out = detail::self<PricingPlugin>(i)->price(CallContext::from(c), *q); });
        },
    };
    return &vt;
  }
};

// ---- registration ----
template <class Derived>
tg_plugin_descriptor makeDescriptor(tg_str id, tg_str version) noexcept {
  const ConfigKeys keys = Derived::configKeys();
  tg_plugin_descriptor d{};
  d.struct_size = sizeof(tg_plugin_descriptor);
  d.abi_major = TG_ABI_MAJOR;
  d.abi_minor = TG_ABI_MINOR;
  d.id = id;
  d.version = version;
  d.kind = Derived::kKind;
  d.vtable = Derived::vtable();
  d.config_keys = keys.keys;
  d.config_key_count = keys.count;
  d.init = [](const tg_host_api* host, void** out, tg_error* err) -> tg_status {
    return guard(err, [&] { *out = static_cast<PluginBase*>(new Derived(Host(host))); });
  };
  d.shutdown = [](void* instance) { delete static_cast<PluginBase*>(instance); };
  return d;
}

}  // namespace tollgate::sdk

#define TOLLGATE_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// Registers `Derived` as this shared object's plugin. Use once per plugin, at namespace scope.
#define TOLLGATE_PLUGIN(Derived, id_literal, version_literal)                                \
  TOLLGATE_PLUGIN_EXPORT const tg_plugin_descriptor* tollgate_plugin_entry_v1(void) {        \
    static const tg_plugin_descriptor descriptor = ::tollgate::sdk::makeDescriptor<Derived>( \
        ::tollgate::sdk::lit(id_literal), ::tollgate::sdk::lit(version_literal));            \
    return &descriptor;                                                                      \
  }

#endif  // TOLLGATE_SDK_PLUGIN_HPP
