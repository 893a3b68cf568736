// The schema, as an ordered list of migrations written once for both engines.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tollgate::storage_sql {

struct Migration {
  int64_t version;
  std::string_view description;
  // One statement each (neither engine's prepared-statement API takes several at once), with
  // the {TOKENS} of Dialect::ddl().
  std::vector<std::string_view> statements;
};

// Bookkeeping table, created (if missing) inside every migration transaction.
extern const std::string_view kSchemaMigrationsDdl;

// Every migration, by increasing version. Append only: a released migration never changes.
const std::vector<Migration>& migrations();

// The version the newest migration brings the schema to.
int64_t latestSchemaVersion();

}  // namespace tollgate::storage_sql
