// "Did you mean": the message for a command line that names a subcommand or an option pprsim
// does not know, with the nearest known name by edit distance.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace pprsim {

// The optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1 ("repaly" is 1 from "replay").
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, or "" when none is near enough to be a likely misspelling.
std::string nearest_name(std::string_view word, const std::vector<std::string>& candidates);

// For a command line `app` refused: one line (without "pprsim: ") about the first unknown
// subcommand or option, with a suggestion when one is near ("unknown command 'repaly'; did you
// mean 'replay'?"), or "" when every name on the line is known (the parser's own message is
// then the right one).
std::string unknown_name_message(CLI::App& app, int argc, const char* const* argv);

}  // namespace pprsim
