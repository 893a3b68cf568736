// A C++ plugin that ignores the SDK and lets an exception escape init() across the C ABI.
#include <tollgate/abi/tollgate.h>

#include <stdexcept>

namespace {
tg_status onInbound(void*, const tg_call_ctx*, const tg_sms_inbound*, tg_sms_decision_sink,
                    tg_error*) {
  return TG_OK;
}
tg_status init(const tg_host_api*, void**, tg_error*) { throw std::runtime_error("boom in init"); }
const tg_sms_vtable kVtable = {sizeof(tg_sms_vtable), onInbound};
const tg_plugin_descriptor kDescriptor = {sizeof(tg_plugin_descriptor),
                                          TG_ABI_MAJOR,
                                          TG_ABI_MINOR,
                                          {"init-throws", 11},
                                          {"0.0.1", 5},
                                          TG_KIND_SMS_KEYWORDS,
                                          &kVtable,
                                          nullptr,
                                          0,
                                          init,
                                          nullptr};
}  // namespace

extern "C" __attribute__((visibility("default"))) const tg_plugin_descriptor*
tollgate_plugin_entry_v1() {
  return &kDescriptor;
}
