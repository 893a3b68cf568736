// A plugin's [settings] checked against the configuration keys its descriptor declares.
// Shared by the loader and by `tollgated --check-config`, so both say the same thing.
#pragma once

#include <tollgate/abi/plugin.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/plugin_host.hpp"

namespace tollgate::plugins {

struct AppliedSettings {
  std::map<std::string, std::string> values;  // given values plus declared defaults
  std::vector<std::string> errors;            // each names the key and the reason
};

bool validPluginId(std::string_view id);
// Why the descriptor's config_keys array cannot be read, or nullopt when it can.
std::optional<std::string> configKeysProblem(const tg_plugin_descriptor* d);
Inspection inspectionOf(const tg_plugin_descriptor* d);
AppliedSettings applySettings(const Inspection& plugin,
                              const std::map<std::string, std::string>& given);

}  // namespace tollgate::plugins
