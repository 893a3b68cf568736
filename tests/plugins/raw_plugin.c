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

#ifndef VARIANT_NO_ENTRY
__attribute__((visibility("default"))) const tg_plugin_descriptor* tollgate_plugin_entry_v1(void) {
#if defined(VARIANT_ABI_MAJOR)
  descriptor.abi_major = TG_ABI_MAJOR + 1;
#elif defined(VARIANT_ABI_MINOR)
  descriptor.abi_minor = TG_ABI_MINOR + 1;
#elif defined(VARIANT_SHORT_VTABLE)
  descriptor.kind = TG_KIND_STORAGE;
  descriptor.vtable = short_vtable;
#endif
  return &descriptor;
}
#else
__attribute__((visibility("default"))) int tollgate_plugin_entry_v0(void) { return 0; }
#endif
