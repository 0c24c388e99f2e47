// Writing output files so that a failure never leaves a half-written file behind.
#pragma once

#include <string>

namespace pprsim {

// Writes `text` to a temporary file beside `path`, then renames it over `path`.
// Returns false (and leaves nothing behind) when any step fails.
bool write_file_atomically(const std::string& path, const std::string& text);

}  // namespace pprsim
