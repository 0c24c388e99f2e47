// The allocators `pprsim bench` measures natively: the project's own cores over real memory
// (dmmalloc, comalloc), the C library's malloc (glibc), and the Debian-packaged allocators that
// a child process loads with LD_PRELOAD when their library is installed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/native_replay.h"

namespace pprsim {

struct BenchAllocator {
  std::string name;
  // Found library to preload (empty for the built-in ones and glibc).
  std::string library;
  // The function table the child calls (bench-child --alloc): empty for `name` itself; glibc's
  // for a library given with --preload, which interposes the C library's functions.
  std::string table;
  // Why it cannot run here (empty when it can): the row is skipped with this note.
  std::string skip_note;
};

// Every name `--alloc` accepts, in the order the table shows them.
const std::vector<std::string>& bench_allocator_names();

// What the parent knows of `name` on this machine. requires: name is in bench_allocator_names().
BenchAllocator find_bench_allocator(std::string_view name);

// In the child: the function table that calls `name` (the C library's functions for glibc and
// for preloaded allocators, which interpose them). nullopt for an unknown name.
std::optional<MallocFunctions> native_allocator(std::string_view name);

// The allocators that also run in the simulator under the same name (for --sim).
bool has_simulated_version(std::string_view name);

}  // namespace pprsim
