/* Tollgate plugin ABI v1: the table of functions the host offers to a plugin.
 *
 * The table is append-only; entries are grouped by the ABI minor version that added them. A
 * plugin built against a newer header checks TG_HAS_FIELD(tg_host_api, host->struct_size, fn)
 * before calling an entry added after 1.0. Each plugin receives its own `host_ctx`, so logging
 * and configuration lookups are already scoped to that plugin.
 */
#ifndef TOLLGATE_ABI_HOST_H
#define TOLLGATE_ABI_HOST_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_host_api {
  uint32_t struct_size; /* sizeof(tg_host_api) as compiled into the host */
  uint16_t abi_major;   /* host's TG_ABI_MAJOR */
  uint16_t abi_minor;   /* host's TG_ABI_MINOR */
  void* host_ctx;       /* opaque, owned by the host, valid for the process lifetime; pass it
                           back as the first argument of every function below */

  /* --- ABI 1.0 --- */

  /* Writes one log line attributed to the plugin. Thread-safe. */
  void (*log)(void* host_ctx, int32_t level, tg_str message);

  /* Looks up the plugin's own setting `key` (from the [settings] section of its plugins.d
   * file, or the declared default). Returns TG_OK and sets *out_value, or TG_ERR_NOT_FOUND.
   * The returned text is owned by the host and stays valid and unchanged for the lifetime of
   * the plugin instance. Thread-safe. */
  tg_status (*config_get)(void* host_ctx, tg_str key, tg_str* out_value);

  /* Wall-clock time, milliseconds since the Unix epoch. Tests may substitute a fake clock. */
  int64_t (*now_unix_ms)(void* host_ctx);

  /* Adds `delta` to the plugin's counter `name` (exported as a metric labelled with the
   * plugin id). Names are [a-z0-9_]+. Thread-safe. */
  void (*metric_add)(void* host_ctx, tg_str name, int64_t delta);

  /* Absolute path of the daemon's state directory (e.g. /var/lib/tollgate), where a plugin may
   * keep files. Owned by the host, valid for the process lifetime. */
  tg_str (*state_dir)(void* host_ctx);
} tg_host_api;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_HOST_H */
