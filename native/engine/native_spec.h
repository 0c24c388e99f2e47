// The SPEC of `--alloc native:SPEC`: the allocator's sources, objects and archives, in the order
// given, and its port, the small C file that names the allocator's entry points.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace pprsim {

struct NativeInput {
  enum class Kind { CSource, CxxSource, Object, Archive };
  Kind kind;
  std::string path;  // as the spec wrote it, relative to the current directory
};

struct NativeSpec {
  std::vector<NativeInput> inputs;  // the allocator, in spec order; the port is not among them
  std::string port;                 // the port's C source (for port=bop, the shipped one)
  bool port_is_bop = false;         // port=bop: the shipped BOP-compatibility port
  // Folders searched for headers by every source (-I), set by the caller: where pprsim's own
  // pprsim_port.h is. Their headers' bytes are in the cache key like any included header's.
  std::vector<std::string> include_dirs;
};

// Reads SPEC (the text after "native:"): comma-separated paths ending in .c, .cc, .cpp, .o or
// .a, and exactly one port=FILE.c; port=bop names `bop_port` (empty: this pprsim ships none).
// Every path must name an existing regular file. Throws NativeBuildError (Kind::Spec) with one
// line naming the part that is wrong and what was expected.
NativeSpec parse_native_spec(std::string_view spec, const std::filesystem::path& bop_port);

}  // namespace pprsim
