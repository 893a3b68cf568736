/* Pins the released layout of plugin ABI 1.0 and 1.1: the offset and size of every field of
 * every struct, the size of every frozen struct, and every numeric constant. A change to any of
 * them fails the build here, before a plugin built against an older SDK meets it at run time.
 *
 * Rules (see docs/abi-policy.md, "Pinned layout"):
 *   - A new minor version APPENDS pins for the fields, structs and constants it adds, under a
 *     "--- ABI 1.N ---" line. It never edits or deletes a pin: a pin that fails means the change
 *     breaks plugins already built, and needs a new major version (or a new `_v2` entry).
 *   - Extensible structs (those that start with struct_size) grow, so their sizeof is not
 *     pinned; PIN_END pins where each released version of the struct ends instead.
 *   - Frozen structs (no struct_size: tg_str, tg_kv, tg_money, tg_error, and every sink) never
 *     grow; PIN_SIZE pins their sizeof.
 *
 * The figures are those of LP64 targets (x86_64 SysV, which is what we ship; other LP64 ABIs
 * lay these types out the same way). Elsewhere this file checks nothing.
 *
 * Plain C99 like the headers, built with -pedantic-errors; `__extension__` lets the C11
 * _Static_assert (which GCC and Clang accept in C99 mode) through. */
#include <tollgate/abi/tollgate.h>

/* glibc replaces _Static_assert in strict C99 by a bit-field trick whose error names no field;
 * GCC and Clang have the real one in every mode, which prints the message below. */
#ifdef _Static_assert
#undef _Static_assert
#endif

#if defined(__LP64__) || defined(_LP64)

