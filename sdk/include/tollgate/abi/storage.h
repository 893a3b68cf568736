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
 * The vtable is append-only. ABI 1.1 added numbers, Twilio accounts, messages, calls and
 * opt-outs; ABI 1.2 added idempotency_reclaim; ABI 1.3 added units of work (unit_apply); ABI
 * 1.4 added usage entry kinds, holds, held_micros on wallets and ledger queries; ABI 1.6 added
 * billing profiles and the auto-recharge lease; ABI 1.7 added queued usage (TG_UNIT_USAGE_ADD,
 * usage_list, usage_settle); ABI 1.8 added the outbox (TG_UNIT_OUTBOX_ADD, outbox_claim,
 * outbox_transition, outbox_reclaim, outbox_get, outbox_list); ABI 1.9 added
 * TG_UNIT_OUTBOX_STATUS; ABI 1.10 added senders' pace (tg_outbox_row.pace_us,
 * outbox_claim_paced); ABI 1.11 added messages' prices (tg_outbox_row.estimate_micros and
 * price_*, tg_outbox_transition.price_*, outbox_price_due); ABI 1.12 added holds settled
 * inside units (TG_UNIT_HOLD); ABI 1.13 added calls' prices (tg_call_row.price_*,
 * tg_status_change.price_*, tg_call_price, call_price_due, call_price_set) and the ledger query
 * by key (tg_ledger_query.idempotency_key); templates come in later minor versions. The schema for
 * all of them is created by migrate() so that upgrades never need a data migration across plugins.
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
  /* ABI 1.4 (check TG_HAS_FIELD): the sum of the wallet's active holds, >= 0. The available
   * balance is balance_micros - held_micros; no debit or reserve takes it below
   * -credit_limit_micros. wallet_create ignores it (a new wallet holds nothing). */
  int64_t held_micros;
} tg_wallet_row;

/* Kinds of ledger entries. */
typedef int32_t tg_entry_kind;
#define TG_ENTRY_TOPUP 1      /* money in: a payment or an admin credit */
#define TG_ENTRY_CHARGE 2     /* usage that none of the kinds below names */
#define TG_ENTRY_REFUND 3     /* money given back for a charge */
#define TG_ENTRY_ADJUSTMENT 4 /* manual correction by an admin */
/* ABI 1.4: usage by what it paid for. A backend of ABI 1.3 or older refuses them. */
#define TG_ENTRY_SMS_USAGE 5       /* an SMS or MMS, sent or received */
#define TG_ENTRY_VOICE_USAGE 6     /* a call's minutes */
#define TG_ENTRY_NUMBER_PURCHASE 7 /* a phone number bought */
#define TG_ENTRY_NUMBER_RENTAL 8   /* a phone number's monthly fee */
#define TG_ENTRY_KIND_MAX 8

/* One entry to append, as the host asks for it. */
typedef struct tg_ledger_entry_in {
  uint32_t struct_size;
  tg_entry_kind kind;
  int64_t amount_micros; /* signed: credits > 0, debits < 0; never 0 */
  tg_str reference;      /* what caused it, e.g. a Twilio SID or a payment id; may be empty */
  tg_str description;    /* human-readable; may be empty */
  /* ABI 1.6 (a backend checks TG_HAS_FIELD with the entries' stride): ISO 3166-1 alpha-2 code of
   * the country the entry paid for (the number that priced it), NUL-terminated; "" if none.
   * ledger_summary groups by it. */
  char country[4];
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
  /* ABI 1.6 (a backend checks TG_HAS_FIELD): non-zero: never INSUFFICIENT_FUNDS, the balance may
   * fall below -credit_limit. For usage that has already happened (an inbound message, a
   * finished call), which is owed whatever the wallet holds: recorded as debt, not lost. */
  int32_t allow_overdraft;
} tg_ledger_apply_request;

typedef int32_t tg_apply_outcome;
#define TG_APPLY_APPLIED 1         /* entries appended now */
#define TG_APPLY_ALREADY_APPLIED 2 /* the key was applied before; nothing appended now */
#define TG_APPLY_INSUFFICIENT_FUNDS                        \
  3 /* the balance would fall below -credit_limit; nothing \
       appended, key not consumed */
#define TG_APPLY_HOLD_NOT_ACTIVE                            \
  4 /* ABI 1.4, holds only: the hold was captured, released \
       or expired by another action; nothing changed */

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

/* ---- rows added in ABI 1.1 ---- */

/* A phone number attached to a tenant, with the plugins that answer it. */
typedef struct tg_number_row {
  uint32_t struct_size;
  tg_str e164;          /* "+14155550100"; unique across tenants */
  tg_str tenant_id;     /* owner */
  tg_str account_sid;   /* Twilio account that owns the number (master or a subaccount) */
  tg_str twilio_sid;    /* PN... ; may be empty */
  tg_str voice_plugin;  /* id of the voice plugin; empty: none */
  tg_str sms_plugin;    /* id of the SMS keyword plugin; empty: none */
  tg_str settings_json; /* JSON object of per-number plugin settings ("{}" if none) */
  int64_t created_at_ms;
  int64_t updated_at_ms;
} tg_number_row;

/* A Twilio account whose numbers the gateway answers for (a tenant's subaccount). The master
 * account's token comes from the daemon's configuration, never from storage. */
typedef struct tg_twilio_account_row {
  uint32_t struct_size;
  tg_str account_sid;    /* AC... */
  tg_str tenant_id;      /* owner */
  tg_str auth_token_enc; /* the auth token encrypted by the core (binary); opaque here */
  tg_str friendly_name;
  int32_t is_subaccount; /* non-zero for a subaccount */
  int64_t created_at_ms;
} tg_twilio_account_row;

typedef int32_t tg_direction;
#define TG_DIRECTION_INBOUND 1
#define TG_DIRECTION_OUTBOUND 2

