#include "plugins/settings.hpp"

#include <Poco/NumberParser.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace tollgate::plugins {
namespace {
std::string toString(tg_str s) { return s.size == 0 ? std::string{} : std::string(s.data, s.size); }

// config_keys is laid out with the plugin's struct size (plugin.h): a plugin of another minor has
// elements of another size than this host's tg_config_key.
uint32_t configKeyStride(const tg_plugin_descriptor* d) {
  uint32_t stride = 0;
  std::memcpy(&stride, d->config_keys, sizeof stride);
  return stride;
}

// Element `i`, with the fields this host knows (zero for any the plugin's struct lacks).
tg_config_key configKeyAt(const tg_plugin_descriptor* d, size_t i) {
  const uint32_t stride = configKeyStride(d);
  tg_config_key k{};
  std::memcpy(&k, reinterpret_cast<const unsigned char*>(d->config_keys) + i * stride,
              std::min<size_t>(stride, sizeof k));
  return k;
}

bool validBool(const std::string& v) {
  bool b = false;
  return Poco::NumberParser::tryParseBool(v, b);
}
bool validInt(const std::string& v) {
  Poco::Int64 i = 0;
  return Poco::NumberParser::tryParse64(v, i);
}
}  // namespace

bool validPluginId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::optional<std::string> configKeysProblem(const tg_plugin_descriptor* d) {
  if (d->config_keys == nullptr || d->config_key_count == 0) return std::nullopt;
  const uint32_t stride = configKeyStride(d);
  if (!TG_HAS_FIELD(tg_config_key, stride, help)) {
    return fmt::format("config key 0 is {} bytes, ABI {}.0 needs at least {}", stride, TG_ABI_MAJOR,
                       offsetof(tg_config_key, help) + sizeof(tg_str));
  }
  for (size_t i = 1; i < d->config_key_count; ++i) {
    const uint32_t size = configKeyAt(d, i).struct_size;
    if (size != stride) {
      return fmt::format(
          "config key {} is {} bytes but key 0 is {}; every element of config_keys "
          "must have the same struct_size",
          i, size, stride);
    }
  }
  return std::nullopt;
}

Inspection inspectionOf(const tg_plugin_descriptor* d) {
  Inspection in;
  in.id = toString(d->id);
  in.version = toString(d->version);
  in.kind = d->kind;
  for (size_t i = 0; d->config_keys != nullptr && i < d->config_key_count; ++i) {
    in.config_keys.push_back(configKeyAt(d, i));
  }
  return in;
}

AppliedSettings applySettings(const Inspection& plugin,
                              const std::map<std::string, std::string>& given) {
  AppliedSettings out;
  std::vector<std::string> known;
  for (const tg_config_key& k : plugin.config_keys) {
    const std::string name = toString(k.name);
    known.push_back(name);
    auto it = given.find(name);
    if (it == given.end()) {
      if (k.required) {
        out.errors.push_back(fmt::format("settings.{}: required ({})", name, toString(k.help)));
      } else if (k.default_value.size > 0) {
        out.values[name] = toString(k.default_value);
      }
      continue;
    }
    const std::string& v = it->second;
    if (k.type == TG_CONFIG_INT && !validInt(v)) {
      out.errors.push_back(fmt::format("settings.{}: '{}' is not an integer", name, v));
    } else if (k.type == TG_CONFIG_BOOL && !validBool(v)) {
      out.errors.push_back(fmt::format("settings.{}: '{}' is not a boolean (true/false)", name, v));
    } else {
      out.values[name] = v;
    }
  }
  for (const auto& [name, value] : given) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      out.errors.push_back(
          fmt::format("settings.{}: unknown key for plugin {} (known: {})", name, plugin.id,
                      known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
    }
  }
  return out;
}

}  // namespace tollgate::plugins