/* Field `f` of `type` starts at byte `off` and is `size` bytes long. */
#define PIN(type, f, off, size)                                                    \
  __extension__ _Static_assert(offsetof(type, f) == (off), #type "." #f " moved"); \
  __extension__ _Static_assert(sizeof(((type*)0)->f) == (size), #type "." #f " resized")
/* The version of extensible `type` whose last field is `f` is `size` bytes long. */
#define PIN_END(type, f, size)                                                      \
  __extension__ _Static_assert(offsetof(type, f) + sizeof(((type*)0)->f) == (size), \
                               #type " ending at " #f " changed size")
/* Frozen `type` is `size` bytes long. */
#define PIN_SIZE(type, size) \
  __extension__ _Static_assert(sizeof(type) == (size), #type " changed size")
/* Constant `name` has value `v`. */
#define PIN_VALUE(name, v) __extension__ _Static_assert((name) == (v), #name " renumbered")

/* ======== ABI 1.0 and 1.1 (released) ======== */

/* tg_str (common.h) */
PIN(tg_str, data, 0, 8);
PIN(tg_str, size, 8, 8);
PIN_SIZE(tg_str, 16);

/* tg_kv (common.h) */
PIN(tg_kv, name, 0, 16);
PIN(tg_kv, value, 16, 16);
PIN_SIZE(tg_kv, 32);

/* tg_money (common.h) */
PIN(tg_money, amount_micros, 0, 8);
PIN(tg_money, currency, 8, 4);
PIN_SIZE(tg_money, 16);

/* tg_error (common.h) */
PIN(tg_error, message, 0, 512);
PIN_SIZE(tg_error, 512);

/* tg_call_ctx (common.h) */
PIN(tg_call_ctx, struct_size, 0, 4);
PIN(tg_call_ctx, tenant_id, 8, 16);
PIN(tg_call_ctx, request_id, 24, 16);
PIN(tg_call_ctx, deadline_unix_ms, 40, 8);
PIN_END(tg_call_ctx, deadline_unix_ms, 48);

/* tg_host_api (host.h) */
PIN(tg_host_api, struct_size, 0, 4);
PIN(tg_host_api, abi_major, 4, 2);
PIN(tg_host_api, abi_minor, 6, 2);
PIN(tg_host_api, host_ctx, 8, 8);
PIN(tg_host_api, log, 16, 8);
PIN(tg_host_api, config_get, 24, 8);
PIN(tg_host_api, now_unix_ms, 32, 8);
PIN(tg_host_api, metric_add, 40, 8);
PIN(tg_host_api, state_dir, 48, 8);
PIN_END(tg_host_api, state_dir, 56);

/* tg_config_key (plugin.h) */
PIN(tg_config_key, struct_size, 0, 4);
PIN(tg_config_key, name, 8, 16);
PIN(tg_config_key, type, 24, 4);
PIN(tg_config_key, required, 28, 4);
PIN(tg_config_key, default_value, 32, 16);
PIN(tg_config_key, help, 48, 16);
PIN_END(tg_config_key, help, 64);

/* tg_plugin_descriptor (plugin.h) */
PIN(tg_plugin_descriptor, struct_size, 0, 4);
PIN(tg_plugin_descriptor, abi_major, 4, 2);
PIN(tg_plugin_descriptor, abi_minor, 6, 2);
PIN(tg_plugin_descriptor, id, 8, 16);
PIN(tg_plugin_descriptor, version, 24, 16);
PIN(tg_plugin_descriptor, kind, 40, 4);
PIN(tg_plugin_descriptor, vtable, 48, 8);
PIN(tg_plugin_descriptor, config_keys, 56, 8);
PIN(tg_plugin_descriptor, config_key_count, 64, 8);
PIN(tg_plugin_descriptor, init, 72, 8);
PIN(tg_plugin_descriptor, shutdown, 80, 8);
PIN_END(tg_plugin_descriptor, shutdown, 88);

/* tg_tenant_row (storage.h) */
PIN(tg_tenant_row, struct_size, 0, 4);
PIN(tg_tenant_row, id, 8, 16);
PIN(tg_tenant_row, name, 24, 16);
PIN(tg_tenant_row, status, 40, 4);
PIN(tg_tenant_row, created_at_ms, 48, 8);
PIN_END(tg_tenant_row, created_at_ms, 56);

/* tg_api_key_row (storage.h) */
PIN(tg_api_key_row, struct_size, 0, 4);
PIN(tg_api_key_row, id, 8, 16);
PIN(tg_api_key_row, tenant_id, 24, 16);
PIN(tg_api_key_row, secret_sha256, 40, 16);
PIN(tg_api_key_row, label, 56, 16);
PIN(tg_api_key_row, created_at_ms, 72, 8);
PIN(tg_api_key_row, revoked_at_ms, 80, 8);
PIN_END(tg_api_key_row, revoked_at_ms, 88);

/* tg_wallet_row (storage.h) */
PIN(tg_wallet_row, struct_size, 0, 4);
PIN(tg_wallet_row, tenant_id, 8, 16);
PIN(tg_wallet_row, currency, 24, 4);
PIN(tg_wallet_row, balance_micros, 32, 8);
PIN(tg_wallet_row, credit_limit_micros, 40, 8);
PIN(tg_wallet_row, created_at_ms, 48, 8);
PIN_END(tg_wallet_row, created_at_ms, 56);

/* tg_ledger_entry_in (storage.h) */
PIN(tg_ledger_entry_in, struct_size, 0, 4);
PIN(tg_ledger_entry_in, kind, 4, 4);
PIN(tg_ledger_entry_in, amount_micros, 8, 8);
PIN(tg_ledger_entry_in, reference, 16, 16);
PIN(tg_ledger_entry_in, description, 32, 16);
PIN_END(tg_ledger_entry_in, description, 48);

/* tg_ledger_entry_row (storage.h) */
PIN(tg_ledger_entry_row, struct_size, 0, 4);
PIN(tg_ledger_entry_row, seq, 8, 8);
PIN(tg_ledger_entry_row, tenant_id, 16, 16);
PIN(tg_ledger_entry_row, currency, 32, 4);
PIN(tg_ledger_entry_row, kind, 36, 4);
PIN(tg_ledger_entry_row, amount_micros, 40, 8);
PIN(tg_ledger_entry_row, balance_after_micros, 48, 8);
PIN(tg_ledger_entry_row, idempotency_key, 56, 16);
PIN(tg_ledger_entry_row, reference, 72, 16);
PIN(tg_ledger_entry_row, description, 88, 16);
PIN(tg_ledger_entry_row, created_at_ms, 104, 8);
PIN_END(tg_ledger_entry_row, created_at_ms, 112);

/* tg_ledger_apply_request (storage.h) */
PIN(tg_ledger_apply_request, struct_size, 0, 4);
PIN(tg_ledger_apply_request, currency, 4, 4);
PIN(tg_ledger_apply_request, idempotency_key, 8, 16);
PIN(tg_ledger_apply_request, entries, 24, 8);
PIN(tg_ledger_apply_request, entry_count, 32, 8);
PIN(tg_ledger_apply_request, now_ms, 40, 8);
PIN_END(tg_ledger_apply_request, now_ms, 48);

/* tg_ledger_apply_result (storage.h) */
PIN(tg_ledger_apply_result, struct_size, 0, 4);
PIN(tg_ledger_apply_result, outcome, 4, 4);
PIN(tg_ledger_apply_result, balance_micros, 8, 8);
PIN(tg_ledger_apply_result, first_seq, 16, 8);
PIN_END(tg_ledger_apply_result, first_seq, 24);

/* tg_idempotency_row (storage.h) */
PIN(tg_idempotency_row, struct_size, 0, 4);
PIN(tg_idempotency_row, tenant_id, 8, 16);
PIN(tg_idempotency_row, scope, 24, 16);
PIN(tg_idempotency_row, key, 40, 16);
PIN(tg_idempotency_row, request_hash, 56, 16);
PIN(tg_idempotency_row, response_status, 72, 4);
PIN(tg_idempotency_row, response_body, 80, 16);
PIN(tg_idempotency_row, created_at_ms, 96, 8);
PIN_END(tg_idempotency_row, created_at_ms, 104);

/* tg_tenant_sink (storage.h) */
PIN(tg_tenant_sink, ctx, 0, 8);
PIN(tg_tenant_sink, fn, 8, 8);
PIN_SIZE(tg_tenant_sink, 16);

/* tg_api_key_sink (storage.h) */
PIN(tg_api_key_sink, ctx, 0, 8);
PIN(tg_api_key_sink, fn, 8, 8);
PIN_SIZE(tg_api_key_sink, 16);

/* tg_wallet_sink (storage.h) */
PIN(tg_wallet_sink, ctx, 0, 8);
PIN(tg_wallet_sink, fn, 8, 8);
PIN_SIZE(tg_wallet_sink, 16);

/* tg_ledger_entry_sink (storage.h) */
PIN(tg_ledger_entry_sink, ctx, 0, 8);
PIN(tg_ledger_entry_sink, fn, 8, 8);
PIN_SIZE(tg_ledger_entry_sink, 16);

/* tg_idempotency_sink (storage.h) */
PIN(tg_idempotency_sink, ctx, 0, 8);
PIN(tg_idempotency_sink, fn, 8, 8);
PIN_SIZE(tg_idempotency_sink, 16);

/* tg_number_row (storage.h, added in ABI 1.1) */
PIN(tg_number_row, struct_size, 0, 4);
PIN(tg_number_row, e164, 8, 16);
PIN(tg_number_row, tenant_id, 24, 16);
PIN(tg_number_row, account_sid, 40, 16);
PIN(tg_number_row, twilio_sid, 56, 16);
PIN(tg_number_row, voice_plugin, 72, 16);
PIN(tg_number_row, sms_plugin, 88, 16);
PIN(tg_number_row, settings_json, 104, 16);
PIN(tg_number_row, created_at_ms, 120, 8);
PIN(tg_number_row, updated_at_ms, 128, 8);
PIN_END(tg_number_row, updated_at_ms, 136);

/* tg_twilio_account_row (storage.h, added in ABI 1.1) */
PIN(tg_twilio_account_row, struct_size, 0, 4);
PIN(tg_twilio_account_row, account_sid, 8, 16);
PIN(tg_twilio_account_row, tenant_id, 24, 16);
PIN(tg_twilio_account_row, auth_token_enc, 40, 16);
PIN(tg_twilio_account_row, friendly_name, 56, 16);
PIN(tg_twilio_account_row, is_subaccount, 72, 4);
PIN(tg_twilio_account_row, created_at_ms, 80, 8);
PIN_END(tg_twilio_account_row, created_at_ms, 88);

/* tg_message_row (storage.h, added in ABI 1.1) */
PIN(tg_message_row, struct_size, 0, 4);
PIN(tg_message_row, sid, 8, 16);
PIN(tg_message_row, tenant_id, 24, 16);
PIN(tg_message_row, direction, 40, 4);
PIN(tg_message_row, from_number, 48, 16);
PIN(tg_message_row, to_number, 64, 16);
PIN(tg_message_row, body, 80, 16);
PIN(tg_message_row, status, 96, 16);
PIN(tg_message_row, status_rank, 112, 4);
PIN(tg_message_row, error_code, 116, 4);
PIN(tg_message_row, num_segments, 120, 4);
PIN(tg_message_row, price_micros, 128, 8);
PIN(tg_message_row, currency, 136, 4);
PIN(tg_message_row, created_at_ms, 144, 8);
PIN(tg_message_row, updated_at_ms, 152, 8);
PIN_END(tg_message_row, updated_at_ms, 160);

/* tg_call_row (storage.h, added in ABI 1.1) */
PIN(tg_call_row, struct_size, 0, 4);
PIN(tg_call_row, sid, 8, 16);
PIN(tg_call_row, tenant_id, 24, 16);
PIN(tg_call_row, direction, 40, 4);
PIN(tg_call_row, from_number, 48, 16);
PIN(tg_call_row, to_number, 64, 16);
PIN(tg_call_row, status, 80, 16);
PIN(tg_call_row, status_rank, 96, 4);
PIN(tg_call_row, duration_s, 100, 4);
PIN(tg_call_row, recording_url, 104, 16);
PIN(tg_call_row, created_at_ms, 120, 8);
PIN(tg_call_row, updated_at_ms, 128, 8);
PIN_END(tg_call_row, updated_at_ms, 136);

/* tg_log_query (storage.h, added in ABI 1.1) */
PIN(tg_log_query, struct_size, 0, 4);
PIN(tg_log_query, from_ms, 8, 8);
PIN(tg_log_query, to_ms, 16, 8);
PIN(tg_log_query, status, 24, 16);
PIN(tg_log_query, number, 40, 16);
PIN(tg_log_query, before_ms, 56, 8);
PIN(tg_log_query, before_sid, 64, 16);
PIN(tg_log_query, limit, 80, 4);
PIN_END(tg_log_query, limit, 84);

/* tg_number_sink (storage.h, added in ABI 1.1) */
PIN(tg_number_sink, ctx, 0, 8);
PIN(tg_number_sink, fn, 8, 8);
PIN_SIZE(tg_number_sink, 16);

/* tg_twilio_account_sink (storage.h, added in ABI 1.1) */
PIN(tg_twilio_account_sink, ctx, 0, 8);
PIN(tg_twilio_account_sink, fn, 8, 8);
PIN_SIZE(tg_twilio_account_sink, 16);

/* tg_message_sink (storage.h, added in ABI 1.1) */
PIN(tg_message_sink, ctx, 0, 8);
PIN(tg_message_sink, fn, 8, 8);
PIN_SIZE(tg_message_sink, 16);

/* tg_call_sink (storage.h, added in ABI 1.1) */
PIN(tg_call_sink, ctx, 0, 8);
PIN(tg_call_sink, fn, 8, 8);
PIN_SIZE(tg_call_sink, 16);

/* tg_storage_vtable (storage.h) */
PIN(tg_storage_vtable, struct_size, 0, 4);
PIN(tg_storage_vtable, migrate, 8, 8);
PIN(tg_storage_vtable, tenant_create, 16, 8);
PIN(tg_storage_vtable, tenant_get, 24, 8);
PIN(tg_storage_vtable, tenant_list, 32, 8);
PIN(tg_storage_vtable, tenant_set_status, 40, 8);
PIN(tg_storage_vtable, api_key_create, 48, 8);
PIN(tg_storage_vtable, api_key_get, 56, 8);
PIN(tg_storage_vtable, api_key_list, 64, 8);
PIN(tg_storage_vtable, api_key_revoke, 72, 8);
PIN(tg_storage_vtable, wallet_create, 80, 8);
PIN(tg_storage_vtable, wallet_get, 88, 8);
PIN(tg_storage_vtable, ledger_apply, 96, 8);
PIN(tg_storage_vtable, ledger_list, 104, 8);
PIN(tg_storage_vtable, idempotency_claim, 112, 8);
PIN(tg_storage_vtable, idempotency_complete, 120, 8);
PIN_END(tg_storage_vtable, idempotency_complete, 128); /* as released in 1.0 */
/* --- ABI 1.1 --- */
PIN(tg_storage_vtable, number_put, 128, 8);
PIN(tg_storage_vtable, number_get, 136, 8);
PIN(tg_storage_vtable, number_list, 144, 8);
PIN(tg_storage_vtable, number_detach, 152, 8);
PIN(tg_storage_vtable, twilio_account_put, 160, 8);
PIN(tg_storage_vtable, twilio_account_get, 168, 8);
PIN(tg_storage_vtable, message_insert, 176, 8);
PIN(tg_storage_vtable, message_update_status, 184, 8);
PIN(tg_storage_vtable, message_get, 192, 8);
PIN(tg_storage_vtable, message_list, 200, 8);
PIN(tg_storage_vtable, call_insert, 208, 8);
PIN(tg_storage_vtable, call_update_status, 216, 8);
PIN(tg_storage_vtable, call_set_recording, 224, 8);
PIN(tg_storage_vtable, call_get, 232, 8);
PIN(tg_storage_vtable, call_list, 240, 8);
PIN(tg_storage_vtable, optout_set, 248, 8);
PIN(tg_storage_vtable, optout_get, 256, 8);
PIN_END(tg_storage_vtable, optout_get, 264); /* as released in 1.1 */

/* tg_sms_inbound (sms.h) */
PIN(tg_sms_inbound, struct_size, 0, 4);
PIN(tg_sms_inbound, message_sid, 8, 16);
PIN(tg_sms_inbound, from, 24, 16);
PIN(tg_sms_inbound, to, 40, 16);
PIN(tg_sms_inbound, body, 56, 16);
PIN(tg_sms_inbound, params, 72, 8);
PIN(tg_sms_inbound, param_count, 80, 8);
PIN(tg_sms_inbound, settings, 88, 8);
PIN(tg_sms_inbound, setting_count, 96, 8);
PIN_END(tg_sms_inbound, setting_count, 104); /* as released in 1.0 */
/* --- ABI 1.1 --- */
PIN(tg_sms_inbound, keyword, 104, 4);
PIN(tg_sms_inbound, tenant_name, 112, 16);
PIN_END(tg_sms_inbound, tenant_name, 128); /* as released in 1.1 */

/* tg_sms_decision (sms.h) */
PIN(tg_sms_decision, struct_size, 0, 4);
PIN(tg_sms_decision, action, 4, 4);
PIN(tg_sms_decision, reply_body, 8, 16);
PIN(tg_sms_decision, forward_url, 24, 16);
PIN_END(tg_sms_decision, forward_url, 40);

/* tg_sms_decision_sink (sms.h) */
PIN(tg_sms_decision_sink, ctx, 0, 8);
PIN(tg_sms_decision_sink, fn, 8, 8);
PIN_SIZE(tg_sms_decision_sink, 16);

/* tg_sms_vtable (sms.h) */
PIN(tg_sms_vtable, struct_size, 0, 4);
PIN(tg_sms_vtable, on_inbound, 8, 8);
PIN_END(tg_sms_vtable, on_inbound, 16);

/* tg_voice_request (voice.h) */
PIN(tg_voice_request, struct_size, 0, 4);
PIN(tg_voice_request, event, 4, 4);
PIN(tg_voice_request, call_sid, 8, 16);
PIN(tg_voice_request, from, 24, 16);
PIN(tg_voice_request, to, 40, 16);
PIN(tg_voice_request, step, 56, 16);
PIN(tg_voice_request, action_base_url, 72, 16);
PIN(tg_voice_request, params, 88, 8);
PIN(tg_voice_request, param_count, 96, 8);
PIN(tg_voice_request, settings, 104, 8);
PIN(tg_voice_request, setting_count, 112, 8);
PIN(tg_voice_request, now_unix_ms, 120, 8);
PIN_END(tg_voice_request, now_unix_ms, 128);

/* tg_twiml_sink (voice.h) */
PIN(tg_twiml_sink, ctx, 0, 8);
PIN(tg_twiml_sink, fn, 8, 8);
PIN_SIZE(tg_twiml_sink, 16);

/* tg_voice_vtable (voice.h) */
PIN(tg_voice_vtable, struct_size, 0, 4);
PIN(tg_voice_vtable, on_call, 8, 8);
PIN_END(tg_voice_vtable, on_call, 16);

/* tg_billing_customer (billing.h) */
PIN(tg_billing_customer, struct_size, 0, 4);
PIN(tg_billing_customer, email, 8, 16);
PIN(tg_billing_customer, display_name, 24, 16);
PIN_END(tg_billing_customer, display_name, 40);

/* tg_billing_charge (billing.h) */
PIN(tg_billing_charge, struct_size, 0, 4);
PIN(tg_billing_charge, customer_ref, 8, 16);
PIN(tg_billing_charge, amount, 24, 16);
PIN(tg_billing_charge, idempotency_key, 40, 16);
PIN(tg_billing_charge, description, 56, 16);
PIN_END(tg_billing_charge, description, 72);

/* tg_billing_result (billing.h) */
PIN(tg_billing_result, struct_size, 0, 4);
PIN(tg_billing_result, state, 4, 4);
PIN(tg_billing_result, provider_ref, 8, 16);
PIN(tg_billing_result, amount, 24, 16);
PIN(tg_billing_result, failure, 40, 16);
PIN_END(tg_billing_result, failure, 56);

/* tg_billing_result_sink (billing.h) */
PIN(tg_billing_result_sink, ctx, 0, 8);
PIN(tg_billing_result_sink, fn, 8, 8);
PIN_SIZE(tg_billing_result_sink, 16);

/* tg_billing_vtable (billing.h) */
PIN(tg_billing_vtable, struct_size, 0, 4);
PIN(tg_billing_vtable, register_customer, 8, 8);
PIN(tg_billing_vtable, charge, 16, 8);
PIN(tg_billing_vtable, refund, 24, 8);
PIN_END(tg_billing_vtable, refund, 32);

/* tg_price_query (pricing.h) */
PIN(tg_price_query, struct_size, 0, 4);
PIN(tg_price_query, product, 4, 4);
PIN(tg_price_query, country, 8, 3);
PIN(tg_price_query, number_type, 16, 16);
PIN(tg_price_query, currency, 32, 4);
PIN_END(tg_price_query, currency, 36);

/* tg_pricing_vtable (pricing.h) */
PIN(tg_pricing_vtable, struct_size, 0, 4);
PIN(tg_pricing_vtable, price, 8, 8);
PIN_END(tg_pricing_vtable, price, 16);

/* ---- constants ---- */
PIN_VALUE(TG_ABI_MAJOR, 1);
PIN_VALUE(TG_OK, 0);
PIN_VALUE(TG_ERR_INVALID_ARGUMENT, 1);
PIN_VALUE(TG_ERR_NOT_FOUND, 2);
PIN_VALUE(TG_ERR_CONFLICT, 3);
PIN_VALUE(TG_ERR_UNAVAILABLE, 4);
PIN_VALUE(TG_ERR_DEADLINE, 5);
PIN_VALUE(TG_ERR_UNSUPPORTED, 6);
PIN_VALUE(TG_ERR_INTERNAL, 7);
PIN_VALUE(TG_ERROR_MESSAGE_MAX, 512);
PIN_VALUE(TG_LOG_DEBUG, 1);
PIN_VALUE(TG_LOG_INFO, 2);
PIN_VALUE(TG_LOG_WARN, 3);
PIN_VALUE(TG_LOG_ERROR, 4);
PIN_VALUE(TG_KIND_STORAGE, 1);
PIN_VALUE(TG_KIND_VOICE, 2);
PIN_VALUE(TG_KIND_SMS_KEYWORDS, 3);
PIN_VALUE(TG_KIND_BILLING, 4);
PIN_VALUE(TG_KIND_PRICING, 5);
PIN_VALUE(TG_CONFIG_STRING, 1);
PIN_VALUE(TG_CONFIG_INT, 2);
PIN_VALUE(TG_CONFIG_BOOL, 3);
PIN_VALUE(TG_CONFIG_PATH, 4);
PIN_VALUE(TG_TENANT_ACTIVE, 1);
PIN_VALUE(TG_TENANT_SUSPENDED, 2);
PIN_VALUE(TG_TENANT_CLOSED, 3);
PIN_VALUE(TG_ENTRY_TOPUP, 1);
PIN_VALUE(TG_ENTRY_CHARGE, 2);
PIN_VALUE(TG_ENTRY_REFUND, 3);
PIN_VALUE(TG_ENTRY_ADJUSTMENT, 4);
PIN_VALUE(TG_APPLY_APPLIED, 1);
PIN_VALUE(TG_APPLY_ALREADY_APPLIED, 2);
PIN_VALUE(TG_DIRECTION_INBOUND, 1);
PIN_VALUE(TG_DIRECTION_OUTBOUND, 2);
PIN_VALUE(TG_SMS_KEYWORD_NONE, 1);
PIN_VALUE(TG_SMS_KEYWORD_STOP, 2);
PIN_VALUE(TG_SMS_KEYWORD_START, 3);
PIN_VALUE(TG_SMS_KEYWORD_HELP, 4);
PIN_VALUE(TG_SMS_IGNORE, 1);
PIN_VALUE(TG_SMS_REPLY, 2);
PIN_VALUE(TG_SMS_OPT_OUT, 3);
PIN_VALUE(TG_SMS_OPT_IN, 4);
PIN_VALUE(TG_SMS_FORWARD, 5);
PIN_VALUE(TG_VOICE_INBOUND, 1);
PIN_VALUE(TG_VOICE_GATHER, 2);
PIN_VALUE(TG_VOICE_RECORDING, 3);
PIN_VALUE(TG_VOICE_STREAM_END, 4);
PIN_VALUE(TG_PAYMENT_SUCCEEDED, 1);
PIN_VALUE(TG_PAYMENT_PENDING, 2);
PIN_VALUE(TG_PAYMENT_FAILED, 3);
PIN_VALUE(TG_PRODUCT_SMS_SEGMENT_OUT, 1);
PIN_VALUE(TG_PRODUCT_SMS_SEGMENT_IN, 2);
PIN_VALUE(TG_PRODUCT_VOICE_MINUTE_IN, 3);
PIN_VALUE(TG_PRODUCT_VOICE_MINUTE_OUT, 4);
PIN_VALUE(TG_PRODUCT_NUMBER_MONTH, 5);
PIN_VALUE(TG_APPLY_INSUFFICIENT_FUNDS, 3);

/* ======== ABI 1.2 and later: append pins here, never edit the ones above ======== */

/* --- ABI 1.2 --- */
PIN(tg_storage_vtable, idempotency_reclaim, 264, 8);
PIN_END(tg_storage_vtable, idempotency_reclaim, 272); /* as released in 1.2 */

/* --- ABI 1.3 --- */
PIN(tg_storage_vtable, unit_apply, 272, 8);
PIN_END(tg_storage_vtable, unit_apply, 280); /* as released in 1.3 */
PIN(tg_idempotency_completion, scope, 8, 16);
PIN(tg_idempotency_completion, key, 24, 16);
PIN(tg_idempotency_completion, response_status, 40, 4);
PIN(tg_idempotency_completion, response_body, 48, 16);
PIN(tg_idempotency_completion, reply_to, 64, 16);
PIN(tg_idempotency_completion, no_reply_body, 80, 16);
PIN_END(tg_idempotency_completion, no_reply_body, 96);
PIN(tg_status_change, sid, 8, 16);
PIN(tg_status_change, status, 24, 16);
PIN(tg_status_change, status_rank, 40, 4);
PIN(tg_status_change, error_code, 44, 4);
PIN(tg_status_change, duration_s, 48, 4);
PIN(tg_status_change, now_ms, 56, 8);
PIN_END(tg_status_change, now_ms, 64);
PIN(tg_recording_change, sid, 8, 16);
PIN(tg_recording_change, recording_url, 24, 16);
PIN(tg_recording_change, now_ms, 40, 8);
PIN_END(tg_recording_change, now_ms, 48);
PIN(tg_optout_change, phone, 8, 16);
PIN(tg_optout_change, opted_out, 24, 4);
PIN(tg_optout_change, keyword, 32, 16);
PIN(tg_optout_change, message_sid, 48, 16);
PIN(tg_optout_change, now_ms, 64, 8);
PIN_END(tg_optout_change, now_ms, 72);
PIN(tg_unit_op, kind, 4, 4);
PIN(tg_unit_op, args, 8, 8);
PIN(tg_unit_op, out_result, 16, 8);
PIN_END(tg_unit_op, out_result, 24);
PIN(tg_unit, ops, 8, 8);
PIN(tg_unit, op_count, 16, 8);
PIN_END(tg_unit, op_count, 24);
PIN_VALUE(TG_UNIT_CLAIM, 1);
PIN_VALUE(TG_UNIT_COMPLETE, 2);
PIN_VALUE(TG_UNIT_MESSAGE_INSERT, 3);
PIN_VALUE(TG_UNIT_MESSAGE_STATUS, 4);
PIN_VALUE(TG_UNIT_CALL_INSERT, 5);
PIN_VALUE(TG_UNIT_CALL_STATUS, 6);
PIN_VALUE(TG_UNIT_CALL_RECORDING, 7);
PIN_VALUE(TG_UNIT_OPTOUT_SET, 8);
PIN_VALUE(TG_UNIT_CHANGED, 1);
PIN_VALUE(TG_UNIT_UNCHANGED, 0);
PIN_VALUE(TG_UNIT_MISSING, -1);
PIN_VALUE(TG_UNIT_NO_REPLY, 2);
PIN_VALUE(TG_UNIT_APPLIED, 1);
PIN_VALUE(TG_UNIT_DUPLICATE, 2);

/* --- ABI 1.4 --- */
PIN(tg_wallet_row, held_micros, 56, 8);
PIN_END(tg_wallet_row, held_micros, 64);
PIN(tg_hold_request, action, 4, 4);
PIN(tg_hold_request, currency, 8, 4);
PIN(tg_hold_request, hold_id, 16, 16);
PIN(tg_hold_request, amount_micros, 32, 8);
PIN(tg_hold_request, kind, 40, 4);
PIN(tg_hold_request, reference, 48, 16);
PIN(tg_hold_request, description, 64, 16);
PIN(tg_hold_request, expires_at_ms, 80, 8);
PIN(tg_hold_request, now_ms, 88, 8);
PIN_END(tg_hold_request, now_ms, 96);
PIN(tg_hold_result, outcome, 4, 4);
PIN(tg_hold_result, status, 8, 4);
PIN(tg_hold_result, balance_micros, 16, 8);
PIN(tg_hold_result, held_micros, 24, 8);
PIN(tg_hold_result, captured_micros, 32, 8);
PIN(tg_hold_result, entry_seq, 40, 8);
PIN_END(tg_hold_result, entry_seq, 48);
PIN(tg_hold_row, hold_id, 8, 16);
PIN(tg_hold_row, tenant_id, 24, 16);
PIN(tg_hold_row, currency, 40, 4);
PIN(tg_hold_row, status, 44, 4);
PIN(tg_hold_row, amount_micros, 48, 8);
PIN(tg_hold_row, captured_micros, 56, 8);
PIN(tg_hold_row, entry_seq, 64, 8);
PIN(tg_hold_row, reference, 72, 16);
PIN(tg_hold_row, expires_at_ms, 88, 8);
PIN(tg_hold_row, created_at_ms, 96, 8);
PIN(tg_hold_row, updated_at_ms, 104, 8);
PIN_END(tg_hold_row, updated_at_ms, 112);
PIN(tg_hold_query, currency, 4, 4);
PIN(tg_hold_query, status, 8, 4);
PIN(tg_hold_query, hold_id, 16, 16);
PIN(tg_hold_query, after_id, 32, 16);
PIN(tg_hold_query, limit, 48, 4);
PIN_END(tg_hold_query, limit, 52);
PIN(tg_ledger_query, currency, 4, 4);
PIN(tg_ledger_query, after_seq, 8, 8);
PIN(tg_ledger_query, limit, 16, 4);
PIN(tg_ledger_query, kind, 20, 4);
PIN(tg_ledger_query, from_ms, 24, 8);
PIN(tg_ledger_query, to_ms, 32, 8);
PIN(tg_ledger_query, bucket_ms, 40, 8);
PIN_END(tg_ledger_query, bucket_ms, 48);
PIN(tg_ledger_summary_row, bucket_start_ms, 8, 8);
PIN(tg_ledger_summary_row, kind, 16, 4);
PIN(tg_ledger_summary_row, entry_count, 24, 8);
PIN(tg_ledger_summary_row, total_micros, 32, 8);
PIN_END(tg_ledger_summary_row, total_micros, 40);
PIN_SIZE(tg_hold_sink, 16);
PIN_SIZE(tg_ledger_summary_sink, 16);
PIN(tg_storage_vtable, hold_apply, 280, 8);
PIN(tg_storage_vtable, hold_list, 288, 8);
PIN(tg_storage_vtable, hold_expire, 296, 8);
PIN(tg_storage_vtable, ledger_query, 304, 8);
PIN(tg_storage_vtable, ledger_summary, 312, 8);
PIN_END(tg_storage_vtable, ledger_summary, 320); /* as released in 1.4 */
PIN_VALUE(TG_ENTRY_SMS_USAGE, 5);
PIN_VALUE(TG_ENTRY_VOICE_USAGE, 6);
PIN_VALUE(TG_ENTRY_NUMBER_PURCHASE, 7);
PIN_VALUE(TG_ENTRY_NUMBER_RENTAL, 8);

/* --- ABI 1.5 --- */
PIN(tg_http_request, method, 8, 16);
PIN(tg_http_request, url, 24, 16);
PIN(tg_http_request, headers, 40, 8);
PIN(tg_http_request, header_count, 48, 8);
PIN(tg_http_request, body, 56, 16);
PIN(tg_http_request, timeout_ms, 72, 8);
PIN_END(tg_http_request, timeout_ms, 80);
PIN(tg_http_response, status, 4, 4);
PIN(tg_http_response, headers, 8, 8);
PIN(tg_http_response, header_count, 16, 8);
PIN(tg_http_response, body, 24, 16);
PIN_END(tg_http_response, body, 40);
PIN_SIZE(tg_http_response_sink, 16);
PIN(tg_host_api, http_request, 56, 8);
PIN_END(tg_host_api, http_request, 64); /* as released in 1.5 */
PIN_VALUE(TG_ERR_OUTCOME_UNKNOWN, 8);
PIN(tg_price_query, number, 40, 16);
PIN_END(tg_price_query, number, 56);
PIN_VALUE(TG_APPLY_HOLD_NOT_ACTIVE, 4);
PIN_VALUE(TG_HOLD_ACTIVE, 1);
PIN_VALUE(TG_HOLD_CAPTURED, 2);
PIN_VALUE(TG_HOLD_RELEASED, 3);
PIN_VALUE(TG_HOLD_EXPIRED, 4);
PIN_VALUE(TG_HOLD_RESERVE, 1);
PIN_VALUE(TG_HOLD_CAPTURE, 2);
PIN_VALUE(TG_HOLD_RELEASE, 3);

/* --- ABI 1.6 --- */
PIN(tg_billing_profile_row, currency, 4, 4);
PIN(tg_billing_profile_row, tenant_id, 8, 16);
PIN(tg_billing_profile_row, provider, 24, 16);
PIN(tg_billing_profile_row, customer_ref, 40, 16);
PIN(tg_billing_profile_row, recharge_threshold_micros, 56, 8);
PIN(tg_billing_profile_row, recharge_amount_micros, 64, 8);
PIN(tg_billing_profile_row, recharge_in_flight, 72, 4);
PIN(tg_billing_profile_row, recharge_failures, 76, 4);
PIN(tg_billing_profile_row, recharge_started_at_ms, 80, 8);
PIN(tg_billing_profile_row, recharge_retry_at_ms, 88, 8);
PIN(tg_billing_profile_row, recharge_last_error, 96, 16);
PIN(tg_billing_profile_row, created_at_ms, 112, 8);
PIN(tg_billing_profile_row, updated_at_ms, 120, 8);
PIN_END(tg_billing_profile_row, updated_at_ms, 128);
PIN_SIZE(tg_billing_profile_sink, 16);
PIN(tg_recharge_end, currency, 4, 4);
PIN(tg_recharge_end, started_at_ms, 8, 8);
PIN(tg_recharge_end, failed, 16, 4);
PIN(tg_recharge_end, error, 24, 16);
PIN(tg_recharge_end, retry_at_ms, 40, 8);
PIN(tg_recharge_end, now_ms, 48, 8);
PIN_END(tg_recharge_end, now_ms, 56);
PIN(tg_ledger_apply_request, allow_overdraft, 48, 4);
PIN_END(tg_ledger_apply_request, allow_overdraft, 52);
PIN(tg_ledger_entry_in, country, 48, 4);
PIN_END(tg_ledger_entry_in, country, 52);
PIN(tg_hold_request, country, 96, 4);
PIN_END(tg_hold_request, country, 100);
PIN(tg_ledger_query, by_country, 48, 4);
PIN_END(tg_ledger_query, by_country, 52);
PIN(tg_ledger_summary_row, country, 40, 4);
PIN_END(tg_ledger_summary_row, country, 44);
PIN(tg_storage_vtable, billing_profile_put, 320, 8);
PIN(tg_storage_vtable, billing_profile_get, 328, 8);
PIN(tg_storage_vtable, recharge_begin, 336, 8);
PIN(tg_storage_vtable, recharge_end, 344, 8);
PIN_END(tg_storage_vtable, recharge_end, 352); /* as released in 1.6 */

PIN(tg_payment_method_request, struct_size, 0, 4);
PIN(tg_payment_method_request, action, 4, 4);
PIN(tg_payment_method_request, customer_ref, 8, 16);
PIN(tg_payment_method_request, method_ref, 24, 16);
PIN(tg_payment_method_request, make_default, 40, 4);
PIN(tg_payment_method_request, idempotency_key, 48, 16);
PIN_END(tg_payment_method_request, idempotency_key, 64);
PIN(tg_payment_method_row, struct_size, 0, 4);
PIN(tg_payment_method_row, method_ref, 8, 16);
PIN(tg_payment_method_row, brand, 24, 16);
PIN(tg_payment_method_row, last4, 40, 16);
PIN(tg_payment_method_row, exp_month, 56, 4);
PIN(tg_payment_method_row, exp_year, 60, 4);
PIN(tg_payment_method_row, is_default, 64, 4);
PIN_END(tg_payment_method_row, is_default, 68);
PIN(tg_payment_method_sink, ctx, 0, 8);
PIN(tg_payment_method_sink, fn, 8, 8);
PIN_SIZE(tg_payment_method_sink, 16);
PIN(tg_billing_vtable, payment_methods, 32, 8);
PIN_END(tg_billing_vtable, payment_methods, 40); /* as released in 1.6 */
PIN_VALUE(TG_PM_LIST, 1);
PIN_VALUE(TG_PM_ATTACH, 2);
PIN_VALUE(TG_PM_SET_DEFAULT, 3);
PIN_VALUE(TG_PM_DETACH, 4);

/* --- ABI 1.7 --- */
PIN_VALUE(TG_UNIT_USAGE_ADD, 9);
PIN(tg_usage_row, tenant_id, 8, 16);
PIN(tg_usage_row, key, 24, 16);
PIN(tg_usage_row, currency, 40, 4);
PIN(tg_usage_row, product, 44, 4);
PIN(tg_usage_row, sid, 48, 16);
PIN(tg_usage_row, number, 64, 16);
PIN(tg_usage_row, counterpart, 80, 16);
PIN(tg_usage_row, quantity, 96, 4);
PIN(tg_usage_row, created_at_ms, 104, 8);
PIN_END(tg_usage_row, created_at_ms, 112);
PIN_SIZE(tg_usage_sink, 16);
PIN(tg_usage_charge, tenant_id, 8, 16);
PIN(tg_usage_charge, key, 24, 16);
PIN(tg_usage_charge, currency, 40, 4);
PIN(tg_usage_charge, amount_micros, 48, 8);
PIN(tg_usage_charge, kind, 56, 4);
PIN(tg_usage_charge, reference, 64, 16);
PIN(tg_usage_charge, description, 80, 16);
PIN(tg_usage_charge, country, 96, 4);
PIN(tg_usage_charge, now_ms, 104, 8);
PIN_END(tg_usage_charge, now_ms, 112);
PIN(tg_storage_vtable, usage_list, 352, 8);
PIN(tg_storage_vtable, usage_settle, 360, 8);
PIN_END(tg_storage_vtable, usage_settle, 368); /* as released in 1.7 */

/* --- ABI 1.8 --- */
PIN_VALUE(TG_UNIT_OUTBOX_ADD, 10);
PIN_VALUE(TG_UNIT_OUTBOX_STATUS, 11);
PIN_VALUE(TG_OUTBOX_QUEUED, 1);
PIN_VALUE(TG_OUTBOX_SENDING, 2);
PIN_VALUE(TG_OUTBOX_ACCEPTED, 3);
PIN_VALUE(TG_OUTBOX_UNKNOWN, 4);
PIN_VALUE(TG_OUTBOX_DELIVERED, 5);
PIN_VALUE(TG_OUTBOX_UNDELIVERED, 6);
PIN_VALUE(TG_OUTBOX_FAILED, 7);
PIN(tg_outbox_row, id, 8, 16);
PIN(tg_outbox_row, tenant_id, 24, 16);
PIN(tg_outbox_row, from_number, 40, 16);
PIN(tg_outbox_row, to_number, 56, 16);
PIN(tg_outbox_row, body, 72, 16);
PIN(tg_outbox_row, media_urls, 88, 16);
PIN(tg_outbox_row, status_callback, 104, 16);
PIN(tg_outbox_row, segments, 120, 4);
PIN(tg_outbox_row, currency, 124, 4);
PIN(tg_outbox_row, hold_id, 128, 16);
PIN(tg_outbox_row, state, 144, 4);
PIN(tg_outbox_row, attempts, 148, 4);
PIN(tg_outbox_row, next_attempt_at_ms, 152, 8);
PIN(tg_outbox_row, lease_owner, 160, 16);
PIN(tg_outbox_row, lease_until_ms, 176, 8);
PIN(tg_outbox_row, twilio_sid, 184, 16);
PIN(tg_outbox_row, twilio_status, 200, 16);
PIN(tg_outbox_row, status_rank, 216, 4);
PIN(tg_outbox_row, error_code, 220, 4);
PIN(tg_outbox_row, error, 224, 16);
PIN(tg_outbox_row, created_at_ms, 240, 8);
PIN(tg_outbox_row, updated_at_ms, 248, 8);
PIN_END(tg_outbox_row, updated_at_ms, 256);
PIN_SIZE(tg_outbox_sink, 16);
PIN(tg_outbox_transition, tenant_id, 8, 16);
PIN(tg_outbox_transition, id, 24, 16);
PIN(tg_outbox_transition, from_states, 40, 4);
PIN(tg_outbox_transition, lease_owner, 48, 16);
PIN(tg_outbox_transition, to_state, 64, 4);
PIN(tg_outbox_transition, twilio_sid, 72, 16);
PIN(tg_outbox_transition, twilio_status, 88, 16);
PIN(tg_outbox_transition, status_rank, 104, 4);
PIN(tg_outbox_transition, error_code, 108, 4);
PIN(tg_outbox_transition, error, 112, 16);
PIN(tg_outbox_transition, next_attempt_at_ms, 128, 8);
PIN(tg_outbox_transition, now_ms, 136, 8);
PIN_END(tg_outbox_transition, now_ms, 144);
PIN(tg_storage_vtable, outbox_claim, 368, 8);
PIN(tg_storage_vtable, outbox_transition, 376, 8);
PIN(tg_storage_vtable, outbox_reclaim, 384, 8);
PIN(tg_storage_vtable, outbox_get, 392, 8);
PIN(tg_storage_vtable, outbox_list, 400, 8);
PIN_END(tg_storage_vtable, outbox_list, 408);
/* --- ABI 1.10 --- */
PIN(tg_outbox_row, pace_us, 256, 8);
PIN_END(tg_outbox_row, pace_us, 264);
PIN(tg_outbox_claim, now_ms, 8, 8);
PIN(tg_outbox_claim, lease_ms, 16, 8);
PIN(tg_outbox_claim, owner, 24, 16);
PIN(tg_outbox_claim, limit, 40, 4);
PIN(tg_outbox_claim, pace_window_ms, 48, 8);
PIN_END(tg_outbox_claim, pace_window_ms, 56);
PIN(tg_storage_vtable, outbox_claim_paced, 408, 8);
PIN_END(tg_storage_vtable, outbox_claim_paced, 416);
/* --- ABI 1.11 --- */
PIN(tg_outbox_row, estimate_micros, 264, 8);
PIN(tg_outbox_row, price_state, 272, 4);
PIN(tg_outbox_row, price_micros, 280, 8);
PIN(tg_outbox_row, price_check_at_ms, 288, 8);
PIN_END(tg_outbox_row, price_check_at_ms, 296);
PIN(tg_outbox_transition, price_state, 144, 4);
PIN(tg_outbox_transition, price_micros, 152, 8);
PIN(tg_outbox_transition, price_check_at_ms, 160, 8);
PIN_END(tg_outbox_transition, price_check_at_ms, 168);
PIN(tg_storage_vtable, outbox_price_due, 416, 8);
PIN_END(tg_storage_vtable, outbox_price_due, 424);
PIN_VALUE(TG_OUTBOX_PRICE_NONE, 0);
PIN_VALUE(TG_OUTBOX_PRICE_PENDING, 1);
PIN_VALUE(TG_OUTBOX_PRICED, 2);
PIN_VALUE(TG_OUTBOX_UNPRICED, 3);
/* --- ABI 1.12 --- */
PIN_VALUE(TG_UNIT_HOLD, 12);
/* --- ABI 1.13 --- */
PIN(tg_status_change, price_state, 64, 4);
PIN(tg_status_change, price_check_at_ms, 72, 8);
PIN_END(tg_status_change, price_check_at_ms, 80);
PIN(tg_call_row, price_state, 136, 4);
PIN(tg_call_row, charged_micros, 144, 8);
PIN(tg_call_row, price_micros, 152, 8);
PIN(tg_call_row, price_check_at_ms, 160, 8);
PIN_END(tg_call_row, price_check_at_ms, 168);
PIN(tg_call_price, struct_size, 0, 4);
PIN(tg_call_price, sid, 8, 16);
PIN(tg_call_price, price_state, 24, 4);
PIN(tg_call_price, charged_micros, 32, 8);
PIN(tg_call_price, price_micros, 40, 8);
PIN(tg_call_price, price_check_at_ms, 48, 8);
PIN(tg_call_price, now_ms, 56, 8);
PIN_END(tg_call_price, now_ms, 64);
PIN(tg_ledger_query, idempotency_key, 56, 16);
PIN_END(tg_ledger_query, idempotency_key, 72);
PIN(tg_storage_vtable, call_price_due, 424, 8);
PIN(tg_storage_vtable, call_price_set, 432, 8);
PIN_END(tg_storage_vtable, call_price_set, 440);

#endif /* LP64 */

/* Something to link, so that the test target is an executable ctest can run. */
int main(void) { return 0; }
