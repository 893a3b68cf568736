/* Tollgate plugin ABI v1: voice AI handler (TG_KIND_VOICE).
 *
 * Asked for the TwiML that answers one voice webhook: the inbound call and every follow-up
 * (gather result, recording, stream end). Twilio waits at most 15 s; the host enforces a much
 * shorter deadline and answers with the tenant's fallback TwiML when the plugin fails or
 * overruns.
 */
#ifndef TOLLGATE_ABI_VOICE_H
#define TOLLGATE_ABI_VOICE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t tg_voice_event;
#define TG_VOICE_INBOUND 1    /* first webhook of a call */
#define TG_VOICE_GATHER 2     /* result of <Gather>: Digits or SpeechResult in params */
#define TG_VOICE_RECORDING 3  /* result of <Record>: RecordingUrl in params */
#define TG_VOICE_STREAM_END 4 /* a <Connect><Stream> ended */

typedef struct tg_voice_request {
  uint32_t struct_size;
  tg_voice_event event;
  tg_str call_sid;
  tg_str from;
  tg_str to;
  tg_str step;            /* host-managed cursor the plugin set in its previous answer's
                             action URL (e.g. a menu id); empty on TG_VOICE_INBOUND */
  tg_str action_base_url; /* URL the plugin puts in action= attributes; the host routes it
                             back as the follow-up webhook; append "?step=<id>" */
  const tg_kv* params;    /* every form parameter Twilio posted, borrowed */
  size_t param_count;
  const tg_kv* settings; /* the number's plugin settings, borrowed */
  size_t setting_count;
  int64_t now_unix_ms;
} tg_voice_request;

/* Receives the answer: a complete TwiML document (UTF-8), borrowed for the callback only. */
typedef struct tg_twiml_sink {
  void* ctx;
  void (*fn)(void* ctx, tg_str twiml);
} tg_twiml_sink;

typedef struct tg_voice_vtable {
  uint32_t struct_size;
  /* --- ABI 1.0; required --- */
  tg_status (*on_call)(void* instance, const tg_call_ctx* ctx, const tg_voice_request* req,
                       tg_twiml_sink sink, tg_error* err);
} tg_voice_vtable;

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_ABI_VOICE_H */
