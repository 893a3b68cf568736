#pragma once
#include <filesystem>
#include <string>
#include "config/config.hpp"
namespace tollgate::tenancy {
// The admin API key: from admin.key_file, else the systemd credential "admin-key", else
// <state_dir>/admin.key, which is generated (mode 0600) on first start. Sets `source` to the
// file it came from. Throws std::runtime_error naming the file and the problem.
std::string loadAdminKey(const config::Config& c, std::filesystem::path& source);
}  // namespace tollgate::tenancy
