// Phone numbers and Twilio accounts (ABI 1.1): what routes a webhook to its tenant.
#include <Poco/Data/LOB.h>

#include <vector>

#include "sql_bind.hpp"
#include "sql_store.hpp"
#include "sql_validate.hpp"

namespace tollgate::storage_sql {
namespace {

using Poco::Data::Session;

using NumberTuple = Poco::Tuple<std::string, std::string, std::string, std::string, std::string,
                                std::string, std::string, Poco::Int64, Poco::Int64>;
using AccountTuple =
    Poco::Tuple<std::string, std::string, Poco::Data::BLOB, std::string, Poco::Int32, Poco::Int64>;

// phone_numbers.status: the only value ABI 1.1 writes. Version 1 of the schema also allows a
// number to sit unassigned (tenant_id NULL) for a pool that no ABI operation manages yet; such
// rows are invisible to get and list, and put may attach them.
constexpr int32_t kNumberAttached = 1;

// phone_numbers.id is the number itself: e164 is unique anyway, and one key per row keeps
// INSERT ... ON CONFLICT DO NOTHING unambiguous.
constexpr std::string_view kNumberCols =
    "e164, tenant_id, account_sid, twilio_sid, voice_plugin, sms_plugin, settings_json, "
    "created_at_ms, updated_at_ms";

constexpr std::string_view kAccountCols =
    "account_sid, tenant_id, auth_token_enc, friendly_name, is_subaccount, created_at_ms";

// An encrypted auth token is a nonce, a ciphertext and a tag: small.
constexpr size_t kMaxTokenBytes = 4096;

void emit(const std::vector<NumberTuple>& rows, tg_number_sink sink) {
  for (const auto& r : rows) {
    const tg_number_row out{sizeof(tg_number_row),
                            sdk::str(r.get<0>()),
                            sdk::str(r.get<1>()),
                            sdk::str(r.get<2>()),
                            sdk::str(r.get<3>()),
                            sdk::str(r.get<4>()),
                            sdk::str(r.get<5>()),
                            sdk::str(r.get<6>()),
                            r.get<7>(),
                            r.get<8>()};
    sink.fn(sink.ctx, &out);
  }
}

void emit(const std::vector<AccountTuple>& rows, tg_twilio_account_sink sink) {
  for (const auto& r : rows) {
    const Poco::Data::BLOB& token = r.get<2>();
    const tg_str token_str{
        token.size() == 0 ? nullptr : reinterpret_cast<const char*>(token.rawContent()),
        token.size()};
    const tg_twilio_account_row out{sizeof(tg_twilio_account_row),
                                    sdk::str(r.get<0>()),
                                    sdk::str(r.get<1>()),
                                    token_str,
                                    sdk::str(r.get<3>()),
                                    r.get<4>(),
                                    r.get<5>()};
    sink.fn(sink.ctx, &out);
  }
}

}  // namespace

// ---- numbers ----

void SqlStore::numberPut(const sdk::CallContext& ctx, const tg_number_row& row) {
  static constexpr std::string_view op = "number_put";
  checkStructSize(op, "row", row.struct_size, sizeof(tg_number_row));
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string e164 = checkedE164(op, "e164", sdk::view(row.e164));
  const std::string account =
      checkedText(op, "account_sid", sdk::view(row.account_sid), kMaxIdBytes, true);
  const std::string twilio_sid =
      checkedText(op, "twilio_sid", sdk::view(row.twilio_sid), kMaxIdBytes, false);
  const std::string voice =
      checkedText(op, "voice_plugin", sdk::view(row.voice_plugin), kMaxIdBytes, false);
  const std::string sms =
      checkedText(op, "sms_plugin", sdk::view(row.sms_plugin), kMaxIdBytes, false);
  // The core checks that it is a JSON object; the backend stores the text as given.
  const std::string settings =
      checkedText(op, "settings_json", sdk::view(row.settings_json), kMaxJsonBytes, true);
  bool stored = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    requireTenant(s, dialect_, op, tenant);
    stored = wroteRow(
        s, dialect_,
        "INSERT INTO phone_numbers (id, tenant_id, e164, twilio_sid, account_sid, voice_plugin, "
        "sms_plugin, settings_json, status, created_at_ms, updated_at_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING e164",
        {e164, tenant, e164, twilio_sid, account, voice, sms, settings, kNumberAttached,
         row.created_at_ms, row.updated_at_ms});
    if (stored) return;
    // The number exists: update it if it is this tenant's (keeping when it was attached) or
    // unassigned; another tenant's stays as it is. PostgreSQL evaluates the WHERE against the
    // row as committed when the lock is granted, so a concurrent put cannot slip in between.
    stored = wroteRow(
        s, dialect_,
        "UPDATE phone_numbers SET "
        "created_at_ms = CASE WHEN tenant_id IS NULL THEN CAST(? AS BIGINT) "
        "ELSE created_at_ms END, "
        "tenant_id = ?, twilio_sid = ?, account_sid = ?, voice_plugin = ?, sms_plugin = ?, "
        "settings_json = ?, status = ?, updated_at_ms = ? "
        "WHERE e164 = ? AND (tenant_id IS NULL OR tenant_id = ?) RETURNING e164",
        {row.created_at_ms, tenant, twilio_sid, account, voice, sms, settings, kNumberAttached,
         row.updated_at_ms, e164, tenant});
  });
  if (!stored) {
    throw sdk::Error(TG_ERR_CONFLICT,
                     cat({op, ": number ", e164, " is attached to another tenant"}));
  }
}