typedef struct tg_message_row {
  uint32_t struct_size;
  tg_str sid; /* Twilio MessageSid (SM.../MM...) */
  tg_str tenant_id;
  tg_direction direction;
  tg_str from_number;
  tg_str to_number;
  tg_str body;
  tg_str status;       /* Twilio's status word: received, queued, sent, delivered, ... */
  int32_t status_rank; /* host-defined order of statuses; only ever moves up */
  int32_t error_code;  /* Twilio ErrorCode, 0 if none */
  int32_t num_segments;
  int64_t price_micros; /* 0 until priced */
  char currency[4];     /* may be empty until priced */
  int64_t created_at_ms;
  int64_t updated_at_ms;
} tg_message_row;

typedef struct tg_call_row {
  uint32_t struct_size;
  tg_str sid; /* Twilio CallSid (CA...) */
  tg_str tenant_id;
  tg_direction direction;
  tg_str from_number;
  tg_str to_number;
  tg_str status;        /* ringing, in-progress, completed, busy, failed, no-answer, canceled */
  int32_t status_rank;  /* as for messages */
  int32_t duration_s;   /* set on completion; 0 before */
  tg_str recording_url; /* voicemail recording; may be empty */
  int64_t created_at_ms;
  int64_t updated_at_ms;
  /* ABI 1.13 (read where TG_HAS_FIELD; call_insert ignores them): Twilio's price of the call,
   * as for messages (tg_outbox_row): price_state a TG_OUTBOX_PRICE_* value; charged_micros what
   * the tenant was charged for the call's usage and price_micros what Twilio charged (a cost,
   * >= 0), both set once PRICED; price_check_at_ms when a PENDING price is looked up. */
  int32_t price_state;
  int64_t charged_micros;
  int64_t price_micros;
  int64_t price_check_at_ms;
} tg_call_row;

/* ABI 1.13: call_price_set: the outcome of looking a call's price up. Applies only while the
 * call's price_state is TG_OUTBOX_PRICE_PENDING (a second pricer finds it done). */
typedef struct tg_call_price {
  uint32_t struct_size;
  tg_str sid;
  int32_t price_state;       /* PENDING (look again at price_check_at_ms), PRICED or UNPRICED */
  int64_t charged_micros;    /* PRICED: what the tenant was charged for the call */
  int64_t price_micros;      /* PRICED: Twilio's price, a cost (>= 0) */
  int64_t price_check_at_ms; /* PENDING: when to look again */
  int64_t now_ms;
} tg_call_price;

/* Filter and page of a message or call log, newest first. Borrowed. */
typedef struct tg_log_query {
  uint32_t struct_size;
  int64_t from_ms;   /* created_at_ms >= from_ms; 0: no lower bound */
  int64_t to_ms;     /* created_at_ms < to_ms; 0: no upper bound */
  tg_str status;     /* exact status; empty: any */
  tg_str number;     /* matches from_number or to_number; empty: any */
  int64_t before_ms; /* page cursor: rows strictly before (before_ms, before_sid) in */
  tg_str before_sid; /*   (created_at_ms, sid) descending order; before_ms 0: first page */
  uint32_t limit;    /* at most this many rows */
} tg_log_query;

typedef struct tg_number_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_number_row* row);
} tg_number_sink;

typedef struct tg_twilio_account_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_twilio_account_row* row);
} tg_twilio_account_sink;

typedef struct tg_message_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_message_row* row);
} tg_message_sink;

typedef struct tg_call_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_call_row* row);
} tg_call_sink;

/* ---- units of work (ABI 1.3) ----
 *
 * A unit is what one webhook writes: a list of operations applied all together or not at all,
 * and made durable together. A backend may commit the units of many callers in one transaction
 * (group commit), as long as each unit stays atomic on its own: one unit that fails never
 * undoes another. Every operation is scoped to ctx->tenant_id. */

typedef int32_t tg_unit_op_kind;
/* args: tg_idempotency_row (response_status 0). At most one per unit. If (tenant, scope, key)
 * exists already, nothing of the unit is applied: the outcome is TG_UNIT_DUPLICATE and the
 * stored record goes to the `existing` sink. */
#define TG_UNIT_CLAIM 1
/* args: tg_idempotency_completion. As idempotency_complete; a key never claimed (in this unit
 * or before) fails the unit with TG_ERR_NOT_FOUND. With reply_to set, the answer carries a
 * reply to that phone, which the opt-out registry decides on inside the unit: if the phone is
 * opted out (as the unit's own operations before this one leave it), no_reply_body is stored
 * instead of response_body and the result is TG_UNIT_NO_REPLY. */
#define TG_UNIT_COMPLETE 2
/* args: tg_message_row. As message_insert, except that a sid that exists is left as it is
 * (result TG_UNIT_UNCHANGED) instead of failing the unit. */
#define TG_UNIT_MESSAGE_INSERT 3
/* args: tg_status_change (error_code used, duration_s ignored). As message_update_status; an
 * unknown sid is result TG_UNIT_MISSING, not an error. */
#define TG_UNIT_MESSAGE_STATUS 4
/* args: tg_call_row. As call_insert, a sid that exists left as it is (TG_UNIT_UNCHANGED). */
#define TG_UNIT_CALL_INSERT 5
/* args: tg_status_change (duration_s used when >= 0, error_code ignored). As
 * call_update_status; an unknown sid is TG_UNIT_MISSING. */
#define TG_UNIT_CALL_STATUS 6
/* args: tg_recording_change. As call_set_recording; an unknown sid is TG_UNIT_MISSING. */
#define TG_UNIT_CALL_RECORDING 7
/* args: tg_optout_change. As optout_set: the state and its audit event. */
#define TG_UNIT_OPTOUT_SET 8
/* ABI 1.7. args: tg_usage_row (tenant_id unused: the unit's). Queues a usage to be charged
 * later (see "queued usage"); a key queued already is left as it is (TG_UNIT_UNCHANGED). */
#define TG_UNIT_USAGE_ADD 9
/* ABI 1.8. args: tg_outbox_row (tenant_id unused: the unit's; state QUEUED). Stores a message
 * to send; an id that exists is left as it is (TG_UNIT_UNCHANGED). */
