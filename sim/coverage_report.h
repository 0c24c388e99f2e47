// The coverage lines of a run's text report (sim/run_json.cpp's print_summary).
#pragma once

#include <ostream>
#include <string_view>

#include "sim/coverage.h"

namespace pprsim {

// "  coverage: exercised 14 of 41 dmmalloc paths; never: ..." per probe family; nothing for an
// allocator without probes.
void print_coverage(std::ostream& out, const Coverage& c, std::string_view allocator);

}  // namespace pprsim
