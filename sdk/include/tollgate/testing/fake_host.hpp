// Tollgate plugin SDK: a fake host for unit-testing a plugin's logic without the daemon.
//
//   tollgate::testing::FakeHost host;
//   host.settings["greeting"] = "hi";
//   auto plugin = host.start(tollgate_plugin_entry_v1());   // init() through the real ABI
//   auto* vt = plugin.vtable<tg_sms_vtable>();
//   ... call vt->on_inbound(plugin.instance, host.ctx("tn_1"), ...) ...
//   EXPECT_EQ(host.logs.size(), 0u);
//
// Everything goes through the C ABI exactly as in tollgated, so a test also exercises the
// SDK's exception boundary. Header-only, C++17, not thread-safe except for the host callbacks.
#ifndef TOLLGATE_TESTING_FAKE_HOST_HPP
#define TOLLGATE_TESTING_FAKE_HOST_HPP

#include <tollgate/abi/tollgate.h>
#include <tollgate/sdk/plugin.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tollgate::testing {

class FakeHost {
 public:
  struct LogLine {
    int32_t level;
    std::string message;
  };

  std::map<std::string, std::string> settings;  // the plugin's [settings]
  std::vector<LogLine> logs;                    // every line the plugin logged
  std::map<std::string, int64_t> metrics;       // counters the plugin added to
  int64_t now_ms = 1700000000000;               // fixed clock; tests may move it
  std::string state_dir = "/tmp";
  // Answers the plugin's HTTP requests (tg_host_api.http_request) in place of the network: return
  // a response, or throw sdk::Error(status, message) to fail the request with that status
  // (TG_ERR_UNAVAILABLE: not sent; TG_ERR_OUTCOME_UNKNOWN: sent, no answer). Unset: every
  // request fails with TG_ERR_UNAVAILABLE. Each request is kept in http_requests.
  std::function<sdk::HttpResponse(const sdk::HttpRequest&)> http;
  std::vector<sdk::HttpRequest> http_requests;

  FakeHost() {
    api_.struct_size = sizeof(tg_host_api);
    api_.abi_major = TG_ABI_MAJOR;
    api_.abi_minor = TG_ABI_MINOR;
    api_.host_ctx = this;
    api_.log = [](void* h, int32_t level, tg_str m) {
      auto* self = static_cast<FakeHost*>(h);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->logs.push_back({level, std::string(m.data ? m.data : "", m.size)});
    };
    api_.config_get = [](void* h, tg_str key, tg_str* out) -> tg_status {
      auto* self = static_cast<FakeHost*>(h);
      auto it = self->settings.find(std::string(key.data ? key.data : "", key.size));
      if (it == self->settings.end()) return TG_ERR_NOT_FOUND;
      *out = tg_str{it->second.data(), it->second.size()};
      return TG_OK;
    };
    api_.now_unix_ms = [](void* h) { return static_cast<FakeHost*>(h)->now_ms; };
    api_.metric_add = [](void* h, tg_str name, int64_t delta) {
      auto* self = static_cast<FakeHost*>(h);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->metrics[std::string(name.data ? name.data : "", name.size)] += delta;
    };
    api_.state_dir = [](void* h) {
      auto* self = static_cast<FakeHost*>(h);
      return tg_str{self->state_dir.data(), self->state_dir.size()};
    };
    api_.http_request = [](void* h, const tg_call_ctx*, const tg_http_request* r,
                           tg_http_response_sink sink, tg_error* err) -> tg_status {
      auto* self = static_cast<FakeHost*>(h);
      sdk::HttpRequest req;
      req.method = std::string(sdk::view(r->method));
      req.url = std::string(sdk::view(r->url));
      for (size_t i = 0; i < r->header_count; ++i) {
        req.headers.emplace_back(sdk::view(r->headers[i].name), sdk::view(r->headers[i].value));
      }
      req.body = std::string(sdk::view(r->body));
      req.timeout_ms = r->timeout_ms;
      std::function<sdk::HttpResponse(const sdk::HttpRequest&)> handler;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->http_requests.push_back(req);
        handler = self->http;
      }
      sdk::HttpResponse resp;
      try {
        if (!handler) throw sdk::Error(TG_ERR_UNAVAILABLE, "the fake host has no network");
        resp = handler(req);
      } catch (const sdk::Error& e) {
        sdk::setError(err, e.what());
        return e.status();
      }
      std::vector<tg_kv> headers;
      for (const auto& [n, v] : resp.headers) headers.push_back(tg_kv{sdk::str(n), sdk::str(v)});
      tg_http_response out{};
      out.struct_size = sizeof out;
      out.status = resp.status;
      out.headers = headers.empty() ? nullptr : headers.data();
      out.header_count = headers.size();
      out.body = sdk::str(resp.body);
      sink.fn(sink.ctx, &out);
      return TG_OK;
    };
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  const tg_host_api* api() const noexcept { return &api_; }

