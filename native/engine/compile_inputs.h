// The first half of a native build: every input as an object (or archive) in a work folder,
// compiled with the pinned flags or copied as it is, with the headers each source included.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "native/engine/native_spec.h"
#include "native/engine/pinned_compiler.h"

namespace pprsim {

struct BuiltInput {
  std::filesystem::path file;  // the object or archive in the work folder
  std::string shown;           // its name for messages: the path the spec gave
  bool archive = false;
  bool cxx = false;            // compiled as C++ (the link then needs clang++)
};

struct CompiledInputs {
  std::vector<BuiltInput> files;                // spec order, the port last
  std::vector<std::filesystem::path> headers;   // absolute, sorted, each once
};

// Compiles (or copies) the inputs of `spec` into `work`. Throws NativeBuildError (Compile)
// with the compiler's first error line for a source that does not compile.
CompiledInputs compile_inputs(const NativeSpec& spec, const PinnedCompiler& compiler, const std::filesystem::path& work);

// The first line of compiler output that reports an error ("file:line:col: error: ..."), or
// the first non-empty line when none does.
std::string first_error_line(const std::string& output);

}  // namespace pprsim
