// The required callbacks of every plugin kind's vtable, one table per kind. The loader's checks,
// the daemon's startup checks and the messages that name a missing callback all come from it.
#pragma once

#include <tollgate/abi/tollgate.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace tollgate::plugins {

// One required callback. Optional callbacks are not listed: their callers check them
// (TG_HAS_FIELD, then non-null) where they call them.
struct CallbackSlot {
  const char* name;      // the field's name in the ABI header, as messages show it
  size_t offset;         // offsetof the field in its vtable
  uint16_t since_minor;  // the ABI 1.N that added it
};

// The required callbacks of `kind`'s vtable, in vtable order; empty for an unknown kind.
std::span<const CallbackSlot> requiredCallbacks(tg_plugin_kind kind);

// True when a vtable whose struct_size is `vtable_size` holds `slot`.
bool holds(uint32_t vtable_size, const CallbackSlot& slot);

// True when `vtable` holds `slot` and the plugin set it.
bool isSet(const void* vtable, const CallbackSlot& slot);

// The first callback required since ABI 1.0 ... 1.`up_to_minor` that `vtable` (of `kind`) lacks,
// because its struct_size ends before it or because it is null; nullptr when none is missing.
const CallbackSlot* firstMissing(tg_plugin_kind kind, const void* vtable, uint16_t up_to_minor);

}  // namespace tollgate::plugins
