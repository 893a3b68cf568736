/* A golden plugin: an SMS keyword processor written in C against the plugin ABI 1.0 headers
 * as released (tests/abi/golden/abi-1.0/, copied from the commit before ABI 1.1 and never
 * edited). Every later tollgated must keep loading and calling it (tests/loader/golden_test.cpp).
 * Do not change this file or those headers: they stand for a plugin already built and shipped.
 *
 * Settings: prefix (string, default "golden"). Replies "<prefix> <body>"; logs at shutdown. */
#include <stdio.h>
#include <string.h>
#include <tollgate/abi/tollgate.h>

#if TG_ABI_MAJOR != 1 || TG_ABI_MINOR != 0
#error "the golden plugin must be built against the ABI 1.0 headers in tests/abi/golden/abi-1.0"
#endif

typedef struct golden {
  const tg_host_api* host;
  char prefix[64];
} golden;

static golden g_instance;

static tg_str text(const char* s) {
  tg_str out;
  out.data = s;
  out.size = strlen(s);
  return out;
}

static tg_status on_inbound(void* instance, const tg_call_ctx* ctx, const tg_sms_inbound* msg,
                            tg_sms_decision_sink sink, tg_error* err) {
  golden* g = (golden*)instance;
  char reply[256];
  tg_sms_decision d;
  (void)ctx;
  (void)err;
  snprintf(reply, sizeof reply, "%s %.*s", g->prefix,
           (int)(msg->body.size < 128 ? msg->body.size : 128),
           msg->body.data ? msg->body.data : "");
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.action = TG_SMS_REPLY;
  d.reply_body = text(reply);
  sink.fn(sink.ctx, &d);
  g->host->metric_add(g->host->host_ctx, text("golden_answers"), 1);
  return TG_OK;
}

static tg_status init(const tg_host_api* host, void** out, tg_error* err) {
  tg_str prefix = {NULL, 0};
  (void)err;
  g_instance.host = host;
  strcpy(g_instance.prefix, "golden");
  if (host->config_get(host->host_ctx, text("prefix"), &prefix) == TG_OK && prefix.size > 0 &&
      prefix.size < sizeof g_instance.prefix) {
    memcpy(g_instance.prefix, prefix.data, prefix.size);
    g_instance.prefix[prefix.size] = '\0';
  }
  *out = &g_instance;
  return TG_OK;
}

static void shutdown(void* instance) {
  golden* g = (golden*)instance;
  g->host->log(g->host->host_ctx, TG_LOG_INFO, text("golden plugin 1.0 shut down"));
}

static const tg_sms_vtable vtable = {sizeof(tg_sms_vtable), on_inbound};

static const tg_config_key keys[1] = {
    {sizeof(tg_config_key),
     {"prefix", 6},
     TG_CONFIG_STRING,
     0,
     {"golden", 6},
     {"reply prefix", 12}},
};

static const tg_plugin_descriptor descriptor = {sizeof(tg_plugin_descriptor),
                                                TG_ABI_MAJOR,
                                                TG_ABI_MINOR,
                                                {"golden-sms-1-0", 14},
                                                {"1.0.0", 5},
                                                TG_KIND_SMS_KEYWORDS,
                                                &vtable,
                                                keys,
                                                1,
                                                init,
                                                shutdown};

__attribute__((visibility("default"))) const tg_plugin_descriptor* tollgate_plugin_entry_v1(void) {
  return &descriptor;
}
