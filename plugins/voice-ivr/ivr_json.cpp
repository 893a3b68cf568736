#include "ivr_json.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <tollgate/sdk/plugin.hpp>

#include <algorithm>

namespace tollgate::plugins::ivr {

void fail(const std::string& path, const std::string& what) {
  throw sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings." + path + ": " + what);
}

std::optional<std::string_view> SettingsView::raw(std::string_view name) const {
  for (size_t i = 0; i < count_; ++i) {
    if (sdk::view(kv_[i].name) == name) return sdk::view(kv_[i].value);
  }
  return std::nullopt;
}

Object::Ptr SettingsView::object(std::string_view name) const {
  const auto v = raw(name);
  return v ? parseObject(*v, std::string(name)) : nullptr;
}

Object::Ptr parseObject(std::string_view text, const std::string& path) {
  const auto first = text.find_first_not_of(" \t\r\n");
  // Poco 1.11's parser accepts only an object or array at the top, so null is checked here.
  if (first == std::string_view::npos) fail(path, "expected a JSON object, got nothing");
  if (text.substr(first, 4) == "null" &&
      text.find_first_not_of(" \t\r\n", first + 4) == text.npos) {
    return nullptr;
  }
  Var v;
  try {
    v = Poco::JSON::Parser().parse(std::string(text));
  } catch (const Poco::Exception& e) {
    fail(path, "expected a JSON object (" + e.displayText() + ")");
  }
  return asObject(v, path);
}

Object::Ptr asObject(const Var& v, const std::string& path) {
  if (v.type() != typeid(Object::Ptr)) fail(path, "expected a JSON object");
  return v.extract<Object::Ptr>();
}

std::string asString(const Var& v, const std::string& path) {
  if (!v.isString()) fail(path, "expected a string");
  return v.extract<std::string>();
}

void allowOnly(const Object::Ptr& obj, const std::string& path,
               std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : *obj) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(path + "." + key, "unknown field (expected one of: " + list + ")");
  }
}

namespace {
// The value of `key`, or an empty Var when it is absent or null.
Var get(const Object::Ptr& obj, const std::string& key) {
  return obj->has(key) ? obj->get(key) : Var();
}
}  // namespace

std::optional<std::string> optString(const Object::Ptr& obj, const std::string& key,
                                     const std::string& path) {
  const Var v = get(obj, key);
  if (v.isEmpty()) return std::nullopt;
  return asString(v, path + "." + key);
}

std::optional<int> optInt(const Object::Ptr& obj, const std::string& key, const std::string& path,
                          int min, int max) {
  const Var v = get(obj, key);
  if (v.isEmpty()) return std::nullopt;
  const std::string field = path + "." + key;
  if (!v.isInteger()) fail(field, "expected a whole number");
  Poco::Int64 n = 0;
  try {
    n = v.convert<Poco::Int64>();
  } catch (const Poco::Exception&) {
    fail(field, "number out of range");
  }
  if (n < min || n > max) {
    fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int>(n);
}

std::optional<bool> optBool(const Object::Ptr& obj, const std::string& key,
                            const std::string& path) {
  const Var v = get(obj, key);
  if (v.isEmpty()) return std::nullopt;
  if (!v.isBoolean()) fail(path + "." + key, "expected true or false");
  return v.extract<bool>();
}

Object::Ptr optObject(const Object::Ptr& obj, const std::string& key, const std::string& path) {
  const Var v = get(obj, key);
  if (v.isEmpty()) return nullptr;
  return asObject(v, path + "." + key);
}

}  // namespace tollgate::plugins::ivr