#define TG_UNIT_OUTBOX_ADD 10
/* ABI 1.9. args: tg_outbox_transition (tenant_id unused: the unit's). What Twilio reported of a
 * message (a status callback): as one outbox_transition, except that the lease's owner is not
 * checked (lease_owner unused), so what Twilio says happened wins over a send still in flight,
 * and that with a twilio_status it applies only if status_rank is above the stored one.
 * TG_UNIT_CHANGED: applied; TG_UNIT_UNCHANGED: the message was in none of from_states or its
 * status is as new; TG_UNIT_MISSING: the unit's tenant has no message `id`. */
#define TG_UNIT_OUTBOX_STATUS 11
/* ABI 1.12. args: tg_hold_request (action CAPTURE or RELEASE; a RESERVE fails the unit with
 * TG_ERR_INVALID_ARGUMENT). As hold_apply on the unit's tenant, inside the unit, except that a
 * hold that does not exist is TG_UNIT_MISSING instead of failing the unit. TG_UNIT_CHANGED:
 * captured or released now; TG_UNIT_UNCHANGED: captured, released or expired already (a hold
 * found past its expiry is marked EXPIRED, as hold_apply does). Many in one unit settle many
 * holds with one commit (the outbox's holds, a batch at a time). */
#define TG_UNIT_HOLD 12

/* What one operation did, written to tg_unit_op.out_result once its unit is applied. */
#define TG_UNIT_CHANGED 1    /* it wrote */
#define TG_UNIT_UNCHANGED 0  /* nothing to write: the row exists, or the status is not newer */
#define TG_UNIT_MISSING (-1) /* the record it updates does not exist */
#define TG_UNIT_NO_REPLY 2   /* COMPLETE: reply_to is opted out; no_reply_body was stored */

typedef struct tg_idempotency_completion {
  uint32_t struct_size;
  tg_str scope;
  tg_str key;
  int32_t response_status; /* > 0 */
  tg_str response_body;
  tg_str reply_to;      /* a phone (E.164), or empty: response_body replies to nobody */
  tg_str no_reply_body; /* stored instead of response_body when reply_to is opted out */
} tg_idempotency_completion;

typedef struct tg_status_change {
  uint32_t struct_size;
  tg_str sid;
  tg_str status;
  int32_t status_rank;
  int32_t error_code; /* messages: Twilio ErrorCode, 0 if none */
  int32_t duration_s; /* calls: set when >= 0 */
  int64_t now_ms;
  /* ABI 1.13 (check TG_HAS_FIELD), calls in TG_UNIT_CALL_STATUS: price_state non-zero (a
   * TG_OUTBOX_PRICE_* value, TG_OUTBOX_PRICE_PENDING: Twilio's price is to be looked up at
   * price_check_at_ms) is stored with the status when the change applies. Messages: unused. */
  int32_t price_state;
  int64_t price_check_at_ms;
} tg_status_change;

typedef struct tg_recording_change {
  uint32_t struct_size;
  tg_str sid;
  tg_str recording_url;
  int64_t now_ms;
} tg_recording_change;

typedef struct tg_optout_change {
  uint32_t struct_size;
  tg_str phone;
  int32_t opted_out; /* 1: STOP family; 0: START family */
  tg_str keyword;
  tg_str message_sid;
  int64_t now_ms;
} tg_optout_change;

typedef struct tg_unit_op {
  uint32_t struct_size;
  tg_unit_op_kind kind; /* an unknown kind fails the unit with TG_ERR_UNSUPPORTED */
  const void* args;     /* borrowed: the struct `kind` names, which starts with its struct_size */
  int32_t* out_result;  /* optional, caller-owned: TG_UNIT_CHANGED/UNCHANGED/MISSING */
} tg_unit_op;

typedef struct tg_unit {
  uint32_t struct_size;
  const tg_unit_op* ops; /* borrowed array, op_count >= 1; stride ops[0].struct_size */
  size_t op_count;
} tg_unit;

typedef int32_t tg_unit_outcome;
#define TG_UNIT_APPLIED 1   /* every operation applied and durable */
#define TG_UNIT_DUPLICATE 2 /* the unit's claim found its key: nothing applied */

/* ---- holds and ledger queries (ABI 1.4) ----
 *
 * A hold reserves part of a wallet's available balance for a charge whose amount is known
 * later (an SMS's segments, a call's minutes): reserve an estimate, then capture the actual
 * amount (at most the estimate; the rest is released) or release it all. A hold not captured
 * or released by its expiry is released by hold_expire, or by the first capture or release
 * that finds it expired. Every change to a hold is serialised with every ledger_apply on its
 * wallet, and moves wallets.held_micros in the same transaction. */

typedef int32_t tg_hold_status;
#define TG_HOLD_ACTIVE 1   /* reserving its amount */
#define TG_HOLD_CAPTURED 2 /* charged: one entry of -captured_micros */
#define TG_HOLD_RELEASED 3 /* released by request; nothing charged */
#define TG_HOLD_EXPIRED 4  /* released at its expiry; nothing charged */

typedef int32_t tg_hold_action;
/* If hold_id exists -> ALREADY_APPLIED with that hold as it is now; else if the available
 * balance minus amount_micros would fall below -credit_limit -> INSUFFICIENT_FUNDS, nothing
 * stored, the id still free; else store an ACTIVE hold -> APPLIED. */
#define TG_HOLD_RESERVE 1
/* An ACTIVE hold not yet expired: append one entry (kind, -amount_micros, reference,
 * description; its idempotency_key is the hold's id), release the whole hold, mark it
 * CAPTURED -> APPLIED. Never refused for funds: the hold reserved them. Already CAPTURED ->
 * ALREADY_APPLIED with that capture. Released, or expired (marked so now if it was still
 * ACTIVE) -> HOLD_NOT_ACTIVE. amount_micros above the hold's amount: TG_ERR_INVALID_ARGUMENT. */
