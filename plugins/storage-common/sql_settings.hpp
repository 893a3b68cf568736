// Reading the plugins' [settings]: shared so both backends parse and report alike.
#pragma once

#include <tollgate/sdk/plugin.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate::storage_sql {

// The integer setting `key` (the host applies the declared default), within [min, max].
// Throws TG_ERR_INVALID_ARGUMENT naming the key otherwise.
int64_t intSetting(const sdk::Host& host, std::string_view key, int64_t min, int64_t max);

// `path` made absolute against the host's state directory when relative.
std::string resolvePath(const sdk::Host& host, std::string_view path);

// The trimmed content of a secret file (e.g. a password), which must not be empty.
std::string readSecretFile(std::string_view key, const std::string& path);

// `text` on one line (runs of whitespace become one space), at most `max` bytes: engine error
// messages span lines, log lines and tg_error must not.
std::string oneLine(std::string_view text, size_t max = 400);

}  // namespace tollgate::storage_sql
