// Auto-reply templates: "Hi from {{tenant}}, you said {{ body }}".
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace tollgate::plugins::sms {

using Variables = std::map<std::string, std::string, std::less<>>;

struct Rendered {
  std::string text;
  int unknown_variables = 0;  // {{name}}s that had no value and rendered empty
};

// Replaces each {{name}} (spaces around the name allowed) by vars[name]. One pass only: a value
// that itself contains "{{...}}" (an SMS body can) is copied as is, never expanded. A "{{"
// without a closing "}}" is literal text. Unknown names render empty and are counted.
Rendered renderTemplate(std::string_view tpl, const Variables& vars);

}  // namespace tollgate::plugins::sms
