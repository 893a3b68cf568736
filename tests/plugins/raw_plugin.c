/* A plugin written against the raw C ABI, compiled several times with one VARIANT_* defined to
 * produce each malformed (or merely unusual) plugin the host must handle. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tollgate/abi/tollgate.h>

static const tg_host_api* g_host;

/* Text that claims to be longer than any string can be: a host that copies it must fail (and
 * stop the failure at the boundary) before it reads a byte. */
static tg_str huge(const char* text) {
  tg_str s;
  s.data = text;
  s.size = SIZE_MAX / 2;
  return s;
}

static tg_str text(const char* s) {
  tg_str out;
  out.data = s;
  out.size = strlen(s);
  return out;
}

static tg_status on_inbound(void* instance, const tg_call_ctx* ctx, const tg_sms_inbound* msg,
                            tg_sms_decision_sink sink, tg_error* err) {
  tg_sms_decision d;
  char reply[64];
  (void)instance;
  (void)ctx;
  (void)msg;
  (void)err;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.action = TG_SMS_IGNORE;
#ifdef VARIANT_HOST_THROWS
  {
    tg_str value = {NULL, 0};
    const tg_status st = g_host->config_get(g_host->host_ctx, huge("key"), &value);
    g_host->metric_add(g_host->host_ctx, huge("counter"), 1);
    snprintf(reply, sizeof reply, "config_get status %d", (int)st);
    d.action = TG_SMS_REPLY;
    d.reply_body = text(reply);
  }
#else
  (void)reply;
  (void)huge;
#endif
  sink.fn(sink.ctx, &d);
  return TG_OK;
}

static tg_status init(const tg_host_api* host, void** out, tg_error* err) {
  (void)err;
  g_host = host;
  *out = NULL;
  return TG_OK;
}

static void shutdown(void* instance) {
  (void)instance;
  g_host->log(g_host->host_ctx, TG_LOG_INFO, text("raw plugin shut down"));
}

static const tg_sms_vtable vtable = {sizeof(tg_sms_vtable), on_inbound};
/* A storage vtable that stops after migrate: far too short for ABI 1.0. */
__attribute__((unused)) static const uint32_t short_vtable[2] = {sizeof(uint32_t) * 2, 0};

#ifdef VARIANT_CONFIG_STRIDE
/* Configuration keys as a plugin built against a newer minor lays them out: each element has
 * a field this host does not know, so the array's stride is larger than the host's struct. */
typedef struct newer_config_key {
  tg_config_key key;
  int64_t field_of_a_newer_minor;
} newer_config_key;
static const newer_config_key newer_keys[2] = {
    {{sizeof(newer_config_key), {"greeting", 8}, TG_CONFIG_STRING, 0, {"hello", 5}, {"hi", 2}}, -1},
    {{sizeof(newer_config_key), {"retries", 7}, TG_CONFIG_INT, 1, {NULL, 0}, {"count", 5}}, -1},
};
#endif

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
                                                                  shutdown};

#ifdef VARIANT_STORAGE
/* A storage plugin with every ABI 1.1 callback set; each VARIANT_STORAGE_* below takes
 * something away. Only the callbacks of VARIANT_STORAGE_ROWS do anything. */
static tg_status unsupported(void) { return TG_ERR_UNSUPPORTED; }
typedef void (*any_fn)(void); /* the generic function pointer type GCC allows casts through */
#define STUB(type) ((type)(any_fn)unsupported)

/* tenant_get delivers a row whose name no host can copy; tenant_list a row shorter than ABI
 * 1.0's tg_tenant_row. */
static tg_status tenant_get(void* instance, const tg_call_ctx* ctx, tg_str id, tg_tenant_sink sink,
                            tg_error* err) {
  tg_tenant_row row;
  (void)instance;
  (void)ctx;
  (void)err;
  memset(&row, 0, sizeof row);
  row.struct_size = sizeof row;
  row.id = id;
  row.name = huge("name");
  row.status = TG_TENANT_ACTIVE;
  sink.fn(sink.ctx, &row);
  return TG_OK;
}
static tg_status tenant_list(void* instance, const tg_call_ctx* ctx, tg_str after_id,
                             uint32_t limit, tg_tenant_sink sink, tg_error* err) {
  tg_tenant_row row;
  (void)instance;
  (void)ctx;
  (void)after_id;
  (void)limit;
  (void)err;
  memset(&row, 0, sizeof row);
  row.struct_size = offsetof(tg_tenant_row, name); /* id only */
  row.id = text("tn_short");
  sink.fn(sink.ctx, &row);
  return TG_OK;
}

