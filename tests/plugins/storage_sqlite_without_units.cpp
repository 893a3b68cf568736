// storage-sqlite, built from its own source, but leaving unit_apply to the SDK's default
// (TG_ERR_UNSUPPORTED), as a storage plugin built before ABI 1.3 lacks it: the daemon then
// makes each operation of a unit its own call (storage::Store::applyEach, docs/abi-policy.md).
// The storage conformance suite runs its unit tests against it as "sqlite_without_units".
#include <tollgate/sdk/plugin.hpp>

// storage_sqlite.cpp registers its class with this macro; this file registers its own instead.
#undef TOLLGATE_PLUGIN
#define TOLLGATE_PLUGIN(Derived, id_literal, version_literal)
#include "storage_sqlite.cpp"

namespace {

class SqliteWithoutUnits : public tollgate::storage_sqlite::SqliteStorage {
 public:
  using SqliteStorage::SqliteStorage;
  tg_unit_outcome unitApply(const tollgate::sdk::CallContext& ctx, const tg_unit& unit,
                            tg_idempotency_sink existing) override {
    return tollgate::sdk::StoragePlugin::unitApply(ctx, unit, existing);
  }
};

}  // namespace

TOLLGATE_PLUGIN_EXPORT const tg_plugin_descriptor* tollgate_plugin_entry_v1(void) {
  static const tg_plugin_descriptor descriptor =
      ::tollgate::sdk::makeDescriptor<SqliteWithoutUnits>(
          ::tollgate::sdk::lit("storage-sqlite"), ::tollgate::sdk::lit("1.3.0-without-units"));
  return &descriptor;
}
