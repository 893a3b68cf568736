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

/* --- ABI 1.5: outbound HTTP(S) through the host (tg_host_api.http_request) --- */

/* One request. Borrowed for the duration of the call. */
typedef struct tg_http_request {
  uint32_t struct_size;
  tg_str method;        /* GET, HEAD, POST, PUT, PATCH or DELETE */
  tg_str url;           /* absolute http:// or https:// URL, query included */
  const tg_kv* headers; /* header_count pairs; NULL when header_count is 0. The host sets Host,
                           Content-Length and Connection itself and refuses them here */
  size_t header_count;
  tg_str body;         /* sent with a Content-Length when not empty */
  int64_t timeout_ms;  /* > 0: give up after this long; 0: only the call's deadline. The earlier
                          of the two applies */
} tg_http_request;

/* The response, valid only for the duration of the sink's call. */
typedef struct tg_http_response {
  uint32_t struct_size;
  int32_t status;       /* the HTTP status code, whatever it is (4xx and 5xx included) */
  const tg_kv* headers; /* as received, in order; names as the server wrote them */
  size_t header_count;
  tg_str body;
} tg_http_response;

typedef struct tg_http_response_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_http_response* response);
} tg_http_response_sink;

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

  /* --- ABI 1.5 --- */

  /* Sends one HTTP(S) request and waits for the whole response. TLS is the daemon's: the
   * certificate chain and the host name are verified, TLS 1.2 or newer; a plugin never opens
   * connections of its own. Connections are kept alive and reused across calls. `ctx` may be
   * NULL outside a call (in init): then only timeout_ms bounds it (10 s when 0).
   * Returns:
   *   TG_OK                      the response was received; the sink was called once
   *   TG_ERR_INVALID_ARGUMENT    bad method, URL or header (the message names it); nothing sent
   *   TG_ERR_UNAVAILABLE         nothing reached the server as a whole request: the name did not
   *                              resolve, the connection or TLS failed (the message says why, a
   *                              refused certificate included) or time ran out first. Safe to retry
   *   TG_ERR_OUTCOME_UNKNOWN     the request was sent but no whole response came back (the
   *                              connection broke or time ran out): it may have taken effect
   * A request sent on a reused connection that the server had already closed is sent again on
   * a new one only when it is replayable: GET, HEAD, PUT, DELETE, or one with an
   * Idempotency-Key header. Responses are limited to 16 MiB. Thread-safe. */
  tg_status (*http_request)(void* host_ctx, const tg_call_ctx* ctx, const tg_http_request* request,
                            tg_http_response_sink sink, tg_error* err);
} tg_host_api;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_HOST_H */
