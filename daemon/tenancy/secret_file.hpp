// Secrets that live in files: the admin key, the Twilio master token, the token-encryption key.
// Each comes from an explicit path if configured, else a systemd credential, else (for keys the
// daemon may invent) a file in the state directory generated on first start with mode 0600.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace tollgate::tenancy {

struct SecretSource {
  std::filesystem::path explicit_path;   // from the configuration; empty: not set
  std::string credential;                // name under $CREDENTIALS_DIRECTORY
  std::filesystem::path generated_path;  // empty: never generate
  size_t min_length = 32;
};

// The secret (trimmed) and the file it came from, or nullopt when nothing provides it and it
// may not be generated. Throws std::runtime_error naming the file and the problem.
std::optional<std::string> loadSecret(const SecretSource& src, std::filesystem::path& used);

// The admin API key (generated when absent).
std::string loadAdminKey(const config::Config& c, std::filesystem::path& used);

}  // namespace tollgate::tenancy
