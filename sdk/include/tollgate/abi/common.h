/* Tollgate plugin ABI v1: value types shared by every plugin kind.
 *
 * C99, depends only on <stdint.h> and <stddef.h>. This header is the stable contract between
 * tollgated and its plugins; see docs/abi-policy.md for what may change in a minor version.
 *
 * Conventions used in every ABI header:
 *   - Strings cross as tg_str (pointer + length, not NUL-terminated unless stated).
 *   - Money crosses as int64 micro-units plus an ISO 4217 code (tg_money); never floating point.
 *   - Nothing throws across the boundary: calls return tg_status and fill a caller-owned tg_error.
 *   - Extensible structs start with `struct_size`; fields are only ever appended. A reader uses
 *     TG_HAS_FIELD() before touching a field that a minor version added.
 *   - Data a callee hands back is delivered through a sink callback and is valid only for the
 *     duration of that callback; the receiver copies what it keeps. So no memory allocated on
 *     one side of the boundary is ever freed on the other.
 *   - "borrowed" means: owned by the caller, valid for the duration of the call only.
 */
#ifndef TOLLGATE_ABI_COMMON_H
#define TOLLGATE_ABI_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version this header describes. Major: incompatible change. Minor: fields or vtable entries
 * appended. The host refuses a plugin with a different major or a newer minor than its own. */
#define TG_ABI_MAJOR 1
#define TG_ABI_MINOR 13

/* True when a struct of size `size` (as reported by its producer) contains `field`. */
#define TG_HAS_FIELD(type, size, field) \
  ((size_t)(size) >= offsetof(type, field) + sizeof(((type*)0)->field))

/* Status of every ABI call. Zero is success; codes are never renumbered. */
typedef int32_t tg_status;
#define TG_OK 0
#define TG_ERR_INVALID_ARGUMENT 1 /* the input was malformed; the message names the field */
#define TG_ERR_NOT_FOUND 2        /* the named object does not exist (in this tenant) */
#define TG_ERR_CONFLICT 3         /* a unique key already exists */
#define TG_ERR_UNAVAILABLE 4      /* a dependency (database, network) is down; retry later */
#define TG_ERR_DEADLINE 5         /* the call's deadline passed before it completed */
#define TG_ERR_UNSUPPORTED 6      /* the plugin does not implement this operation */
#define TG_ERR_INTERNAL 7         /* a bug or unexpected exception inside the callee */
#define TG_ERR_OUTCOME_UNKNOWN                                  \
  8 /* (1.5) a request went out but no answer came back: it may \
       have taken effect. Retry only what is idempotent */

/* Borrowed or static text: `size` bytes at `data`, UTF-8, not necessarily NUL-terminated.
 * {NULL, 0} is the empty string. Frozen forever (no struct_size). */
typedef struct tg_str {
  const char* data; /* borrowed unless the field that holds it says otherwise */
  size_t size;      /* length in bytes */
} tg_str;

/* A name/value pair, e.g. one form parameter of a webhook. Frozen forever. */
typedef struct tg_kv {
  tg_str name;
  tg_str value;
} tg_kv;

/* An amount of money. Frozen forever. */
typedef struct tg_money {
  int64_t amount_micros; /* millionths of the currency's major unit; negative is a debit */
  char currency[4];      /* ISO 4217 code, upper case, NUL-terminated ("USD") */
} tg_money;

#define TG_ERROR_MESSAGE_MAX 512

/* Error text written by the callee into a buffer the caller owns. The callee writes a
 * NUL-terminated message (truncated to fit) whenever it returns a status other than TG_OK.
 * Frozen forever. */
typedef struct tg_error {
  char message[TG_ERROR_MESSAGE_MAX];
} tg_error;

/* Log levels for tg_host_api.log. */
#define TG_LOG_DEBUG 1
#define TG_LOG_INFO 2
#define TG_LOG_WARN 3
#define TG_LOG_ERROR 4

/* Context passed to every plugin call. Borrowed. */
typedef struct tg_call_ctx {
  uint32_t struct_size;
  tg_str tenant_id;         /* tenant the call acts for; empty only for calls that are not
                               tenant-scoped (migrations, tenant creation, key lookup) */
  tg_str request_id;        /* correlation id for logs */
  int64_t deadline_unix_ms; /* wall-clock time after which the host stops waiting; the plugin
                               should give up (TG_ERR_DEADLINE) rather than run past it */
} tg_call_ctx;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_COMMON_H */