static tg_storage_vtable storage = {
    .struct_size = sizeof(tg_storage_vtable),
    .migrate = STUB(tg_status(*)(void*, const tg_call_ctx*, int64_t*, tg_error*)),
    .tenant_create = STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_tenant_row*, tg_error*)),
    .tenant_get = tenant_get,
    .tenant_list = tenant_list,
    .tenant_set_status =
        STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_tenant_status, tg_error*)),
    .api_key_create =
        STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_api_key_row*, tg_error*)),
    .api_key_get =
        STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_api_key_sink, tg_error*)),
    .api_key_list = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_api_key_sink, tg_error*)),
    .api_key_revoke = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, int64_t, tg_error*)),
    .wallet_create = STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_wallet_row*, tg_error*)),
    .wallet_get =
        STUB(tg_status(*)(void*, const tg_call_ctx*, const char[4], tg_wallet_sink, tg_error*)),
    .ledger_apply = STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_ledger_apply_request*,
                                      tg_ledger_apply_result*, tg_error*)),
    .ledger_list = STUB(tg_status(*)(void*, const tg_call_ctx*, const char[4], int64_t, uint32_t,
                                     tg_ledger_entry_sink, tg_error*)),
    .idempotency_claim = STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_idempotency_row*,
                                           int32_t*, tg_idempotency_sink, tg_error*)),
    .idempotency_complete =
        STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_str, int32_t, tg_str, tg_error*)),
    .number_put = STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_number_row*, tg_error*)),
    .number_get = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_number_sink, tg_error*)),
    .number_list = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_number_sink, tg_error*)),
    .number_detach = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_error*)),
    .twilio_account_put =
        STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_twilio_account_row*, tg_error*)),
    .twilio_account_get =
        STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_twilio_account_sink, tg_error*)),
    .message_insert =
        STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_message_row*, tg_error*)),
    .message_update_status = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_str, int32_t,
                                               int32_t, int64_t, int32_t*, tg_error*)),
    .message_get =
        STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_message_sink, tg_error*)),
    .message_list = STUB(
        tg_status(*)(void*, const tg_call_ctx*, const tg_log_query*, tg_message_sink, tg_error*)),
    .call_insert = STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_call_row*, tg_error*)),
    .call_update_status = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_str, int32_t,
                                            int32_t, int64_t, int32_t*, tg_error*)),
    .call_set_recording =
        STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_str, int64_t, tg_error*)),
    .call_get = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, tg_call_sink, tg_error*)),
    .call_list =
        STUB(tg_status(*)(void*, const tg_call_ctx*, const tg_log_query*, tg_call_sink, tg_error*)),
    .optout_set = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, int32_t, tg_str, tg_str,
                                    int64_t, tg_error*)),
    .optout_get = STUB(tg_status(*)(void*, const tg_call_ctx*, tg_str, int32_t*, tg_error*)),
};
#endif

#ifndef VARIANT_NO_ENTRY
__attribute__((visibility("default"))) const tg_plugin_descriptor* tollgate_plugin_entry_v1(void) {
#ifdef VARIANT_STORAGE
  descriptor.kind = TG_KIND_STORAGE;
  descriptor.vtable = &storage;
  descriptor.shutdown = NULL;
#endif
#ifdef PLUGIN_ID
  descriptor.id = text(PLUGIN_ID);
#endif
#if defined(VARIANT_ABI_MAJOR)
  descriptor.abi_major = TG_ABI_MAJOR + 1;
#elif defined(VARIANT_ABI_MINOR)
  descriptor.abi_minor = TG_ABI_MINOR + 1;
#elif defined(VARIANT_STORAGE_V10)
  /* Exactly as built against ABI 1.0: the vtable ends before the 1.1 callbacks (whatever lies
   * beyond its struct_size is not the plugin's to offer). The loader must accept it; tollgated
   * 1.1 must refuse to use it as its storage. */
  descriptor.abi_minor = 0;
  storage.struct_size = offsetof(tg_storage_vtable, number_put);
#elif defined(VARIANT_STORAGE_NULL_LEDGER_LIST)
  storage.ledger_list = NULL; /* required since ABI 1.0 */
#elif defined(VARIANT_STORAGE_NULL_MESSAGE_INSERT)
  storage.message_insert = NULL; /* required since ABI 1.1 */
#elif defined(VARIANT_CONFIG_STRIDE)
  descriptor.config_keys = &newer_keys[0].key;
  descriptor.config_key_count = 2;
#elif defined(VARIANT_SHORT_VTABLE)
  descriptor.kind = TG_KIND_STORAGE;
  descriptor.vtable = short_vtable;
#endif
  return &descriptor;
}
#else
__attribute__((visibility("default"))) int tollgate_plugin_entry_v0(void) { return 0; }
#endif