#define TG_HOLD_CAPTURE 2
/* An ACTIVE hold not yet expired: mark it RELEASED -> APPLIED. Already RELEASED ->
 * ALREADY_APPLIED. Captured, or expired -> HOLD_NOT_ACTIVE. */
#define TG_HOLD_RELEASE 3

typedef struct tg_hold_request {
  uint32_t struct_size;
  tg_hold_action action;
  char currency[4];      /* the wallet of ctx->tenant_id (all actions); must exist */
  tg_str hold_id;        /* required; unique per tenant (the host's key, e.g. "sms:SM..." ) */
  int64_t amount_micros; /* RESERVE: > 0; CAPTURE: 0 < amount <= the hold's; RELEASE: unused */
  tg_entry_kind kind;    /* CAPTURE: the entry's kind */
  tg_str reference;      /* RESERVE: stored with the hold; CAPTURE: the entry's */
  tg_str description;    /* CAPTURE: the entry's */
  int64_t expires_at_ms; /* RESERVE: > now_ms */
  int64_t now_ms;
  char country[4]; /* ABI 1.6 (check TG_HAS_FIELD): CAPTURE: the entry's country, or "" */
} tg_hold_request;

typedef struct tg_hold_result {
  uint32_t struct_size; /* set by the caller; the backend fills only fields that fit */
  tg_apply_outcome outcome;
  tg_hold_status status;   /* the hold's state now; 0 after INSUFFICIENT_FUNDS */
  int64_t balance_micros;  /* the wallet's balance now */
  int64_t held_micros;     /* the wallet's held total now */
  int64_t captured_micros; /* what the hold's capture charged; 0 if none */
  int64_t entry_seq;       /* the capture's entry; 0 if none */
} tg_hold_result;

typedef struct tg_hold_row {
  uint32_t struct_size;
  tg_str hold_id;
  tg_str tenant_id;
  char currency[4];
  tg_hold_status status;
  int64_t amount_micros;   /* reserved */
  int64_t captured_micros; /* charged at capture; 0 if none */
  int64_t entry_seq;       /* the capture's entry; 0 if none */
  tg_str reference;
  int64_t expires_at_ms;
  int64_t created_at_ms;
  int64_t updated_at_ms;
} tg_hold_row;

/* Filter and page of a wallet's holds, ordered by hold_id (byte-wise). Borrowed. */
typedef struct tg_hold_query {
  uint32_t struct_size;
  char currency[4];      /* the wallet of ctx->tenant_id */
  tg_hold_status status; /* 0: any */
  tg_str hold_id;        /* non-empty: that hold alone */
  tg_str after_id;       /* page cursor: holds with hold_id > after_id; empty: first page */
  uint32_t limit;
} tg_hold_query;

/* Filter and page of a wallet's entries, in seq order. Borrowed. */
typedef struct tg_ledger_query {
  uint32_t struct_size;
  char currency[4];   /* the wallet of ctx->tenant_id */
  int64_t after_seq;  /* entries with seq > after_seq */
  uint32_t limit;     /* ledger_query: at most this many; ledger_summary: unused */
  tg_entry_kind kind; /* 0: any */
  int64_t from_ms;    /* created_at_ms >= from_ms; 0: no lower bound */
  int64_t to_ms;      /* created_at_ms < to_ms; 0: no upper bound */
  int64_t bucket_ms;  /* ledger_summary: width of its time buckets, >= 1, counted from the epoch */
  /* ABI 1.6 (check TG_HAS_FIELD), ledger_summary: non-zero: one row per bucket, kind and
   * country instead of per bucket and kind. */
  int32_t by_country;
  /* ABI 1.13 (check TG_HAS_FIELD), ledger_query: non-empty: only the entries applied under
   * this idempotency key (ledger_apply's), whatever after_seq, kind, from_ms and to_ms say. */
  tg_str idempotency_key;
} tg_ledger_query;

/* One bucket of ledger_summary: the entries of one kind created in
 * [bucket_start_ms, bucket_start_ms + bucket_ms). */
typedef struct tg_ledger_summary_row {
  uint32_t struct_size;
  int64_t bucket_start_ms;
  tg_entry_kind kind;
  int64_t entry_count;
  int64_t total_micros; /* sum of the amounts (signed) */
  char country[4];      /* ABI 1.6: with by_country, the entries' country ("" for none) */
} tg_ledger_summary_row;

typedef struct tg_hold_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_hold_row* row);
} tg_hold_sink;

typedef struct tg_ledger_summary_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_ledger_summary_row* row);
} tg_ledger_summary_sink;

/* ---- billing profiles (ABI 1.6) ----
 *
 * Who pays into a wallet, and when it tops itself up: the billing provider and its customer,
 * the auto-recharge settings, and the state of auto-recharge, which the host moves only through
 * recharge_begin and recharge_end. recharge_begin is a lease: of any number of daemons, one
 * begins a recharge of a wallet at a time; a lease older than lease_ms (its daemon died) may be
 * taken over. Each lease has its own started_at_ms, strictly increasing per wallet, from which
 * the host derives the payment's idempotency key. */

typedef struct tg_billing_profile_row {
  uint32_t struct_size;
  char currency[4]; /* the wallet it pays into; must exist */
  tg_str tenant_id;
  tg_str provider;                   /* id of the billing plugin, e.g. "billing-stripe"; or empty */
  tg_str customer_ref;               /* that provider's customer; or empty */
  int64_t recharge_threshold_micros; /* recharge when the available balance falls below it */
  int64_t recharge_amount_micros;    /* > 0: auto-recharge by this much; 0: off */
  /* The state of auto-recharge; billing_profile_put leaves it as stored (a new row: zeros). */
  int32_t recharge_in_flight;     /* non-zero: a lease began at recharge_started_at_ms */
  int32_t recharge_failures;      /* recharges failed in a row since the last success */
  int64_t recharge_started_at_ms; /* the latest lease's start; 0 if none ever */
  int64_t recharge_retry_at_ms;   /* no lease begins before it */
  tg_str recharge_last_error;     /* the latest failure; empty after a success */
  int64_t created_at_ms;
  int64_t updated_at_ms;
} tg_billing_profile_row;

