/* Tollgate plugin ABI v1: pricing source (TG_KIND_PRICING).
 *
 * Tells what the tenant pays for one unit of a product in a country. Prices are what the
 * tenant is charged (markup included), in micro-units.
 */
#ifndef TOLLGATE_ABI_PRICING_H
#define TOLLGATE_ABI_PRICING_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t tg_product;
#define TG_PRODUCT_SMS_SEGMENT_OUT 1 /* one outbound SMS segment */
#define TG_PRODUCT_SMS_SEGMENT_IN 2  /* one inbound SMS segment */
#define TG_PRODUCT_VOICE_MINUTE_IN 3 /* one started minute of an inbound call */
#define TG_PRODUCT_VOICE_MINUTE_OUT 4
#define TG_PRODUCT_NUMBER_MONTH 5 /* one phone number for one month */

typedef struct tg_price_query {
  uint32_t struct_size;
  tg_product product;
  char country[3];    /* ISO 3166-1 alpha-2, NUL-terminated ("US") */
  tg_str number_type; /* "local", "mobile", "toll-free"; may be empty */
  char currency[4];   /* currency the price is wanted in */
  /* --- ABI 1.5 --- */
  tg_str number; /* the other party's E.164 number when known ("+14155550100"), for sources that
                    price by prefix (outbound voice); may be empty */
} tg_price_query;

typedef struct tg_pricing_vtable {
  uint32_t struct_size;
  /* --- ABI 1.0; required --- */
  /* TG_OK with *out_price filled, or TG_ERR_NOT_FOUND when the source has no price for it. */
  tg_status (*price)(void* instance, const tg_call_ctx* ctx, const tg_price_query* query,
                     tg_money* out_price, tg_error* err);
} tg_pricing_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_PRICING_H */
