// Helpers for writing Poco::Data statements in the shared store.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>
#include <Poco/Types.h>

#include <initializer_list>
#include <string>
#include <string_view>
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

inline bool tenantExists(Poco::Data::Session& s, const Dialect& d, const std::string& tenant) {
  std::vector<Poco::Int32> found;
  s << d.sql("SELECT 1 FROM tenants WHERE id = ?"), text(tenant), kw::into(found), kw::now;
  return !found.empty();
}

}  // namespace tollgate::storage_sql
