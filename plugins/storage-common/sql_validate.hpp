// Input checks shared by every operation. They run before any SQL so that both engines reject
// the same inputs with the same message (PostgreSQL would refuse a NUL byte or bad UTF-8 that
// SQLite stores, and its text parameters would silently stop at a NUL).
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate::storage_sql {

inline constexpr size_t kMaxIdBytes = 255;             // ids, keys, scopes
inline constexpr size_t kMaxTextBytes = 4096;          // names, labels, references, hashes
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;   // a stored response to replay
inline constexpr size_t kMaxJsonBytes = 64 * 1024;     // a number's settings_json
inline constexpr size_t kMaxMessageBytes = 64 * 1024;  // a message's body (Twilio: 1600 chars)
inline constexpr uint32_t kMaxPageRows = 1000;         // limit of one page of a log

// Throws TG_ERR_INVALID_ARGUMENT "<op>: <field>: <reason>".
[[noreturn]] void invalid(std::string_view op, std::string_view field, std::string_view reason);

// `value` as a std::string after checking UTF-8, no NUL, at most max_bytes, and non-empty
// when required.
std::string checkedText(std::string_view op, std::string_view field, std::string_view value,
                        size_t max_bytes, bool required);

// An ISO 4217 code: three upper-case ASCII letters.
std::string checkedCurrency(std::string_view op, std::string_view value);

// A country (ISO 3166-1 alpha-2: two upper-case letters) or "", from a NUL-terminated char[4].
std::string checkedCountry(std::string_view op, std::string_view field, const char (&code)[4]);

// A phone number in E.164 form: ^\+[1-9][0-9]{1,14}$.
std::string checkedE164(std::string_view op, std::string_view field, std::string_view value);

// Opaque bytes (any byte, NUL included): only the size is checked.
std::string checkedBytes(std::string_view op, std::string_view field, std::string_view value,
                         size_t max_bytes, bool required);

// A struct the host passes (row or query) must be at least as large as this plugin's ABI
// version of it: a smaller one comes from a host that does not know every field read here.
void checkStructSize(std::string_view op, std::string_view field, uint32_t size, size_t want);

// The tenant a tenant-scoped call acts for: ctx.tenant_id, required.
std::string scopedTenant(std::string_view op, const sdk::CallContext& ctx);

// The tenant that owns a row being created: the row's tenant_id, or ctx.tenant_id when the row
// leaves it empty. Both set and different is an error (a caller acting for one tenant cannot
// create rows for another).
std::string owningTenant(std::string_view op, const sdk::CallContext& ctx, tg_str row_tenant);

}  // namespace tollgate::storage_sql
