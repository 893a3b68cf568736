/* A plugin written against the raw C ABI, compiled several times with one VARIANT_* defined to
 * produce each malformed plugin the loader must reject. */
#include <string.h>
#include <tollgate/abi/tollgate.h>

static tg_status on_inbound(void* instance, const tg_call_ctx* ctx, const tg_sms_inbound* msg,
                            tg_sms_decision_sink sink, tg_error* err) {
  tg_sms_decision d;
  (void)instance;
  (void)ctx;
  (void)msg;
  (void)err;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.action = TG_SMS_IGNORE;
  sink.fn(sink.ctx, &d);
  return TG_OK;
}

static tg_status init(const tg_host_api* host, void** out, tg_error* err) {
  (void)host;
  (void)err;
  *out = NULL;
  return TG_OK;
}

static const tg_sms_vtable vtable = {sizeof(tg_sms_vtable), on_inbound};
/* A storage vtable that stops after migrate: far too short for ABI 1.0. */
__attribute__((unused)) static const uint32_t short_vtable[2] = {sizeof(uint32_t) * 2, 0};

__attribute__((unused)) static tg_plugin_descriptor descriptor = {sizeof(tg_plugin_descriptor),
                                                                  TG_ABI_MAJOR,
                                                                  TG_ABI_MINOR,
                                                                  {"raw-test", 8},
                                                                  {"0.0.1", 5},
                                                                  TG_KIND_SMS_KEYWORDS,
                                                                  &vtable,
                                                                  NULL,
                                                                  0,
                                                                  init,
                                                                  NULL};

#ifdef VARIANT_STORAGE_V10
/* A storage plugin exactly as built against ABI 1.0: every 1.0 callback present, nothing of
 * 1.1. The loader must accept it; tollgated 1.1 must refuse to use it as its storage. Never
 * called: the daemon checks the vtable size first. */
static tg_status unsupported(void) { return TG_ERR_UNSUPPORTED; }
typedef void (*any_fn)(void); /* the generic function pointer type GCC allows casts through */
#define STUB(type) ((type)(any_fn)unsupported)
static const tg_storage_vtable storage_v10 = {
    offsetof(tg_storage_vtable, number_put),
    STUB(tg_status (*)(void*, const tg_call_ctx*, int64_t*, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const tg_tenant_row*, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_str, tg_tenant_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_str, uint32_t, tg_tenant_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_str, tg_tenant_status, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const tg_api_key_row*, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_str, tg_api_key_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_api_key_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_str, int64_t, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const tg_wallet_row*, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const char[4], tg_wallet_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const tg_ledger_apply_request*,
                       tg_ledger_apply_result*, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const char[4], int64_t, uint32_t,
                       tg_ledger_entry_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, const tg_idempotency_row*, int32_t*,
                       tg_idempotency_sink, tg_error*)),
    STUB(tg_status (*)(void*, const tg_call_ctx*, tg_str, tg_str, int32_t, tg_str, tg_error*)),
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL};
#endif

#ifndef VARIANT_NO_ENTRY
__attribute__((visibility("default"))) const tg_plugin_descriptor* tollgate_plugin_entry_v1(void) {
#if defined(VARIANT_ABI_MAJOR)
  descriptor.abi_major = TG_ABI_MAJOR + 1;
#elif defined(VARIANT_ABI_MINOR)
  descriptor.abi_minor = TG_ABI_MINOR + 1;
#elif defined(VARIANT_STORAGE_V10)
  descriptor.abi_minor = 0;
  descriptor.kind = TG_KIND_STORAGE;
  descriptor.id.data = "raw-storage-v10";
  descriptor.id.size = 15;
  descriptor.vtable = &storage_v10;
#elif defined(VARIANT_SHORT_VTABLE)
  descriptor.kind = TG_KIND_STORAGE;
  descriptor.vtable = short_vtable;
#endif
  return &descriptor;
}
#else
__attribute__((visibility("default"))) int tollgate_plugin_entry_v0(void) { return 0; }
#endif