typedef struct tg_billing_profile_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_billing_profile_row* row);
} tg_billing_profile_sink;

/* Request of recharge_end: how the lease that began at started_at_ms ended. */
typedef struct tg_recharge_end {
  uint32_t struct_size;
  char currency[4];
  int64_t started_at_ms; /* the lease's, as recharge_begin reported it */
  int32_t failed;        /* 0: succeeded (failures reset); else failed (failures + 1) */
  tg_str error;          /* failed: why (stored as recharge_last_error) */
  int64_t retry_at_ms;   /* failed: no lease before it; succeeded: unused (reset to 0) */
  int64_t now_ms;
} tg_recharge_end;

/* ---- queued usage (ABI 1.7) ----
 *
 * Usage the host charges after it happened (an inbound SMS, a completed call) is queued by the
 * unit that records it (TG_UNIT_USAGE_ADD): it is then charged even if the daemon stops before
 * pricing it, and it is priced and charged off the webhook's path, many at a time: usage_list
 * reads the queue, usage_settle charges what was priced and takes it off the queue. Any number
 * of daemons may settle the same usage: each key is charged once. */

typedef struct tg_usage_row {
  uint32_t struct_size;
  tg_str tenant_id;   /* usage_list: the owner; TG_UNIT_USAGE_ADD: unused (the unit's) */
  tg_str key;         /* unique per tenant; the ledger key it is charged under ("usage:sms:SM..") */
  char currency[4];   /* the wallet it is charged to */
  int32_t product;    /* a tg_product (abi/pricing.h): what to price */
  tg_str sid;         /* the provider's message or call */
  tg_str number;      /* the number the price depends on; empty: the call's, looked up then */
  tg_str counterpart; /* the other party, for the entry's description; or empty */
  int32_t quantity;   /* segments of an SMS, seconds of a call; >= 1 */
  int64_t created_at_ms;
} tg_usage_row;

typedef struct tg_usage_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_usage_row* row);
} tg_usage_sink;

/* usage_settle: a queued usage, and what it costs. */
typedef struct tg_usage_charge {
  uint32_t struct_size;
  tg_str tenant_id;
  tg_str key;            /* the queued usage's; the ledger apply's idempotency key */
  char currency[4];      /* the wallet charged */
  int64_t amount_micros; /* > 0: charged; 0: nothing to charge (unpriced), only dequeued */
  tg_entry_kind kind;    /* the entry's */
  tg_str reference;      /* the entry's */
  tg_str description;    /* the entry's */
  char country[4];       /* the entry's, or "" */
  int64_t now_ms;
} tg_usage_charge;

/* ---- the outbox (ABI 1.8) ----
 *
 * Messages to send, durable from the moment the send API answers until their final state. A
 * worker claims due messages in batches under a lease: of any number of daemons, one holds a
 * message at a time. Every change is guarded by the states it may start from (and, from
 * SENDING, by the lease's owner), so a daemon whose lease was taken over cannot overwrite what
 * happened since. A message whose lease ran out while it was being sent may have reached
 * Twilio: outbox_reclaim makes it UNKNOWN, for the host to reconcile by looking it up at
 * Twilio, never to send it again blindly. */

typedef int32_t tg_outbox_state;
#define TG_OUTBOX_QUEUED 1      /* to send at next_attempt_at_ms */
#define TG_OUTBOX_SENDING 2     /* claimed by lease_owner until lease_until_ms */
#define TG_OUTBOX_ACCEPTED 3    /* Twilio has it (twilio_sid); callbacks move twilio_status */
#define TG_OUTBOX_UNKNOWN 4     /* it may have reached Twilio: to reconcile */
#define TG_OUTBOX_DELIVERED 5   /* final */
#define TG_OUTBOX_UNDELIVERED 6 /* final: the carrier did not deliver it */
#define TG_OUTBOX_FAILED 7      /* final: refused (by us, Twilio or the carrier) */
#define TG_OUTBOX_STATE_MAX 7
/* A set of states, for tg_outbox_transition.from_states. */
#define TG_OUTBOX_IN(state) (1u << (state))

/* ABI 1.11: where Twilio's price of a message stands (tg_outbox_row.price_state). */
typedef int32_t tg_outbox_price_state;
#define TG_OUTBOX_PRICE_NONE 0    /* not asked for (the message is not final) */
#define TG_OUTBOX_PRICE_PENDING 1 /* to look up at Twilio at price_check_at_ms */
#define TG_OUTBOX_PRICED 2        /* price_micros is Twilio's price, reconciled */
#define TG_OUTBOX_UNPRICED 3      /* no price to reconcile: the estimate stands */

typedef struct tg_outbox_row {
  uint32_t struct_size;
  tg_str id;        /* the host's, unique across tenants */
  tg_str tenant_id; /* TG_UNIT_OUTBOX_ADD: unused (the unit's) */
  tg_str from_number;
  tg_str to_number;
  tg_str body;
  tg_str media_urls;      /* one per line; empty for none */
  tg_str status_callback; /* the tenant's URL for its status changes, or empty */
  int32_t segments;
  char currency[4]; /* of the hold */
  tg_str hold_id;   /* the ledger hold that reserves its price, or empty */
  tg_outbox_state state;
  int32_t attempts; /* claims so far */
  int64_t next_attempt_at_ms;
  tg_str lease_owner;     /* SENDING: who holds it */
  int64_t lease_until_ms; /* SENDING: until when */
  tg_str twilio_sid;      /* once Twilio accepted it */
  tg_str twilio_status;   /* Twilio's word: queued, sent, delivered, ... */
  int32_t status_rank;    /* host-defined order of twilio_status; only ever moves up */
  int32_t error_code;     /* Twilio's, or 0 */
  tg_str error;           /* why it failed, or empty */
  int64_t created_at_ms;
  int64_t updated_at_ms;
  /* ABI 1.10 (check TG_HAS_FIELD): the time this message takes of its sender's rate, in
   * microseconds (segments / the sender's segments per second); 0: not paced. Kept by
   * outbox_claim_paced: see there. */
  int64_t pace_us;
  /* ABI 1.11 (check TG_HAS_FIELD): what the message cost. estimate_micros: what the send
   * reserved (hold_id), in `currency`; price_state, price_micros, price_check_at_ms: Twilio's
   * price (TG_OUTBOX_PRICE_*), as outbox_transition last stored them. */
  int64_t estimate_micros;
  tg_outbox_price_state price_state;
  int64_t price_micros;
  int64_t price_check_at_ms;
} tg_outbox_row;

