/* Tollgate plugin ABI v1: the plugin descriptor and its entry symbol.
 *
 * A plugin is a shared object that exports exactly one symbol, TG_PLUGIN_ENTRY_SYMBOL, a
 * function returning a pointer to a static tg_plugin_descriptor. The host
 *   1. calls the entry function and checks struct_size, ABI major/minor, kind and vtable size;
 *   2. validates the plugin's settings against `config_keys`;
 *   3. calls init() once, then the kind's vtable functions from any thread, concurrently;
 *   4. never unloads the shared object while the process lives (shutdown() runs at exit).
 */
#ifndef TOLLGATE_ABI_PLUGIN_H
#define TOLLGATE_ABI_PLUGIN_H

#include "common.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_PLUGIN_ENTRY_SYMBOL "tollgate_plugin_entry_v1"

/* Plugin kinds. Zero is deliberately not a kind. */
typedef int32_t tg_plugin_kind;
#define TG_KIND_STORAGE 1      /* vtable: tg_storage_vtable (storage.h) */
#define TG_KIND_VOICE 2        /* vtable: tg_voice_vtable (voice.h) */
#define TG_KIND_SMS_KEYWORDS 3 /* vtable: tg_sms_vtable (sms.h) */
#define TG_KIND_BILLING 4      /* vtable: tg_billing_vtable (billing.h) */
#define TG_KIND_PRICING 5      /* vtable: tg_pricing_vtable (pricing.h) */

/* Types of configuration values, for validation by `tollgated --check-config`. */
typedef int32_t tg_config_type;
#define TG_CONFIG_STRING 1
#define TG_CONFIG_INT 2  /* decimal int64 */
#define TG_CONFIG_BOOL 3 /* true/false, yes/no, on/off, 1/0 */
#define TG_CONFIG_PATH 4 /* file system path; relative paths are relative to the state dir */

/* One configuration key the plugin understands. Static, owned by the plugin. */
typedef struct tg_config_key {
  uint32_t struct_size;
  tg_str name;          /* key in the [settings] section, [a-z0-9_]+ */
  tg_config_type type;  /* TG_CONFIG_* */
  int32_t required;     /* non-zero: the plugin cannot start without it */
  tg_str default_value; /* used when absent and not required; may be empty */
  tg_str help;          /* one line for `tollgated --help-plugin` and check-config messages */
} tg_config_key;

typedef struct tg_plugin_descriptor {
  uint32_t struct_size; /* sizeof(tg_plugin_descriptor) as compiled into the plugin */
  uint16_t abi_major;   /* TG_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;   /* TG_ABI_MINOR the plugin was built against */
  tg_str id;            /* static; unique among loaded plugins, [a-z0-9-]+, e.g. "storage-sqlite" */
  tg_str version;       /* static; the plugin's own version, e.g. "1.2.0" */
  tg_plugin_kind kind;  /* TG_KIND_* */
  const void* vtable;   /* static; the kind's vtable, which starts with its own struct_size */

  const tg_config_key* config_keys; /* static array, may be NULL when count is 0 */
  size_t config_key_count;

  /* Creates the plugin instance. `host` is owned by the host and valid for the process
   * lifetime. On success sets *out_instance (owned by the plugin, passed back to every call)
   * and returns TG_OK; on failure fills *err and returns another status. Required. */
  tg_status (*init)(const tg_host_api* host, void** out_instance, tg_error* err);

  /* Releases the instance at process exit. No call is in flight when it runs. Optional. */
  void (*shutdown)(void* instance);
} tg_plugin_descriptor;

/* Signature of the exported entry symbol. Must not fail and must not allocate. */
typedef const tg_plugin_descriptor* (*tg_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_PLUGIN_H */
