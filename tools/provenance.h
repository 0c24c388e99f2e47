// Where a run's results came from, as the `provenance` object of its JSON: the pprsim version,
// the command line and the date it ran. The date is the one part of a run's JSON besides
// `seconds` that is not decided by the seed: with SOURCE_DATE_EPOCH set (seconds since 1970, the
// reproducible-builds convention) it is that date instead of the clock's, so that two runs of
// one seed are byte-identical (the tests set it).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pprsim {

// Called once by main with its arguments.
void set_command_line(int argc, char** argv);
// {"version", "command", "date"}; date as YYYY-MM-DDTHH:MM:SSZ.
nlohmann::ordered_json provenance_json();

}  // namespace pprsim