  // A started plugin instance. Shut down when it goes out of scope.
  struct Started {
    const tg_plugin_descriptor* descriptor = nullptr;
    void* instance = nullptr;

    template <class VTable>
    const VTable* vtable() const noexcept {
      return static_cast<const VTable*>(descriptor->vtable);
    }
    Started() = default;
    Started(Started&& o) noexcept : descriptor(o.descriptor), instance(o.instance) {
      o.instance = nullptr;
    }
    Started& operator=(Started&&) = delete;
    ~Started() {
      if (instance != nullptr && descriptor->shutdown != nullptr) descriptor->shutdown(instance);
    }
  };

  // Calls the plugin's init() with this host. Throws std::runtime_error with the plugin's
  // message if init fails, so a test can EXPECT_THROW on bad settings.
  Started start(const tg_plugin_descriptor* d) {
    if (d == nullptr || d->init == nullptr) throw std::runtime_error("descriptor without init");
    tg_error err{};
    Started s;
    s.descriptor = d;
    const tg_status st = d->init(&api_, &s.instance, &err);
    if (st != TG_OK) throw std::runtime_error(err.message);
    return s;
  }

  // A call context for `tenant_id`, valid until the next call of ctx().
  const tg_call_ctx* ctx(const std::string& tenant_id = "", int64_t deadline_unix_ms = 0) {
    tenant_ = tenant_id;
    ctx_.struct_size = sizeof(tg_call_ctx);
    ctx_.tenant_id = tg_str{tenant_.data(), tenant_.size()};
    ctx_.request_id = tg_str{"test", 4};
    ctx_.deadline_unix_ms = deadline_unix_ms != 0 ? deadline_unix_ms : now_ms + 5000;
    return &ctx_;
  }

