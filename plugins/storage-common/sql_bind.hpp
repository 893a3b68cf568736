// Helpers for writing Poco::Data statements in the shared store.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/LOB.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>
#include <Poco/Types.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sql_dialect.hpp"

namespace tollgate::storage_sql {

namespace kw = Poco::Data::Keywords;

// Parameters are bound by copy: Poco's use() keeps a reference, which is easy to dangle. The
// calls are qualified so that argument-dependent lookup cannot pick std::bind.
inline Poco::Data::AbstractBinding::Ptr text(std::string_view v) {
  return kw::bind(std::string(v));
}
inline Poco::Data::AbstractBinding::Ptr i64(int64_t v) {
  return kw::bind(static_cast<Poco::Int64>(v));
}
inline Poco::Data::AbstractBinding::Ptr i32(int32_t v) {
  return kw::bind(static_cast<Poco::Int32>(v));
}

inline std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (const std::string_view p : parts) out += p;
  return out;
}

// One value bound to a `?`: TEXT, BIGINT, INTEGER, or opaque bytes (a BLOB, BYTEA on
// PostgreSQL, so every byte survives, NUL included).
using Param = std::variant<std::string, int64_t, int32_t, Poco::Data::BLOB>;

// Binds `params`, in order, to the next `?`s of `st`.
inline void bindAll(Poco::Data::Statement& st, const std::vector<Param>& params) {
  for (const Param& p : params) {
    if (const auto* t = std::get_if<std::string>(&p)) {
      st, text(*t);
    } else if (const auto* n = std::get_if<int64_t>(&p)) {
      st, i64(*n);
    } else if (const auto* n32 = std::get_if<int32_t>(&p)) {
      st, i32(*n32);
    } else {
      st, kw::bind(std::get<Poco::Data::BLOB>(p));
    }
  }
}

// Runs a write ending in "RETURNING <a text column>" (an INSERT ... ON CONFLICT DO NOTHING, an
// UPDATE ... WHERE), with `params` bound in order to its `?`s. True when it wrote a row.
inline bool wroteRow(Poco::Data::Session& s, const Dialect& d, std::string_view sql,
                     const std::vector<Param>& params) {
  std::vector<std::string> keys;
  Poco::Data::Statement st(s);
  st << d.sql(sql);
  bindAll(st, params);
  st, kw::into(keys), kw::now;
  return !keys.empty();
}

// Throws TG_ERR_NOT_FOUND "<op>: no tenant '<tenant>'" unless the tenant exists. Run inside
// the write transaction that adds the tenant's row.
inline void requireTenant(Poco::Data::Session& s, const Dialect& d, std::string_view op,
                          const std::string& tenant) {
  std::vector<Poco::Int32> found;
  s << d.sql("SELECT 1 FROM tenants WHERE id = ?"), text(tenant), kw::into(found), kw::now;
  if (found.empty()) throw sdk::Error(TG_ERR_NOT_FOUND, cat({op, ": no tenant '", tenant, "'"}));
}

}  // namespace tollgate::storage_sql
