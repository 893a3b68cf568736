#include "sms_template.hpp"

namespace tollgate::plugins::sms {
namespace {

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Rendered renderTemplate(std::string_view tpl, const Variables& vars) {
  Rendered out;
  out.text.reserve(tpl.size());
  size_t pos = 0;
  while (pos < tpl.size()) {
    size_t open = tpl.find("{{", pos);
    const size_t close = open == std::string_view::npos ? open : tpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;  // no complete placeholder left
    // In "{{a {{b}}" only "{{b}}" is a placeholder: the nearest "{{" before "}}" opens it.
    open = tpl.rfind("{{", close - 2);
    out.text.append(tpl.substr(pos, open - pos));
    const std::string_view name = trimSpaces(tpl.substr(open + 2, close - open - 2));
    if (auto it = vars.find(name); it != vars.end()) {
      out.text += it->second;
    } else {
      ++out.unknown_variables;
    }
    pos = close + 2;
  }
  out.text.append(tpl.substr(pos));
  return out;
}

}  // namespace tollgate::plugins::sms
