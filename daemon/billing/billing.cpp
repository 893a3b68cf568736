#include "billing/billing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "plugins/boundary.hpp"
#include "plugins/deadline.hpp"

namespace tollgate::billing {
namespace {

tg_str str(const std::string& s) { return tg_str{s.data(), s.size()}; }

std::string text(tg_str s) { return s.size == 0 ? std::string() : std::string(s.data, s.size); }

tg_money money(int64_t micros, const std::string& currency) {
  tg_money m{.amount_micros = micros, .currency = {}};
  std::memcpy(m.currency, currency.data(), std::min<size_t>(currency.size(), 3));
  return m;
}

int64_t deadlineUnixMs(const plugins::Plugin& provider) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             (std::chrono::system_clock::now() + provider.deadline()).time_since_epoch())
      .count();
}

std::string lateError(const plugins::Plugin& provider) {
  return fmt::format("billing provider {} did not answer within {} ms", provider.id(),
                     provider.deadline().count());
}

// One call into `provider` on its lane under its deadline; `fn` makes the ABI call with the
// request (the worker's own copy: the caller may be gone when it runs), the context and the
// sink, and returns its status.
template <class Fn>
Payment call(plugins::Plugin& provider, const ChargeRequest& r, Fn fn) {
  const int64_t deadline_ms = deadlineUnixMs(provider);
  auto out =
      plugins::callWithDeadline<Payment>(provider, r.tenant_id, [&provider, r, fn, deadline_ms] {
        const tg_call_ctx ctx{.struct_size = sizeof(tg_call_ctx),
                              .tenant_id = str(r.tenant_id),
                              .request_id = str(r.request_id),
                              .deadline_unix_ms = deadline_ms};
        Payment p;
        bool answered = false;
        struct Sink {
          Payment* p;
          bool* answered;
        } sink{&p, &answered};
        const tg_billing_result_sink s{
            &sink, [](void* c, const tg_billing_result* res) noexcept {
              auto* k = static_cast<Sink*>(c);
              *k->answered = plugins::stopAtBoundary("billing result sink", nullptr, [&] {
                k->p->state = res->state;
                k->p->provider_ref = text(res->provider_ref);
                k->p->amount_micros = res->amount.amount_micros;
                k->p->currency.assign(res->amount.currency, strnlen(res->amount.currency, 4));
                k->p->failure = text(res->failure);
              });
            }};
        tg_error err{};
        p.status = fn(provider, r, &ctx, s, &err);
        if (p.status != TG_OK) {
          err.message[sizeof err.message - 1] = '\0';
          p.error = err.message;
        } else if (!answered) {
          p.status = TG_ERR_INTERNAL;
          p.error = "the provider returned TG_OK without a result";
        }
        return p;
      });
  if (!out) {
    Payment late;
    late.status = TG_ERR_UNAVAILABLE;
    late.error = lateError(provider);
    return late;
  }
  // What a provider says it charged is checked, not trusted: another amount or currency than
  // asked for is the provider's bug, and no entry may be written from it.
  if (out->status == TG_OK && out->state == TG_PAYMENT_SUCCEEDED &&
      (out->amount_micros != r.amount_micros || out->currency != r.currency)) {
    out->status = TG_ERR_INTERNAL;
    out->error = fmt::format("billing provider {} answered {} {} for {} {}", provider.id(),
                             out->amount_micros, out->currency, r.amount_micros, r.currency);
  }
  return *out;
}

}  // namespace

Billing::Billing(plugins::PluginHost& host) {
  for (plugins::Plugin* p : host.all()) {
    if (p->kind() == TG_KIND_BILLING) providers_.push_back(p);
  }
}

plugins::Plugin* Billing::provider(std::string_view id) const {
  for (plugins::Plugin* p : providers_) {
    if (p->id() == id) return p;
  }
  return nullptr;
}

std::vector<std::string> Billing::providerIds() const {
  std::vector<std::string> out;
  for (plugins::Plugin* p : providers_) out.push_back(p->id());
  return out;
}

Payment Billing::registerCustomer(plugins::Plugin& provider, const ChargeRequest& r) const {
  return call(provider, r,
              [](plugins::Plugin& p, const ChargeRequest& r, const tg_call_ctx* ctx,
                 tg_billing_result_sink sink, tg_error* err) {
                const tg_billing_customer c{.struct_size = sizeof(tg_billing_customer),
                                            .email = {},
                                            .display_name = str(r.description)};
                return p.vtable<tg_billing_vtable>()->register_customer(p.instance(), ctx, &c, sink,
                                                                        err);
              });
}

