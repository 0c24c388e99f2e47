// Building a `native:` allocator: compile its sources with the pinned clang and flags, redirect
// its memory and system-memory calls to pprsim's shims, refuse what pprsim cannot track, link
// one shared object, and keep it in a cache keyed by content.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "native/engine/native_spec.h"

namespace pprsim {

// Bumped whenever the build changes what it makes from the same inputs (flags aside, which
// are in the key themselves): every earlier cache entry is then a miss.
inline constexpr const char* kNativeBuildVersion = "pprsim-native-build 1";

struct NativeBuildOptions {
  std::filesystem::path cache_dir;  // empty: default_native_cache_dir()
};

struct NativeBuildResult {
  std::filesystem::path shared_object;  // the built allocator, in its cache folder
  std::string key;                      // the cache key (SHA-256, hex)
  bool cached = false;                  // true: found in the cache, nothing was compiled
  std::string compiler;                 // the clang driver used for C
  std::string compiler_version;         // its `--version` first line
  std::vector<std::string> c_flags, cxx_flags, link_flags;
};

// Builds `spec` or finds it built. Throws NativeBuildError: Compile with the compiler's first
// error line, RefusedSymbol naming the symbol and the input that calls it, Tool or Io. A
// failed build leaves nothing in the cache.
NativeBuildResult build_native(const NativeSpec& spec, const NativeBuildOptions& options = {});

}  // namespace pprsim
