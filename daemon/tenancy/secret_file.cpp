#include "tenancy/secret_file.hpp"

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

std::string readKey(const fs::path& p, size_t min_length) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error(fmt::format("secret file {} cannot be read", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string k = ss.str();
  while (!k.empty() && std::isspace(static_cast<unsigned char>(k.back()))) k.pop_back();
  if (k.size() < min_length) {
    throw std::runtime_error(
        fmt::format("secret in {} is shorter than {} characters", p.string(), min_length));
  }
  return k;
}

void writeNewKey(const fs::path& p, const std::string& key) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot create secret file {}", p.string()));
  const std::string line = key + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("cannot write secret file {}", p.string()));
}

}  // namespace

std::optional<std::string> loadSecret(const SecretSource& src, fs::path& used) {
  if (!src.explicit_path.empty()) {
    used = src.explicit_path;
    return readKey(used, src.min_length);
  }
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
      creds != nullptr && !src.credential.empty()) {
    const fs::path p = fs::path(creds) / src.credential;
    if (fs::exists(p)) {
      used = p;
      return readKey(p, src.min_length);
    }
  }
  if (src.generated_path.empty()) return std::nullopt;
  used = src.generated_path;
  if (!fs::exists(used)) {
    writeNewKey(used, randomHex(32));
    spdlog::warn("generated a new secret in {} (readable by this user only)", used.string());
  }
  return readKey(used, src.min_length);
}

std::string loadAdminKey(const config::Config& c, fs::path& used) {
  return *loadSecret({c.admin_key_file, "admin-key", c.state_dir / "admin.key", 32}, used);
}

}  // namespace tollgate::tenancy
