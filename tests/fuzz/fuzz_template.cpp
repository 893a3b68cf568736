// renderTemplate (plugins/sms-keywords) with fuzzer templates and variable values. Oracles:
//   - values are copied, never expanded: rendering with every value replaced by a sentinel and
//     then putting the values in for the sentinels gives the same text, and the same count of
//     unknown variables, as rendering with the values ("{{x}}" in a value stays "{{x}}");
//   - with no variables and no "{{" in the template, the output is the template;
//   - nothing crashes, on any template.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "check.hpp"
#include "sms_template.hpp"

namespace {

using tollgate::plugins::sms::renderTemplate;
using tollgate::plugins::sms::Variables;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  // The names an operator's templates use, plus fuzzer-chosen ones.
  static const char* const kNames[] = {"body", "tenant", "from", "to", "keyword", "x", " x "};
  Variables vars;
  std::vector<std::string> names;
  const size_t count = in.ConsumeIntegralInRange(0, 6);
  for (size_t i = 0; i < count; ++i) {
    std::string name = in.ConsumeBool() ? kNames[in.ConsumeIntegralInRange(0, 6)]
                                        : in.ConsumeRandomLengthString(10);
    std::string value = in.ConsumeRandomLengthString(80);
    if (in.ConsumeBool()) value = "{{" + name + "}}" + value;  // a value that looks like a template
    if (vars.emplace(name, value).second) names.push_back(name);
  }
  const std::string tpl = in.ConsumeRemainingBytesAsString();

  const auto plain = renderTemplate(tpl, {});
  if (tpl.find("{{") == std::string::npos)
    FUZZ_CHECK(plain.text == tpl && plain.unknown_variables == 0);

  const auto rendered = renderTemplate(tpl, vars);

  // A byte the template lacks marks where each variable's value went: <b><index><b>.
  int marker = 0;
  while (marker < 256 && tpl.find(static_cast<char>(marker)) != std::string::npos) ++marker;
  if (marker == 256) return 0;
  const char b = static_cast<char>(marker);
  Variables sentinels;
  for (size_t i = 0; i < names.size(); ++i) {
    sentinels[names[i]] = std::string{b, static_cast<char>('A' + i), b};
  }
  const auto marked = renderTemplate(tpl, sentinels);
  FUZZ_CHECK(marked.unknown_variables == rendered.unknown_variables);
  std::string expected;
  for (size_t i = 0; i < marked.text.size(); ++i) {
    if (marked.text[i] != b) {
      expected += marked.text[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < marked.text.size() && marked.text[i + 2] == b);
    const size_t index = static_cast<size_t>(marked.text[i + 1] - 'A');
    FUZZ_CHECK(index < names.size());
    expected += vars.find(names[index])->second;
    i += 2;
  }
  FUZZ_CHECK(expected == rendered.text);
  return 0;
}