typedef struct tg_outbox_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_outbox_row* row);
} tg_outbox_sink;

/* A guarded change of one message (outbox_transition). */
typedef struct tg_outbox_transition {
  uint32_t struct_size;
  tg_str tenant_id;
  tg_str id;
  uint32_t from_states;     /* TG_OUTBOX_IN(...) | ...: applied only from one of these */
  tg_str lease_owner;       /* from SENDING: applied only while this owner holds it */
  tg_outbox_state to_state; /* may equal the current state (a status update) */
  tg_str twilio_sid;        /* non-empty: stored */
  tg_str twilio_status;     /* non-empty and status_rank above the stored one: stored */
  int32_t status_rank;
  int32_t error_code;         /* non-zero: stored */
  tg_str error;               /* non-empty: stored */
  int64_t next_attempt_at_ms; /* to QUEUED: when; otherwise unused */
  int64_t now_ms;
  /* ABI 1.11 (read where TG_HAS_FIELD): price_state non-zero: price_state, price_micros and
   * price_check_at_ms are stored as given. */
  tg_outbox_price_state price_state;
  int64_t price_micros;
  int64_t price_check_at_ms;
} tg_outbox_transition;

/* ABI 1.10: a claim that keeps every sender to its pace (outbox_claim_paced). */
typedef struct tg_outbox_claim {
  uint32_t struct_size;
  int64_t now_ms;
  int64_t lease_ms;
  tg_str owner;
  uint32_t limit;
  /* How far ahead of its sender's schedule a message may be claimed (>= 0). */
  int64_t pace_window_ms;
} tg_outbox_claim;

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
   *   else if balance + sum(amounts) < -credit_limit, unless allow_overdraft (1.6) ->
   *     INSUFFICIENT_FUNDS, nothing written;
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
  /* --- ABI 1.1: routing, records and opt-outs. tollgated 1.1 requires all of them. --- */

  /* Numbers. put attaches (or updates) ctx->tenant_id's number: TG_ERR_CONFLICT if the number
   * is attached to another tenant. get finds a number across tenants when ctx->tenant_id is
   * empty (routing a webhook), else within that tenant. detach: TG_ERR_NOT_FOUND unless the
   * number is ctx->tenant_id's. list: the tenant's numbers ordered by e164. */
  tg_status (*number_put)(void* instance, const tg_call_ctx* ctx, const tg_number_row* row,
                          tg_error* err);
  tg_status (*number_get)(void* instance, const tg_call_ctx* ctx, tg_str e164, tg_number_sink sink,
                          tg_error* err);
  tg_status (*number_list)(void* instance, const tg_call_ctx* ctx, tg_number_sink sink,
                           tg_error* err);
  tg_status (*number_detach)(void* instance, const tg_call_ctx* ctx, tg_str e164, tg_error* err);

  /* Twilio accounts. put inserts or replaces ctx->tenant_id's account (TG_ERR_CONFLICT if the
   * sid belongs to another tenant); get looks up by sid across tenants when ctx->tenant_id is
   * empty. */
  tg_status (*twilio_account_put)(void* instance, const tg_call_ctx* ctx,
                                  const tg_twilio_account_row* row, tg_error* err);
  tg_status (*twilio_account_get)(void* instance, const tg_call_ctx* ctx, tg_str account_sid,
                                  tg_twilio_account_sink sink, tg_error* err);

  /* Messages, scoped to ctx->tenant_id. insert: TG_ERR_CONFLICT if the sid exists.
   * update_status sets status, status_rank, error_code and updated_at_ms only if status_rank
   * is higher than the stored one (statuses move forward only; an out-of-order callback changes
   * nothing) and reports *out_applied; TG_ERR_NOT_FOUND if no such message. get: by sid. */
  tg_status (*message_insert)(void* instance, const tg_call_ctx* ctx, const tg_message_row* row,
                              tg_error* err);
  tg_status (*message_update_status)(void* instance, const tg_call_ctx* ctx, tg_str sid,
                                     tg_str status, int32_t status_rank, int32_t error_code,
                                     int64_t now_ms, int32_t* out_applied, tg_error* err);
  tg_status (*message_get)(void* instance, const tg_call_ctx* ctx, tg_str sid, tg_message_sink sink,
                           tg_error* err);
  tg_status (*message_list)(void* instance, const tg_call_ctx* ctx, const tg_log_query* query,
                            tg_message_sink sink, tg_error* err);

  /* Calls, scoped to ctx->tenant_id; same rules as messages. update_status also sets
   * duration_s when duration_s >= 0. set_recording stores the voicemail URL. */
  tg_status (*call_insert)(void* instance, const tg_call_ctx* ctx, const tg_call_row* row,
                           tg_error* err);
  tg_status (*call_update_status)(void* instance, const tg_call_ctx* ctx, tg_str sid, tg_str status,
                                  int32_t status_rank, int32_t duration_s, int64_t now_ms,
                                  int32_t* out_applied, tg_error* err);
  tg_status (*call_set_recording)(void* instance, const tg_call_ctx* ctx, tg_str sid,
                                  tg_str recording_url, int64_t now_ms, tg_error* err);
  tg_status (*call_get)(void* instance, const tg_call_ctx* ctx, tg_str sid, tg_call_sink sink,
                        tg_error* err);
  tg_status (*call_list)(void* instance, const tg_call_ctx* ctx, const tg_log_query* query,
                         tg_call_sink sink, tg_error* err);

  /* Opt-out registry, scoped to ctx->tenant_id. set records the sender's state and appends an
   * audit event (keyword, message sid, time) in one transaction. get reports *out_opted_out
   * (0 when the phone was never seen). */
  tg_status (*optout_set)(void* instance, const tg_call_ctx* ctx, tg_str phone, int32_t opted_out,
                          tg_str keyword, tg_str message_sid, int64_t now_ms, tg_error* err);
  tg_status (*optout_get)(void* instance, const tg_call_ctx* ctx, tg_str phone,
                          int32_t* out_opted_out, tg_error* err);

  /* --- ABI 1.2: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Compare-and-swap on an idempotency claim in progress, scoped to ctx->tenant_id: if the
   * record (tenant, scope, key) exists, has no response yet (response_status 0) and has
   * created_at_ms == expected_created_at_ms, sets its created_at_ms to new_created_at_ms and
   * reports *out_reclaimed = 1; otherwise changes nothing and reports *out_reclaimed = 0 (also
   * TG_OK: a missing, completed or since reclaimed record is an answer, not an error). Exactly
   * one of concurrent reclaims with the same expected value wins. The host uses it two ways:
   *   release: a handler that failed after its claim sets (its own claim time -> 0), which
   *     marks the claim abandoned, so that the next retry takes it over at once;
   *   takeover: a retry that finds an abandoned claim (time 0, or older than the host's
   *     timeout) sets (the time it saw -> now), so that of two retries only one proceeds.
   * scope, key: borrowed, non-empty. expected_created_at_ms, new_created_at_ms: ms since the
   * Unix epoch, or 0 (abandoned). out_reclaimed: caller-owned, written on TG_OK. */
  tg_status (*idempotency_reclaim)(void* instance, const tg_call_ctx* ctx, tg_str scope, tg_str key,
                                   int64_t expected_created_at_ms, int64_t new_created_at_ms,
                                   int32_t* out_reclaimed, tg_error* err);

  /* --- ABI 1.3: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Applies `unit` atomically and durably (see "units of work" above), possibly in one
   * transaction with other callers' units. TG_OK with *out_outcome TG_UNIT_APPLIED or
   * TG_UNIT_DUPLICATE; any other status means nothing of the unit was applied (the error of the
   * operation that failed, named in err). A backend without it answers TG_ERR_UNSUPPORTED, and
   * the host then makes each operation its own call. unit, its ops and their args: borrowed
   * for the call. out_outcome: caller-owned. existing: called at most once, on DUPLICATE. */
  tg_status (*unit_apply)(void* instance, const tg_call_ctx* ctx, const tg_unit* unit,
                          tg_unit_outcome* out_outcome, tg_idempotency_sink existing,
                          tg_error* err);

  /* --- ABI 1.4: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Reserves, captures or releases a hold (see "holds" above). TG_OK with *out filled for
   * APPLIED, ALREADY_APPLIED, INSUFFICIENT_FUNDS and HOLD_NOT_ACTIVE; TG_ERR_NOT_FOUND: no such
   * wallet, or (capture, release) no such hold in it; TG_ERR_INVALID_ARGUMENT naming the field. */
  tg_status (*hold_apply)(void* instance, const tg_call_ctx* ctx, const tg_hold_request* req,
                          tg_hold_result* out, tg_error* err);
  /* The holds of ctx->tenant_id's wallet that match `query`. TG_ERR_NOT_FOUND: no such wallet. */
  tg_status (*hold_list)(void* instance, const tg_call_ctx* ctx, const tg_hold_query* query,
                         tg_hold_sink sink, tg_error* err);
  /* Marks EXPIRED up to `limit` ACTIVE holds with expires_at_ms <= now_ms, of every tenant
   * (ctx->tenant_id empty) or of ctx->tenant_id, and releases their amounts; reports how many
   * in *out_expired. Safe from several daemons at once: each hold expires once. */
  tg_status (*hold_expire)(void* instance, const tg_call_ctx* ctx, int64_t now_ms, uint32_t limit,
                           uint32_t* out_expired, tg_error* err);
  /* The entries of ctx->tenant_id's wallet that match `query`, in seq order. */
  tg_status (*ledger_query)(void* instance, const tg_call_ctx* ctx, const tg_ledger_query* query,
                            tg_ledger_entry_sink sink, tg_error* err);
  /* Count and sum of the matching entries (after_seq and limit unused) by time bucket and
   * kind, ordered by bucket then kind; empty buckets are left out. */
  tg_status (*ledger_summary)(void* instance, const tg_call_ctx* ctx, const tg_ledger_query* query,
                              tg_ledger_summary_sink sink, tg_error* err);

  /* --- ABI 1.6: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Creates or updates ctx->tenant_id's profile for row->currency: provider, customer_ref and
   * the recharge settings (threshold >= 0, amount >= 0), keeping the recharge state.
   * TG_ERR_NOT_FOUND: the tenant has no wallet in that currency. */
  tg_status (*billing_profile_put)(void* instance, const tg_call_ctx* ctx,
                                   const tg_billing_profile_row* row, tg_error* err);
  /* ctx->tenant_id's profile for `currency`. TG_ERR_NOT_FOUND: none. */
  tg_status (*billing_profile_get)(void* instance, const tg_call_ctx* ctx, const char currency[4],
                                   tg_billing_profile_sink sink, tg_error* err);
  /* Atomically: if the profile has auto-recharge on (amount > 0), retry_at_ms <= now_ms, and no
   * lease in flight or only one that began at or before now_ms - lease_ms, begins a lease:
   * in_flight 1, started_at_ms = max(now_ms, the previous started_at_ms + 1), reported in
   * *out_started_at_ms. Otherwise changes nothing and reports 0 (TG_OK: an answer, not an
   * error). Exactly one of concurrent begins wins. TG_ERR_NOT_FOUND: no profile. */
  tg_status (*recharge_begin)(void* instance, const tg_call_ctx* ctx, const char currency[4],
                              int64_t now_ms, int64_t lease_ms, int64_t* out_started_at_ms,
                              tg_error* err);
  /* Ends the lease that began at req->started_at_ms, if it is still the one in flight: in_flight
   * 0, and the failures, retry time and last error as req says -> *out_ended 1. A lease since
   * taken over (or ended) changes nothing -> *out_ended 0. TG_ERR_NOT_FOUND: no profile. */
  tg_status (*recharge_end)(void* instance, const tg_call_ctx* ctx, const tg_recharge_end* req,
                            int32_t* out_ended, tg_error* err);

  /* --- ABI 1.7: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Queued usage (see "queued usage" above) of every tenant (ctx->tenant_id empty) or of
   * ctx->tenant_id, oldest first (created_at_ms, then tenant and key), at most `limit`. */
  tg_status (*usage_list)(void* instance, const tg_call_ctx* ctx, uint32_t limit,
                          tg_usage_sink sink, tg_error* err);
  /* Settles each of charges[0..count) (stride charges[0].struct_size), each atomically on its
   * own, possibly many in one transaction: a charge with amount_micros > 0 is applied as
   * ledger_apply would apply one entry of -amount_micros under the key, allow_overdraft set (a
   * key applied before charges nothing again); then the usage leaves the queue (if it is still
   * queued). out_statuses[i] (caller-owned, count of them): TG_OK, or that charge's own error
   * (TG_ERR_NOT_FOUND: no such wallet; TG_ERR_INVALID_ARGUMENT naming the field), which leaves
   * its usage queued. Another status than TG_OK returned: nothing was settled. */
  tg_status (*usage_settle)(void* instance, const tg_call_ctx* ctx, const tg_usage_charge* charges,
                            uint32_t count, tg_status* out_statuses, tg_error* err);

  /* --- ABI 1.8: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Claims up to `limit` QUEUED messages of every tenant with next_attempt_at_ms <= now_ms,
   * oldest due first: each becomes SENDING, held by `owner` until now_ms + lease_ms, attempts
   * + 1, and is passed to `sink` as it is now. Concurrent claims (any daemon) never claim the
   * same message; a message another transaction has locked is skipped, not waited for. */
  tg_status (*outbox_claim)(void* instance, const tg_call_ctx* ctx, int64_t now_ms,
                            int64_t lease_ms, tg_str owner, uint32_t limit, tg_outbox_sink sink,
                            tg_error* err);
  /* Applies each of transitions[0..count) (stride transitions[0].struct_size) that its guard
   * allows, each atomically, possibly all in one transaction: out_applied[i] (caller-owned) 1
   * if applied, 0 if the message was not in one of from_states (or, from SENDING, held by
   * another owner); an unknown id is 0 too. Leaving SENDING clears the lease. */
  tg_status (*outbox_transition)(void* instance, const tg_call_ctx* ctx,
                                 const tg_outbox_transition* transitions, uint32_t count,
                                 int32_t* out_applied, tg_error* err);
  /* Makes UNKNOWN up to `limit` SENDING messages (every tenant) whose lease ended before now_ms;
   * reports how many in *out_reclaimed. */
  tg_status (*outbox_reclaim)(void* instance, const tg_call_ctx* ctx, int64_t now_ms,
                              uint32_t limit, uint32_t* out_reclaimed, tg_error* err);
  /* ctx->tenant_id's message `id`. TG_ERR_NOT_FOUND: none. */
  tg_status (*outbox_get)(void* instance, const tg_call_ctx* ctx, tg_str id, tg_outbox_sink sink,
                          tg_error* err);
  /* Messages in `state` of every tenant (ctx->tenant_id empty) or of ctx->tenant_id, ordered by
   * updated_at_ms then id, at most `limit`. */
  tg_status (*outbox_list)(void* instance, const tg_call_ctx* ctx, tg_outbox_state state,
                           uint32_t limit, tg_outbox_sink sink, tg_error* err);

  /* --- ABI 1.10: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* As outbox_claim, keeping each sender (from_number) to its pace across every daemon and
   * restart. The storage keeps, per sender, where its schedule ends (shared by all daemons). A
   * due message with pace_us > 0 and no slot takes the next one: slot = max(schedule's end,
   * now), and the end moves on by pace_us. A message whose slot is at most pace_window_ms
   * ahead of now_ms is claimed; any other stays QUEUED, keeping its slot, with
   * next_attempt_at_ms = slot - pace_window_ms, and is claimed when that comes without taking
   * another. A message outbox_transition returns to QUEUED loses its slot. Messages with
   * pace_us 0 are claimed as outbox_claim claims them. A sender another claim is scheduling
   * at that moment is skipped, not waited for: its messages stay due. */
  tg_status (*outbox_claim_paced)(void* instance, const tg_call_ctx* ctx,
                                  const tg_outbox_claim* claim, tg_outbox_sink sink, tg_error* err);

  /* --- ABI 1.11: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Messages of every tenant whose price_state is TG_OUTBOX_PRICE_PENDING and
   * price_check_at_ms <= now_ms, soonest first, at most `limit`. */
  tg_status (*outbox_price_due)(void* instance, const tg_call_ctx* ctx, int64_t now_ms,
                                uint32_t limit, tg_outbox_sink sink, tg_error* err);

  /* --- ABI 1.13: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */

  /* Calls of every tenant whose price_state is TG_OUTBOX_PRICE_PENDING and
   * price_check_at_ms <= now_ms, soonest first, at most `limit`. */
  tg_status (*call_price_due)(void* instance, const tg_call_ctx* ctx, int64_t now_ms,
                              uint32_t limit, tg_call_sink sink, tg_error* err);
  /* Stores the outcome of a price lookup on ctx->tenant_id's call (tg_call_price). *applied:
   * 1 if stored, 0 if the call's price was not PENDING. TG_ERR_NOT_FOUND: no such call. */
  tg_status (*call_price_set)(void* instance, const tg_call_ctx* ctx, const tg_call_price* price,
                              int32_t* applied, tg_error* err);
} tg_storage_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_STORAGE_H */
