#include "sql_dialect.hpp"

#include <cctype>
#include <stdexcept>

namespace tollgate::storage_sql {

std::string Dialect::sql(std::string_view query) const {
  if (!numbered_placeholders) return std::string(query);
  std::string out;
  out.reserve(query.size() + 16);
  int n = 0;
  char quote = 0;  // inside '...' or "..." when non-zero: a `?` there is text, not a parameter
  for (const char c : query) {
    if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

std::string Dialect::ddl(std::string_view ddl_template) const {
  // A statement for one engine only: "{POSTGRES} ..." or "{SQLITE} ...".
  for (const std::string_view engine : {std::string_view("postgres"), std::string_view("sqlite")}) {
    std::string prefix = "{" + std::string(engine) + "} ";
    for (char& c : prefix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (ddl_template.substr(0, prefix.size()) == prefix) {
      if (name != engine) return "";
      ddl_template.remove_prefix(prefix.size());
      break;
    }
  }
  std::string out;
  out.reserve(ddl_template.size() + 32);
  bool quoted = false;  // inside a '...' literal, e.g. DEFAULT '{}': copied as is
  size_t i = 0;
  while (i < ddl_template.size()) {
    const char c = ddl_template[i];
    if (c == '\'') quoted = !quoted;
    const size_t close = c == '{' && !quoted ? ddl_template.find('}', i) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += c;
      ++i;
      continue;
    }
    const std::string_view token = ddl_template.substr(i + 1, close - i - 1);
    if (token == "SEQ_PK") {
      out += seq_pk;
    } else if (token == "BLOB") {
      out += blob;
    } else if (token == "ID_TEXT") {
      out += id_text;
    } else if (token == "BYTEWISE") {
      out += bytewise;
    } else {
      throw std::logic_error("unknown DDL token {" + std::string(token) + "}");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace tollgate::storage_sql
