/* Tollgate plugin ABI v1: billing provider (TG_KIND_BILLING).
 *
 * Moves real money into a tenant's wallet: registers a customer with a payment provider and
 * charges or refunds it. The core records the result in the ledger; the provider never touches
 * the ledger itself. Every charge carries an idempotency key that the provider must pass on
 * (e.g. Stripe's Idempotency-Key), so a retried charge is never taken twice. Since 1.6 a
 * provider may also list, attach, make default and detach the customer's saved payment methods,
 * by the provider's own references: the card data stays with the provider.
 */
#ifndef TOLLGATE_ABI_BILLING_H
#define TOLLGATE_ABI_BILLING_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_billing_customer {
  uint32_t struct_size;
  tg_str email;        /* contact for receipts; may be empty */
  tg_str display_name; /* tenant name */
} tg_billing_customer;

typedef struct tg_billing_charge {
  uint32_t struct_size;
  tg_str customer_ref;    /* provider's customer id, from register_customer */
  tg_money amount;        /* amount_micros > 0 */
  tg_str idempotency_key; /* required */
  tg_str description;
} tg_billing_charge;

typedef int32_t tg_payment_state;
#define TG_PAYMENT_SUCCEEDED 1
#define TG_PAYMENT_PENDING 2 /* provider confirms later (e.g. 3-D Secure) */
#define TG_PAYMENT_FAILED 3  /* declined; `failure` says why */

typedef struct tg_billing_result {
  uint32_t struct_size;
  tg_payment_state state;
  tg_str provider_ref; /* provider's id of the customer, payment or refund */
  tg_money amount;     /* amount actually charged or refunded */
  tg_str failure;      /* decline reason for TG_PAYMENT_FAILED; empty otherwise */
} tg_billing_result;

typedef struct tg_billing_result_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_billing_result* result);
} tg_billing_result_sink;

/* ---- ABI 1.6: a customer's saved payment methods, by the provider's token ---- */
typedef int32_t tg_payment_method_action;
#define TG_PM_LIST 1        /* every method of the customer, default first */
#define TG_PM_ATTACH 2      /* attach method_ref (a token made by the provider's client-side SDK) */
#define TG_PM_SET_DEFAULT 3 /* make method_ref the customer's default */
#define TG_PM_DETACH 4      /* remove method_ref from the customer */

typedef struct tg_payment_method_request {
  uint32_t struct_size;
  tg_payment_method_action action;
  tg_str customer_ref;    /* provider's customer id, from register_customer */
  tg_str method_ref;      /* ATTACH, SET_DEFAULT, DETACH: the method (e.g. pm_...) */
  int32_t make_default;   /* ATTACH: also make it the default */
  tg_str idempotency_key; /* ATTACH, SET_DEFAULT, DETACH: required, passed on to the provider */
} tg_payment_method_request;

/* One method, valid only for the duration of the sink's call. */
typedef struct tg_payment_method_row {
  uint32_t struct_size;
  tg_str method_ref; /* pm_... */
  tg_str brand;      /* card brand as the provider names it (visa, mastercard, ...); may be empty */
  tg_str last4;      /* may be empty */
  int32_t exp_month; /* 1-12; 0 if none */
  int32_t exp_year;  /* e.g. 2031; 0 if none */
  int32_t is_default;
} tg_payment_method_row;

typedef struct tg_payment_method_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_payment_method_row* row);
} tg_payment_method_sink;

typedef struct tg_billing_vtable {
  uint32_t struct_size;
  /* --- ABI 1.0; all required --- */
  tg_status (*register_customer)(void* instance, const tg_call_ctx* ctx,
                                 const tg_billing_customer* customer, tg_billing_result_sink sink,
                                 tg_error* err);
  tg_status (*charge)(void* instance, const tg_call_ctx* ctx, const tg_billing_charge* charge,
                      tg_billing_result_sink sink, tg_error* err);
  /* Refunds `amount` of the payment `payment_ref`; idempotent on idempotency_key. */
  tg_status (*refund)(void* instance, const tg_call_ctx* ctx, tg_str payment_ref, tg_money amount,
                      tg_str idempotency_key, tg_billing_result_sink sink, tg_error* err);

  /* --- ABI 1.6: optional; a host checks TG_HAS_FIELD and a non-NULL pointer first --- */
  /* LIST: the sink gets every method. ATTACH, SET_DEFAULT: the sink gets the method as it is
   * after the change; DETACH: as it was. Returns:
   *   TG_ERR_NOT_FOUND         no such customer, or method_ref is not the customer's
   *                            (SET_DEFAULT, DETACH)
   *   TG_ERR_INVALID_ARGUMENT  naming the field (customer_ref, method_ref, idempotency_key), or a
   *                            token the provider refuses: a declined card on attach is
   *                            "method_ref: <the provider's decline reason>"
   *   TG_ERR_UNAVAILABLE       the provider did not answer (retry with the same key)
   *   TG_ERR_UNSUPPORTED       the provider keeps no methods */
  tg_status (*payment_methods)(void* instance, const tg_call_ctx* ctx,
                               const tg_payment_method_request* req, tg_payment_method_sink sink,
                               tg_error* err);
} tg_billing_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_BILLING_H */
