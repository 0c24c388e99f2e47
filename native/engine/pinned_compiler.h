// The compiler and flags every `native:` allocator is built with. The access log pprsim records
// depends on both (which loads and stores the code makes, in which order), so they are fixed
// here, recorded in every build result and printed for users who prebuild objects.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace pprsim {

struct PinnedCompiler {
  std::string c_driver;      // clang: $PPRSIM_CLANG, else clang on PATH
  std::string cxx_driver;    // the matching clang++ (same folder and version suffix)
  std::string version_line;  // the first line of `clang --version`
};

// Finds clang and asks its version (in `scratch`, an existing folder). Throws NativeBuildError
// (Kind::Tool) when it is missing or does not answer.
PinnedCompiler find_pinned_compiler(const std::filesystem::path& scratch);

// The clang++ that goes with a clang path: ".../clang-14" gives ".../clang++-14".
std::string cxx_driver_for(const std::string& c_driver);

// Flags for compiling C, and C++ (the C flags and what only C++ needs).
const std::vector<std::string>& c_compile_flags();
const std::vector<std::string>& cxx_compile_flags();
// Flags for linking the objects into one shared object.
const std::vector<std::string>& link_flags();

// The flags a user must build prebuilt objects and archives with, as one line.
std::string printed_flags();

}  // namespace pprsim
