/* Tollgate plugin ABI v1: SMS keyword processor (TG_KIND_SMS_KEYWORDS).
 *
 * Asked what to do with one inbound SMS. The core has already applied its own opt-out registry
 * (STOP/START families) before and after the call: whatever a plugin decides, no reply is sent
 * to a number that opted out.
 */
#ifndef TOLLGATE_ABI_SMS_H
#define TOLLGATE_ABI_SMS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_sms_inbound {
  uint32_t struct_size;
  tg_str message_sid;  /* Twilio MessageSid */
  tg_str from;         /* sender, E.164 */
  tg_str to;           /* the tenant's number, E.164 */
  tg_str body;         /* as received; attacker-controlled */
  const tg_kv* params; /* every form parameter Twilio posted, borrowed */
  size_t param_count;
  const tg_kv* settings; /* the number's plugin settings, borrowed */
  size_t setting_count;
} tg_sms_inbound;

typedef int32_t tg_sms_action;
#define TG_SMS_IGNORE 1  /* no reply */
#define TG_SMS_REPLY 2   /* reply with `reply_body` */
#define TG_SMS_OPT_OUT 3 /* the sender asked to stop (tenant-specific keyword) */
#define TG_SMS_OPT_IN 4  /* the sender asked to resume */
#define TG_SMS_FORWARD 5 /* forward to `forward_url`, optionally also replying */

typedef struct tg_sms_decision {
  uint32_t struct_size;
  tg_sms_action action;
  tg_str reply_body;  /* plain text, the host escapes it into TwiML; may be empty */
  tg_str forward_url; /* https URL for TG_SMS_FORWARD; empty otherwise */
} tg_sms_decision;

/* Receives the plugin's decision; decision borrowed for the callback only. Call it once. */
typedef struct tg_sms_decision_sink {
  void* ctx;
  void (*fn)(void* ctx, const tg_sms_decision* decision);
} tg_sms_decision_sink;

typedef struct tg_sms_vtable {
  uint32_t struct_size;
  /* --- ABI 1.0; required --- */
  tg_status (*on_inbound)(void* instance, const tg_call_ctx* ctx, const tg_sms_inbound* msg,
                          tg_sms_decision_sink sink, tg_error* err);
} tg_sms_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_SMS_H */
