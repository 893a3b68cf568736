#include "tenancy/admin_key.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tenancy/secrets.hpp"

namespace tollgate::tenancy {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMinKey = 32;

std::string readKey(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error(fmt::format("admin key file {} cannot be read", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string k = ss.str();
  while (!k.empty() && std::isspace(static_cast<unsigned char>(k.back()))) k.pop_back();
  if (k.size() < kMinKey) {
    throw std::runtime_error(
        fmt::format("admin key in {} is shorter than {} characters", p.string(), kMinKey));
  }
  return k;
}

void writeNewKey(const fs::path& p, const std::string& key) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot create admin key file {}", p.string()));
  const std::string line = key + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("cannot write admin key file {}", p.string()));
}

}  // namespace

std::string loadAdminKey(const config::Config& c, fs::path& source) {
  if (!c.admin_key_file.empty()) {
    source = c.admin_key_file;
    return readKey(source);
  }
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY")) {
    const fs::path p = fs::path(creds) / "admin-key";
    if (fs::exists(p)) {
      source = p;
      return readKey(p);
    }
  }
  source = c.state_dir / "admin.key";
  if (!fs::exists(source)) {
    writeNewKey(source, randomHex(32));
    spdlog::warn("generated a new admin key in {} (readable by this user only)", source.string());
  }
  return readKey(source);
}

}  // namespace tollgate::tenancy