void SqlStore::numberGet(const sdk::CallContext& ctx, std::string_view e164, tg_number_sink sink) {
  static constexpr std::string_view op = "number_get";
  const std::string number = checkedE164(op, "e164", e164);
  // Across tenants when the call acts for none (routing a webhook to its tenant).
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  std::vector<NumberTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    if (tenant.empty()) {
      s << dialect_.sql(cat({"SELECT ", kNumberCols,
                             " FROM phone_numbers WHERE e164 = ? AND tenant_id IS NOT NULL"})),
          text(number), kw::into(rows), kw::now;
    } else {
      s << dialect_.sql(
          cat({"SELECT ", kNumberCols, " FROM phone_numbers WHERE e164 = ? AND tenant_id = ?"})),
          text(number), text(tenant), kw::into(rows), kw::now;
    }
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     tenant.empty() ? cat({op, ": number ", number, " is not attached"})
                                    : cat({op, ": tenant '", tenant, "' has no number ", number}));
  }
  emit(rows, sink);
}

void SqlStore::numberList(const sdk::CallContext& ctx, tg_number_sink sink) {
  static constexpr std::string_view op = "number_list";
  const std::string tenant = scopedTenant(op, ctx);
  std::vector<NumberTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    s << dialect_.sql(cat({"SELECT ", kNumberCols, " FROM phone_numbers WHERE tenant_id = ? ",
                           "ORDER BY e164", dialect_.bytewise})),
        text(tenant), kw::into(rows), kw::now;
  });
  emit(rows, sink);
}

void SqlStore::numberDetach(const sdk::CallContext& ctx, std::string_view e164) {
  static constexpr std::string_view op = "number_detach";
  const std::string tenant = scopedTenant(op, ctx);
  const std::string number = checkedE164(op, "e164", e164);
  bool found = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    // Deleted rather than left unassigned: its plugins and settings were the tenant's, and the
    // next put (by any tenant) supplies every field again.
    std::vector<std::string> done;
    s << dialect_.sql("DELETE FROM phone_numbers WHERE e164 = ? AND tenant_id = ? RETURNING e164"),
        text(number), text(tenant), kw::into(done), kw::now;
    found = !done.empty();
  });
  if (!found) {
    throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": tenant '", tenant, "' has no number ", number}));
  }
}

// ---- Twilio accounts ----

void SqlStore::twilioAccountPut(const sdk::CallContext& ctx, const tg_twilio_account_row& row) {
  static constexpr std::string_view op = "twilio_account_put";
  checkStructSize(op, "row", row.struct_size, sizeof(tg_twilio_account_row));
  const std::string tenant = owningTenant(op, ctx, row.tenant_id);
  const std::string sid =
      checkedText(op, "account_sid", sdk::view(row.account_sid), kMaxIdBytes, true);
  const std::string token =
      checkedBytes(op, "auth_token_enc", sdk::view(row.auth_token_enc), kMaxTokenBytes, true);
  const std::string name =
      checkedText(op, "friendly_name", sdk::view(row.friendly_name), kMaxTextBytes, false);
  const int32_t sub = row.is_subaccount != 0 ? 1 : 0;
  // Bound as a BLOB (BYTEA on PostgreSQL), so every byte survives, NUL included.
  const Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(token.data()), token.size());
  bool stored = false;
  run(ctx, op, Tx::kWrite, [&](Session& s) {
    requireTenant(s, dialect_, op, tenant);
    stored = wroteRow(s, dialect_,
                      "INSERT INTO twilio_accounts (account_sid, tenant_id, auth_token_enc, "
                      "is_subaccount, friendly_name, created_at_ms) VALUES (?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT DO NOTHING RETURNING account_sid",
                      {sid, tenant, blob, sub, name, row.created_at_ms});
    if (stored) return;
    // Replaced when it is this tenant's, keeping when it was first stored (e.g. a rotated
    // token); another tenant's stays as it is.
    stored = wroteRow(s, dialect_,
                      "UPDATE twilio_accounts SET auth_token_enc = ?, is_subaccount = ?, "
                      "friendly_name = ? WHERE account_sid = ? AND tenant_id = ? "
                      "RETURNING account_sid",
                      {blob, sub, name, sid, tenant});
  });
  if (!stored) {
    throw sdk::Error(TG_ERR_CONFLICT,
                     cat({op, ": Twilio account ", sid, " belongs to another tenant"}));
  }
}

void SqlStore::twilioAccountGet(const sdk::CallContext& ctx, std::string_view account_sid,
                                tg_twilio_account_sink sink) {
  static constexpr std::string_view op = "twilio_account_get";
  const std::string sid = checkedText(op, "account_sid", account_sid, kMaxIdBytes, true);
  // Across tenants when the call acts for none (checking a webhook's signature).
  const std::string tenant = checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, false);
  std::vector<AccountTuple> rows;
  run(ctx, op, Tx::kNone, [&](Session& s) {
    rows.clear();
    if (tenant.empty()) {
      s << dialect_.sql(
          cat({"SELECT ", kAccountCols, " FROM twilio_accounts WHERE account_sid = ?"})),
          text(sid), kw::into(rows), kw::now;
    } else {
      s << dialect_.sql(cat({"SELECT ", kAccountCols,
                             " FROM twilio_accounts WHERE account_sid = ? AND tenant_id = ?"})),
          text(sid), text(tenant), kw::into(rows), kw::now;
    }
  });
  if (rows.empty()) {
    throw sdk::Error(TG_ERR_NOT_FOUND,
                     cat({op, ": no Twilio account ", sid, tenant.empty() ? "" : " in tenant '",
                          tenant, tenant.empty() ? "" : "'"}));
  }
  emit(rows, sink);
}

}  // namespace tollgate::storage_sql
