#include "sql_validate.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace tollgate::storage_sql {
namespace {

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

void invalid(std::string_view op, std::string_view field, std::string_view reason) {
  throw sdk::Error(TG_ERR_INVALID_ARGUMENT,
                   std::string(op) + ": " + std::string(field) + ": " + std::string(reason));
}

std::string checkedText(std::string_view op, std::string_view field, std::string_view value,
                        size_t max_bytes, bool required) {
  if (required && value.empty()) invalid(op, field, "required");
  if (value.size() > max_bytes) {
    invalid(op, field, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!validUtf8(value)) invalid(op, field, "not valid UTF-8 or contains a NUL byte");
  return std::string(value);
}

std::string checkedCurrency(std::string_view op, std::string_view value) {
  const bool ok = value.size() == 3 && std::all_of(value.begin(), value.end(),
                                                   [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!ok) invalid(op, "currency", "want an ISO 4217 code of three upper-case letters");
  return std::string(value);
}

std::string checkedCountry(std::string_view op, std::string_view field, const char (&code)[4]) {
  const std::string_view value(code, strnlen(code, 4));
  const bool ok = value.empty() ||
                  (value.size() == 2 && std::all_of(value.begin(), value.end(),
                                                    [](char c) { return c >= 'A' && c <= 'Z'; }));
  if (!ok) invalid(op, field, "want an ISO 3166-1 alpha-2 code (two upper-case letters) or none");
  return std::string(value);
}

std::string checkedE164(std::string_view op, std::string_view field, std::string_view value) {
  const bool ok =
      value.size() >= 3 && value.size() <= 16 && value[0] == '+' && value[1] >= '1' &&
      value[1] <= '9' &&
      std::all_of(value.begin() + 2, value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) invalid(op, field, "want an E.164 number: '+' then 2 to 15 digits, the first not 0");
  return std::string(value);
}

std::string checkedBytes(std::string_view op, std::string_view field, std::string_view value,
                         size_t max_bytes, bool required) {
  if (required && value.empty()) invalid(op, field, "required");
  if (value.size() > max_bytes) {
    invalid(op, field, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  return std::string(value);
}

void checkStructSize(std::string_view op, std::string_view field, uint32_t size, size_t want) {
  if (size < want) {
    invalid(op, std::string(field) + ".struct_size",
            std::to_string(size) + " is smaller than this plugin's " + std::to_string(want));
  }
}

std::string scopedTenant(std::string_view op, const sdk::CallContext& ctx) {
  return checkedText(op, "tenant_id", ctx.tenant_id, kMaxIdBytes, true);
}

std::string owningTenant(std::string_view op, const sdk::CallContext& ctx, tg_str row_tenant) {
  const std::string_view row = sdk::view(row_tenant);
  if (!row.empty() && !ctx.tenant_id.empty() && row != ctx.tenant_id) {
    invalid(op, "tenant_id", "the row belongs to another tenant than the call");
  }
  return checkedText(op, "tenant_id", row.empty() ? ctx.tenant_id : row, kMaxIdBytes, true);
}

}  // namespace tollgate::storage_sql
