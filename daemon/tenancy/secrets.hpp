// Random identifiers and secrets, hashing, and comparisons that do not leak timing.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::tenancy {

// `bytes` bytes from the kernel CSPRNG (getrandom), as lowercase hex.
std::string randomHex(size_t bytes);

// Lowercase hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

// Compares in time that depends only on the lengths, not on where the inputs differ.
bool constantTimeEqual(std::string_view a, std::string_view b);

}  // namespace tollgate::tenancy
