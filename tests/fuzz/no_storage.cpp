// routes.cpp (normalizeE164, flattenSettings) also holds numbers::Routes::lookup, which reads
// the store. No target calls it, so the storage layer is left out of the fuzz build and the two
// methods it needs fail loudly here instead.
#include <cstdlib>

#include "storage/store.hpp"

namespace tollgate::storage {

std::optional<Tenant> Store::tenant(std::string_view) { std::abort(); }
std::optional<Number> Store::number(std::string_view, std::string_view) { std::abort(); }

}  // namespace tollgate::storage
