// Reading the number's settings: top-level values come as raw strings or as the JSON text of
// any other JSON value; nested values are Poco JSON. Every error names the field it is about,
// "settings.menu.options.1.dial: ...", so a tenant can fix it without reading code.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <tollgate/abi/common.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::plugins::ivr {

using Poco::Dynamic::Var;
using Poco::JSON::Object;

// Throws tollgate::sdk::Error(TG_ERR_INVALID_ARGUMENT, "settings.<path>: <what>").
[[noreturn]] void fail(const std::string& path, const std::string& what);

// Settings of one number, borrowed from the request.
class SettingsView {
 public:
  SettingsView(const tg_kv* kv, size_t count) : kv_(kv), count_(count) {}

  // The raw value, or nullopt when absent.
  std::optional<std::string_view> raw(std::string_view name) const;
  // A value that must be a JSON object: nullptr when absent or null.
  Object::Ptr object(std::string_view name) const;

 private:
  const tg_kv* kv_;
  size_t count_;
};

// Parses `text` as a JSON object; nullptr for "null". `path` names it in errors.
Object::Ptr parseObject(std::string_view text, const std::string& path);

Object::Ptr asObject(const Var& v, const std::string& path);
std::string asString(const Var& v, const std::string& path);

// Fails on any key of `obj` not in `allowed`: a misspelt key is a mistake worth reporting,
// not something to ignore silently.
void allowOnly(const Object::Ptr& obj, const std::string& path,
               std::initializer_list<std::string_view> allowed);

// Typed optional fields of `obj` ("key" absent or null: nullopt).
std::optional<std::string> optString(const Object::Ptr& obj, const std::string& key,
                                     const std::string& path);
std::optional<int> optInt(const Object::Ptr& obj, const std::string& key, const std::string& path,
                          int min, int max);
std::optional<bool> optBool(const Object::Ptr& obj, const std::string& key,
                            const std::string& path);
Object::Ptr optObject(const Object::Ptr& obj, const std::string& key, const std::string& path);

}  // namespace tollgate::plugins::ivr
