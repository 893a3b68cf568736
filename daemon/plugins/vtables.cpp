#include "plugins/vtables.hpp"

#include <cstring>
#include <iterator>

namespace tollgate::plugins {
namespace {

#define TG_SLOT(vtable, field, minor) \
  CallbackSlot { #field, offsetof(vtable, field), minor }

constexpr CallbackSlot kStorage[] = {
    // ABI 1.0
    TG_SLOT(tg_storage_vtable, migrate, 0),
    TG_SLOT(tg_storage_vtable, tenant_create, 0),
    TG_SLOT(tg_storage_vtable, tenant_get, 0),
    TG_SLOT(tg_storage_vtable, tenant_list, 0),
    TG_SLOT(tg_storage_vtable, tenant_set_status, 0),
    TG_SLOT(tg_storage_vtable, api_key_create, 0),
    TG_SLOT(tg_storage_vtable, api_key_get, 0),
    TG_SLOT(tg_storage_vtable, api_key_list, 0),
    TG_SLOT(tg_storage_vtable, api_key_revoke, 0),
    TG_SLOT(tg_storage_vtable, wallet_create, 0),
    TG_SLOT(tg_storage_vtable, wallet_get, 0),
    TG_SLOT(tg_storage_vtable, ledger_apply, 0),
    TG_SLOT(tg_storage_vtable, ledger_list, 0),
    TG_SLOT(tg_storage_vtable, idempotency_claim, 0),
    TG_SLOT(tg_storage_vtable, idempotency_complete, 0),
    // ABI 1.1
    TG_SLOT(tg_storage_vtable, number_put, 1),
    TG_SLOT(tg_storage_vtable, number_get, 1),
    TG_SLOT(tg_storage_vtable, number_list, 1),
    TG_SLOT(tg_storage_vtable, number_detach, 1),
    TG_SLOT(tg_storage_vtable, twilio_account_put, 1),
    TG_SLOT(tg_storage_vtable, twilio_account_get, 1),
    TG_SLOT(tg_storage_vtable, message_insert, 1),
    TG_SLOT(tg_storage_vtable, message_update_status, 1),
    TG_SLOT(tg_storage_vtable, message_get, 1),
    TG_SLOT(tg_storage_vtable, message_list, 1),
    TG_SLOT(tg_storage_vtable, call_insert, 1),
    TG_SLOT(tg_storage_vtable, call_update_status, 1),
    TG_SLOT(tg_storage_vtable, call_set_recording, 1),
    TG_SLOT(tg_storage_vtable, call_get, 1),
    TG_SLOT(tg_storage_vtable, call_list, 1),
    TG_SLOT(tg_storage_vtable, optout_set, 1),
    TG_SLOT(tg_storage_vtable, optout_get, 1),
};
constexpr CallbackSlot kVoice[] = {TG_SLOT(tg_voice_vtable, on_call, 0)};
constexpr CallbackSlot kSms[] = {TG_SLOT(tg_sms_vtable, on_inbound, 0)};
constexpr CallbackSlot kBilling[] = {
    TG_SLOT(tg_billing_vtable, register_customer, 0),
    TG_SLOT(tg_billing_vtable, charge, 0),
    TG_SLOT(tg_billing_vtable, refund, 0),
};
constexpr CallbackSlot kPricing[] = {TG_SLOT(tg_pricing_vtable, price, 0)};

#undef TG_SLOT

using AnyFn = void (*)();

}  // namespace

std::span<const CallbackSlot> requiredCallbacks(tg_plugin_kind kind) {
  switch (kind) {
    case TG_KIND_STORAGE:
      return kStorage;
    case TG_KIND_VOICE:
      return kVoice;
    case TG_KIND_SMS_KEYWORDS:
      return kSms;
    case TG_KIND_BILLING:
      return kBilling;
    case TG_KIND_PRICING:
      return kPricing;
    default:
      return {};
  }
}

bool holds(uint32_t vtable_size, const CallbackSlot& slot) {
  return vtable_size >= slot.offset + sizeof(AnyFn);
}

bool isSet(const void* vtable, const CallbackSlot& slot) {
  uint32_t size = 0;
  std::memcpy(&size, vtable, sizeof size);
  if (!holds(size, slot)) return false;
  AnyFn fn = nullptr;
  std::memcpy(&fn, static_cast<const unsigned char*>(vtable) + slot.offset, sizeof fn);
  return fn != nullptr;
}

const CallbackSlot* firstMissing(tg_plugin_kind kind, const void* vtable, uint16_t up_to_minor) {
  for (const CallbackSlot& slot : requiredCallbacks(kind)) {
    if (slot.since_minor <= up_to_minor && !isSet(vtable, slot)) return &slot;
  }
  return nullptr;
}

}  // namespace tollgate::plugins
