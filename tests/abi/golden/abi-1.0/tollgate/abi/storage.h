/* Tollgate plugin ABI v1: storage backend (TG_KIND_STORAGE).
 *
 * A storage backend persists everything the core keeps. Every function is called concurrently
 * from many threads and must be safe for that. Identifiers (tenant ids, key ids) are generated
 * by the host; the backend stores them as given. Times are int64 milliseconds since the Unix
 * epoch, supplied by the host so that every backend records the same values.
 *
 * Results come back through sinks: the backend calls `sink.fn(sink.ctx, row)` once per row; the
 * row and every tg_str in it are borrowed for the duration of that callback only.
 *
 * Arrays of extensible structs (tg_ledger_apply_request.entries) are laid out with the
 * producer's struct size: walk them with a stride of entries[0].struct_size, never with the
 * reader's own sizeof, since a newer host may have appended fields.
 *
 * The vtable is append-only. Operations for numbers, messages, calls, opt-outs, templates and
 * the outbox are added in later minor versions; the schema for them is created by migrate()
 * from 1.0 so that upgrades never need a data migration across plugins.
 */
#ifndef TOLLGATE_ABI_STORAGE_H
#define TOLLGATE_ABI_STORAGE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- rows ---- */

typedef int32_t tg_tenant_status;
#define TG_TENANT_ACTIVE 1
#define TG_TENANT_SUSPENDED 2
#define TG_TENANT_CLOSED 3

typedef struct tg_tenant_row {
  uint32_t struct_size;
  tg_str id;   /* host-generated, e.g. "tn_3f9a..." */
  tg_str name; /* display name, unique */
  tg_tenant_status status;
  int64_t created_at_ms;
} tg_tenant_row;

/* An API key is stored only as a hash of its secret; the secret is shown once by the host. */
typedef struct tg_api_key_row {
  uint32_t struct_size;
  tg_str id;            /* public key id, e.g. "key_1a2b..." (the part before the secret) */
  tg_str tenant_id;     /* owning tenant */
  tg_str secret_sha256; /* lowercase hex SHA-256 of the secret */
  tg_str label;         /* free text chosen by the admin */
  int64_t created_at_ms;
  int64_t revoked_at_ms; /* 0 while the key is valid */
} tg_api_key_row;

/* One prepaid wallet per tenant and currency. */
typedef struct tg_wallet_row {
  uint32_t struct_size;
  tg_str tenant_id;
  char currency[4];            /* ISO 4217, NUL-terminated */
  int64_t balance_micros;      /* always equal to the sum of the wallet's ledger entries */
  int64_t credit_limit_micros; /* >= 0; the balance may go down to -credit_limit_micros */
  int64_t created_at_ms;
} tg_wallet_row;

/* Kinds of ledger entries. */
typedef int32_t tg_entry_kind;
#define TG_ENTRY_TOPUP 1      /* money in: a payment or an admin credit */
#define TG_ENTRY_CHARGE 2     /* usage: an SMS, a call minute, a number's monthly fee */
#define TG_ENTRY_REFUND 3     /* money given back for a charge */
#define TG_ENTRY_ADJUSTMENT 4 /* manual correction by an admin */

/* One entry to append, as the host asks for it. */
typedef struct tg_ledger_entry_in {
  uint32_t struct_size;
  tg_entry_kind kind;
  int64_t amount_micros; /* signed: credits > 0, debits < 0; never 0 */
  tg_str reference;      /* what caused it, e.g. a Twilio SID or a payment id; may be empty */
  tg_str description;    /* human-readable; may be empty */
} tg_ledger_entry_in;

/* One stored entry. Entries are never updated or deleted. */
typedef struct tg_ledger_entry_row {
  uint32_t struct_size;
  int64_t seq; /* strictly increasing per backend; orders the wallet's history */
  tg_str tenant_id;
  char currency[4];
  tg_entry_kind kind;
  int64_t amount_micros;
  int64_t balance_after_micros; /* wallet balance right after this entry */
  tg_str idempotency_key;       /* key of the apply() that wrote it */
  tg_str reference;
  tg_str description;
  int64_t created_at_ms;
} tg_ledger_entry_row;

