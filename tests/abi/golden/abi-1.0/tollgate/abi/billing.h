/* Tollgate plugin ABI v1: billing provider (TG_KIND_BILLING).
 *
 * Moves real money into a tenant's wallet: registers a customer with a payment provider and
 * charges or refunds it. The core records the result in the ledger; the provider never touches
 * the ledger itself. Every charge carries an idempotency key that the provider must pass on
 * (e.g. Stripe's Idempotency-Key), so a retried charge is never taken twice.
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
} tg_billing_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_BILLING_H */