Payment Billing::charge(plugins::Plugin& provider, const ChargeRequest& r) const {
  return call(provider, r,
              [](plugins::Plugin& p, const ChargeRequest& r, const tg_call_ctx* ctx,
                 tg_billing_result_sink sink, tg_error* err) {
                const tg_billing_charge c{.struct_size = sizeof(tg_billing_charge),
                                          .customer_ref = str(r.customer_ref),
                                          .amount = money(r.amount_micros, r.currency),
                                          .idempotency_key = str(r.idempotency_key),
                                          .description = str(r.description)};
                return p.vtable<tg_billing_vtable>()->charge(p.instance(), ctx, &c, sink, err);
              });
}

Payment Billing::refund(plugins::Plugin& provider, const ChargeRequest& r,
                        const std::string& payment_ref) const {
  return call(provider, r,
              [payment_ref](plugins::Plugin& p, const ChargeRequest& r, const tg_call_ctx* ctx,
                            tg_billing_result_sink sink, tg_error* err) {
                return p.vtable<tg_billing_vtable>()->refund(p.instance(), ctx, str(payment_ref),
                                                             money(r.amount_micros, r.currency),
                                                             str(r.idempotency_key), sink, err);
              });
}

std::string paymentLedgerKey(std::string_view provider_id, std::string_view payment_ref) {
  // billing-stripe's are "stripe:pi_...", the key the Stripe webhook has always used.
  const std::string_view prefix = provider_id == "billing-stripe" ? "stripe" : provider_id;
  return fmt::format("{}:{}", prefix, payment_ref);
}

Methods Billing::paymentMethods(plugins::Plugin& provider, const MethodsRequest& r) const {
  const auto* vt = provider.vtable<tg_billing_vtable>();
  if (!TG_HAS_FIELD(tg_billing_vtable, vt->struct_size, payment_methods) ||
      vt->payment_methods == nullptr) {
    Methods none;
    none.status = TG_ERR_UNSUPPORTED;
    none.error = fmt::format(
        "billing provider {} keeps no payment methods (it has no payment_methods callback, "
        "which plugin ABI 1.6 added)",
        provider.id());
    return none;
  }
  const int64_t deadline_ms = deadlineUnixMs(provider);
  auto out = plugins::callWithDeadline<Methods>(provider, r.tenant_id, [&provider, r, deadline_ms] {
    const tg_call_ctx ctx{.struct_size = sizeof(tg_call_ctx),
                          .tenant_id = str(r.tenant_id),
                          .request_id = str(r.request_id),
                          .deadline_unix_ms = deadline_ms};
    const tg_payment_method_request req{.struct_size = sizeof(tg_payment_method_request),
                                        .action = r.action,
                                        .customer_ref = str(r.customer_ref),
                                        .method_ref = str(r.method_ref),
                                        .make_default = r.make_default ? 1 : 0,
                                        .idempotency_key = str(r.idempotency_key)};
    struct Sink {
      plugins::Plugin* provider;
      Methods methods;
      std::string refused;  // a row the host could not read
    } sink{&provider, {}, {}};
    const tg_payment_method_sink s{
        &sink, [](void* c, const tg_payment_method_row* row) noexcept {
          auto* k = static_cast<Sink*>(c);
          plugins::stopAtBoundary(
              "payment method sink", &k->provider->stats().host_exceptions, [&] {
                if (!TG_HAS_FIELD(tg_payment_method_row, row->struct_size, is_default)) {
                  k->refused = fmt::format("a tg_payment_method_row of {} bytes, shorter than {}",
                                           row->struct_size, sizeof(tg_payment_method_row));
                  return;
                }
                k->methods.methods.push_back(PaymentMethod{.ref = text(row->method_ref),
                                                           .brand = text(row->brand),
                                                           .last4 = text(row->last4),
                                                           .exp_month = row->exp_month,
                                                           .exp_year = row->exp_year,
                                                           .is_default = row->is_default != 0});
              });
        }};
    tg_error err{};
    Methods& m = sink.methods;
    m.status = provider.vtable<tg_billing_vtable>()->payment_methods(provider.instance(), &ctx,
                                                                     &req, s, &err);
    if (m.status != TG_OK) {
      err.message[sizeof err.message - 1] = '\0';
      m.error = err.message;
      m.methods.clear();
    } else if (!sink.refused.empty()) {
      m.status = TG_ERR_INTERNAL;
      m.error = fmt::format("billing provider {} answered {}", provider.id(), sink.refused);
      m.methods.clear();
    }
    return std::move(m);
  });
  if (!out) {
    Methods late;
    late.status = TG_ERR_UNAVAILABLE;
    late.error = lateError(provider);
    return late;
  }
  return *out;
}

}  // namespace tollgate::billing
