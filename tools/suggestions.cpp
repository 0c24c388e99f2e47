#include "tools/suggestions.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace pprsim {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j]: the distance between the first i characters of a and the first j of b.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string nearest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // Near enough: a third of the name, leading dashes not counted, and at least one edit.
  const std::size_t letters = best.size() - std::min(best.find_first_not_of('-'), best.size());
  const std::size_t allowed = std::max<std::size_t>(1, (letters + 1) / 3);
  return best_distance <= allowed ? best : "";
}

namespace {

std::vector<std::string> command_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_group().empty()) names.push_back(sub->get_name());
  }
  return names;
}

// Every spelling of the options of `app`: --long and -s.
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

bool looks_like_number(std::string_view arg) {
  return arg.size() > 1 && (std::isdigit(static_cast<unsigned char>(arg[1])) != 0 || arg[1] == '.');
}

std::string unknown(const std::string& what, const std::string& name, const std::vector<std::string>& known) {
  const std::string near = nearest_name(name, known);
  if (!near.empty()) return fmt::format("unknown {} '{}'; did you mean '{}'?", what, name, near);
  return fmt::format("unknown {} '{}' (known: {})", what, name, fmt::join(known, ", "));
}

}  // namespace

std::string unknown_name_message(CLI::App& app, int argc, const char* const* argv) {
  if (argc < 2) return "";
  const std::string first = argv[1];
  const std::vector<std::string> top_options = option_names(app);
  if (first.starts_with("-")) {
    const std::string name = first.substr(0, first.find('='));
    if (std::find(top_options.begin(), top_options.end(), name) != top_options.end()) return "";
    return unknown("option", name, top_options);
  }
  CLI::App* sub = nullptr;
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) {
    if (s->check_name(first)) sub = s;
  }
  if (sub == nullptr) return unknown("command", first, command_names(app));
  // The options of the subcommand: the first unknown one. Values of options are skipped, and
  // so is everything after "--" (record's program and its arguments).
  const std::vector<std::string> known = option_names(*sub);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (!arg.starts_with("-") || arg == "-" || looks_like_number(arg)) continue;
    const std::string name = arg.substr(0, arg.find('='));
    const CLI::Option* opt = nullptr;
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      opt = sub->get_option_no_throw(name);
    } else if (name.size() > 2 && name[1] != '-') {
      opt = sub->get_option_no_throw(name.substr(0, 2));  // -oFILE
      if (opt == nullptr) return sub->get_name() + ": " + unknown("option", name, known);
      continue;
    } else if (std::find(top_options.begin(), top_options.end(), name) == top_options.end()) {
      return sub->get_name() + ": " + unknown("option", name, known);
    }
    if (opt != nullptr && opt->get_type_size() != 0 && arg.find('=') == std::string::npos) ++i;
  }
  return "";
}

}  // namespace pprsim