 private:
  tg_host_api api_{};
  tg_call_ctx ctx_{};
  std::string tenant_;
  std::mutex mu_;
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

// ---- calling a started plugin as tollgated does ----
// The inputs are owned here; the ABI structs are built from them for the one call.

struct VoiceCall {
  tg_voice_event event = TG_VOICE_INBOUND;
  std::string call_sid = "CA123";
  std::string from = "+15551230000";
  std::string to = "+15559870000";
  std::string step;
  std::string action_base_url = "https://gw.example/twilio/voice/next";
  Pairs params;             // the form parameters Twilio posted
  Pairs settings;           // the number's settings (top-level keys; nested values as JSON)
  int64_t now_unix_ms = 0;  // 0: the host's clock
};

struct VoiceAnswer {
  tg_status status = TG_ERR_INTERNAL;
  std::string error;  // the plugin's message when status != TG_OK
  std::string twiml;
};

struct SmsCall {
  std::string message_sid = "SM1";
  std::string from = "+15551230000";
  std::string to = "+15559870000";
  std::string body;
  Pairs params;
  Pairs settings;
  tg_sms_keyword keyword = TG_SMS_KEYWORD_NONE;
  std::string tenant_name = "Acme";
};

struct SmsAnswer {
  tg_status status = TG_ERR_INTERNAL;
  std::string error;
  int decisions = 0;  // how many times the plugin called the sink (should be 1)
  tg_sms_action action = 0;
  std::string reply_body;
  std::string forward_url;
};

// A billing provider's payment_methods call (ABI 1.6).
struct PaymentMethodsCall {
  tg_payment_method_action action = TG_PM_LIST;
  std::string customer_ref = "cus_test";
  std::string method_ref;  // ATTACH, SET_DEFAULT, DETACH
  bool make_default = false;
  std::string idempotency_key;  // ATTACH, SET_DEFAULT, DETACH
};

struct PaymentMethodsAnswer {
  tg_status status = TG_ERR_INTERNAL;
  std::string error;
  std::vector<sdk::BillingPlugin::PaymentMethod> methods;  // the rows, in the plugin's order
};

namespace detail {
inline tg_str str(const std::string& v) { return tg_str{v.data(), v.size()}; }
inline std::vector<tg_kv> kvs(const Pairs& in) {
  std::vector<tg_kv> out;
  for (const auto& [k, v] : in) out.push_back({str(k), str(v)});
  return out;
}
}  // namespace detail

inline VoiceAnswer callVoice(FakeHost& host, const FakeHost::Started& plugin, const VoiceCall& c,
                             const std::string& tenant_id = "tn_test") {
  const std::vector<tg_kv> params = detail::kvs(c.params), settings = detail::kvs(c.settings);
  tg_voice_request req{};
  req.struct_size = sizeof req;
  req.event = c.event;
  req.call_sid = detail::str(c.call_sid);
  req.from = detail::str(c.from);
  req.to = detail::str(c.to);
  req.step = detail::str(c.step);
  req.action_base_url = detail::str(c.action_base_url);
  req.params = params.data();
  req.param_count = params.size();
  req.settings = settings.data();
  req.setting_count = settings.size();
  req.now_unix_ms = c.now_unix_ms != 0 ? c.now_unix_ms : host.now_ms;
  VoiceAnswer a;
  tg_error err{};
  a.status = plugin.vtable<tg_voice_vtable>()->on_call(
      plugin.instance, host.ctx(tenant_id), &req,
      {&a.twiml,
       [](void* out, tg_str x) { static_cast<std::string*>(out)->assign(x.data, x.size); }},
      &err);
  if (a.status != TG_OK) a.error = err.message;
  return a;
}

// `struct_size` lets a test pose as an older host (e.g. offsetof(tg_sms_inbound, keyword)
// for ABI 1.0, which had no keyword or tenant_name).
inline SmsAnswer callSms(FakeHost& host, const FakeHost::Started& plugin, const SmsCall& c,
                         const std::string& tenant_id = "tn_test",
                         uint32_t struct_size = sizeof(tg_sms_inbound)) {
  const std::vector<tg_kv> params = detail::kvs(c.params), settings = detail::kvs(c.settings);
  tg_sms_inbound msg{};
  msg.struct_size = struct_size;
  msg.message_sid = detail::str(c.message_sid);
  msg.from = detail::str(c.from);
  msg.to = detail::str(c.to);
  msg.body = detail::str(c.body);
  msg.params = params.data();
  msg.param_count = params.size();
  msg.settings = settings.data();
  msg.setting_count = settings.size();
  msg.keyword = c.keyword;
  msg.tenant_name = detail::str(c.tenant_name);
  SmsAnswer a;
  tg_error err{};
  a.status = plugin.vtable<tg_sms_vtable>()->on_inbound(
      plugin.instance, host.ctx(tenant_id), &msg,
      {&a,
       [](void* out, const tg_sms_decision* d) {
         auto* r = static_cast<SmsAnswer*>(out);
         ++r->decisions;
         r->action = d->action;
         r->reply_body.assign(d->reply_body.data ? d->reply_body.data : "", d->reply_body.size);
         r->forward_url.assign(d->forward_url.data ? d->forward_url.data : "", d->forward_url.size);
       }},
      &err);
  if (a.status != TG_OK) a.error = err.message;
  return a;
}

inline PaymentMethodsAnswer callPaymentMethods(FakeHost& host, const FakeHost::Started& plugin,
                                               const PaymentMethodsCall& c,
                                               const std::string& tenant_id = "tn_test") {
  tg_payment_method_request req{};
  req.struct_size = sizeof req;
  req.action = c.action;
  req.customer_ref = detail::str(c.customer_ref);
  req.method_ref = detail::str(c.method_ref);
  req.make_default = c.make_default ? 1 : 0;
  req.idempotency_key = detail::str(c.idempotency_key);
  PaymentMethodsAnswer a;
  const auto* vt = plugin.vtable<tg_billing_vtable>();
  if (!TG_HAS_FIELD(tg_billing_vtable, vt->struct_size, payment_methods) ||
      vt->payment_methods == nullptr) {
    a.status = TG_ERR_UNSUPPORTED;
    a.error = "the plugin has no payment_methods callback (ABI 1.6)";
    return a;
  }
  tg_error err{};
  a.status = vt->payment_methods(
      plugin.instance, host.ctx(tenant_id), &req,
      {&a.methods,
       [](void* out, const tg_payment_method_row* r) {
         sdk::BillingPlugin::PaymentMethod m;
         m.ref = std::string(sdk::view(r->method_ref));
         m.brand = std::string(sdk::view(r->brand));
         m.last4 = std::string(sdk::view(r->last4));
         m.exp_month = r->exp_month;
         m.exp_year = r->exp_year;
         m.is_default = r->is_default != 0;
         static_cast<std::vector<sdk::BillingPlugin::PaymentMethod>*>(out)->push_back(m);
       }},
      &err);
  if (a.status != TG_OK) a.error = err.message;
  return a;
}

}  // namespace tollgate::testing

#endif  // TOLLGATE_TESTING_FAKE_HOST_HPP