/* Request of ledger_apply: append all entries or none. */
typedef struct tg_ledger_apply_request {
  uint32_t struct_size;
  char currency[4];                  /* wallet of ctx->tenant_id in this currency; must exist */
  tg_str idempotency_key;            /* required; unique per tenant; a repeat applies nothing */
  const tg_ledger_entry_in* entries; /* borrowed array, entry_count >= 1 */
  size_t entry_count;
  int64_t now_ms;
} tg_ledger_apply_request;

typedef int32_t tg_apply_outcome;
#define TG_APPLY_APPLIED 1         /* entries appended now */
#define TG_APPLY_ALREADY_APPLIED 2 /* the key was applied before; nothing appended now */
#define TG_APPLY_INSUFFICIENT_FUNDS                        \
  3 /* the balance would fall below -credit_limit; nothing \
       appended, key not consumed */

typedef struct tg_ledger_apply_result {
  uint32_t struct_size; /* set by the caller; the backend fills only fields that fit */
  tg_apply_outcome outcome;
  int64_t balance_micros; /* APPLIED/ALREADY_APPLIED: balance right after that apply;
                             INSUFFICIENT_FUNDS: current balance */
  int64_t first_seq;      /* seq of the first entry of that apply; 0 if none */
} tg_ledger_apply_result;

/* A stored idempotency record: a processed webhook or a repeated API request. */
typedef struct tg_idempotency_row {
  uint32_t struct_size;
  tg_str tenant_id;
  tg_str scope;            /* e.g. "sms-webhook", "api:messages" */
  tg_str key;              /* e.g. a MessageSid, or the Idempotency-Key header */
  tg_str request_hash;     /* hash of the request, so a reused key with another body is detected */
  int32_t response_status; /* 0 while the first request is still being processed */
  tg_str response_body;    /* response to replay; empty while in progress */
  int64_t created_at_ms;
} tg_idempotency_row;

/* ---- sinks (row and strings borrowed for the callback only) ---- */

typedef struct tg_tenant_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_tenant_row* row);
} tg_tenant_sink;

typedef struct tg_api_key_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_api_key_row* row);
} tg_api_key_sink;

typedef struct tg_wallet_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_wallet_row* row);
} tg_wallet_sink;

typedef struct tg_ledger_entry_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_ledger_entry_row* row);
} tg_ledger_entry_sink;

typedef struct tg_idempotency_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_idempotency_row* row);
} tg_idempotency_sink;

/* ---- vtable ---- */

