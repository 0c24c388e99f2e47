// Which pprsim drew the runs and how: the version, the command line, the seed and the date each
// run's JSON carries in its `provenance` (tools/provenance.h).
#include <fmt/format.h>

#include <set>
#include <string>

#include "tools/html_parts.h"

namespace pprsim::html {

void provenance(std::string& out, const Json& runs) {
  std::set<std::string> lines;  // the same command for every run: said once
  std::string text;
  for (const Json& r : runs) {
    const Json& p = field(r, "provenance");
    if (!p.is_object()) continue;
    const std::string line = fmt::format("{} &#183; seed {} &#183; {}{}", esc(text_of(field(p, "version"))), u64(r, "seed"),
                                         esc(text_of(field(p, "command"))),
                                         field(p, "date").is_null() ? "" : " &#183; " + esc(text_of(field(p, "date"))));
    if (lines.insert(line).second) text += "<p class=\"provenance\">" + line + "</p>\n";
  }
  out += text;
}

}  // namespace pprsim::html