typedef struct tg_storage_vtable {
  uint32_t struct_size; /* sizeof(tg_storage_vtable) as compiled into the plugin */

  /* --- ABI 1.0; all entries required --- */

  /* Applies every pending schema migration in one transaction each, and reports the schema
   * version now in force. Safe to call from several daemons at once. */
  tg_status (*migrate)(void* instance, const tg_call_ctx* ctx, int64_t* out_schema_version,
                       tg_error* err);

  /* Tenants. create: TG_ERR_CONFLICT if the id or name exists. get: TG_ERR_NOT_FOUND. list:
   * rows ordered by id, starting after `after_id` (empty: from the start), at most `limit`. */
  tg_status (*tenant_create)(void* instance, const tg_call_ctx* ctx, const tg_tenant_row* row,
                             tg_error* err);
  tg_status (*tenant_get)(void* instance, const tg_call_ctx* ctx, tg_str tenant_id,
                          tg_tenant_sink sink, tg_error* err);
  tg_status (*tenant_list)(void* instance, const tg_call_ctx* ctx, tg_str after_id, uint32_t limit,
                           tg_tenant_sink sink, tg_error* err);
  tg_status (*tenant_set_status)(void* instance, const tg_call_ctx* ctx, tg_str tenant_id,
                                 tg_tenant_status status, tg_error* err);

  /* API keys. get looks a key up by id across tenants when ctx->tenant_id is empty (this is how
   * a request finds its tenant), and within that tenant otherwise. list and revoke are scoped to
   * ctx->tenant_id; revoke of a key of another tenant is TG_ERR_NOT_FOUND; revoking twice keeps the
   * first time. */
  tg_status (*api_key_create)(void* instance, const tg_call_ctx* ctx, const tg_api_key_row* row,
                              tg_error* err);
  tg_status (*api_key_get)(void* instance, const tg_call_ctx* ctx, tg_str key_id,
                           tg_api_key_sink sink, tg_error* err);
  tg_status (*api_key_list)(void* instance, const tg_call_ctx* ctx, tg_api_key_sink sink,
                            tg_error* err);
  tg_status (*api_key_revoke)(void* instance, const tg_call_ctx* ctx, tg_str key_id,
                              int64_t revoked_at_ms, tg_error* err);

  /* Wallets, scoped to ctx->tenant_id. create: TG_ERR_CONFLICT if that currency exists; the
   * row's balance must be 0 (money only enters through ledger_apply). */
  tg_status (*wallet_create)(void* instance, const tg_call_ctx* ctx, const tg_wallet_row* row,
                             tg_error* err);
  tg_status (*wallet_get)(void* instance, const tg_call_ctx* ctx, const char currency[4],
                          tg_wallet_sink sink, tg_error* err);

  /* The ledger's one write: atomically, and serialised with every other apply on the wallet,
   *   if idempotency_key was applied before -> ALREADY_APPLIED with that apply's result;
   *   else if balance + sum(amounts) < -credit_limit -> INSUFFICIENT_FUNDS, nothing written;
   *   else append the entries in order, each with its balance_after, update the balance and
   *   record the key -> APPLIED.
   * Only the sum is checked against the limit, so within one apply an entry's balance_after may
   * dip below it; a net credit (sum > 0) is never refused. seq values may have gaps.
   * Returns TG_OK with *out filled for all three outcomes; another status only on errors
   * (TG_ERR_NOT_FOUND: no such wallet; TG_ERR_INVALID_ARGUMENT: empty key, no entries, a zero
   * amount, or a sum that overflows int64). */
  tg_status (*ledger_apply)(void* instance, const tg_call_ctx* ctx,
                            const tg_ledger_apply_request* req, tg_ledger_apply_result* out,
                            tg_error* err);

  /* The wallet's entries in seq order, those with seq > after_seq, at most `limit`. */
  tg_status (*ledger_list)(void* instance, const tg_call_ctx* ctx, const char currency[4],
                           int64_t after_seq, uint32_t limit, tg_ledger_entry_sink sink,
                           tg_error* err);

  /* Idempotency records, scoped to ctx->tenant_id (empty for records that belong to no
   * tenant yet, e.g. a webhook to an unknown number).
   * claim: inserts row (response_status 0) if (tenant, scope, key) is new -> TG_OK and
   *   *out_claimed = 1; otherwise leaves it, calls sink with the stored row -> TG_OK and
   *   *out_claimed = 0. Exactly one of concurrent claims of one key wins.
   * complete: stores the response (status > 0) of a claimed key, replacing any earlier one
   *   (TG_ERR_NOT_FOUND if never claimed). */
  tg_status (*idempotency_claim)(void* instance, const tg_call_ctx* ctx,
                                 const tg_idempotency_row* row, int32_t* out_claimed,
                                 tg_idempotency_sink existing, tg_error* err);
  tg_status (*idempotency_complete)(void* instance, const tg_call_ctx* ctx, tg_str scope,
                                    tg_str key, int32_t response_status, tg_str response_body,
                                    tg_error* err);
} tg_storage_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_STORAGE_H */
