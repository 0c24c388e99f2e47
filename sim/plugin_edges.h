// Compiler edge coverage of a plugin's own code (docs/DESIGN.md section 3.10). A plugin built
// with clang -fsanitize-coverage=trace-pc-guard,pc-table calls, as it is loaded, the hooks of
// tools/sancov_hooks.cpp, which hand its guards and its table of edge addresses to this
// registry; from then on every edge it takes counts one in `edge_hooks::hits`. A run keeps the
// edges its plugin took (replay() snapshots the counters before the run and compares after),
// and the report groups them by the function of the plugin's symbol table they lie in.
//
// trace-pc-guard rather than inline-8bit-counters: the guard calls count into 64-bit counters
// of pprsim's own, so a path taken 256 times never reads as untaken (8-bit counters wrap), and
// snapshots need no reset, which keeps nested runs in one process (the second run that looks for
// lost blocks, shrinking inside fuzz) from wiping each other's counts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coverage.h"

namespace pprsim {

// The flags to build a plugin with for edge coverage, for the reports' "no edge coverage" line.
inline constexpr std::string_view kEdgeCoverageFlags = "clang -fsanitize-coverage=trace-pc-guard,pc-table";

namespace edge_hooks {
// Hits per guard number; slot 0 is where guards that are off (0) count, never read.
extern std::uint64_t* hits;
// A module's guards: numbered from here on. Idempotent (a module calls it once per unit).
void add_guards(std::uint32_t* start, std::uint32_t* stop);
// A module's pc-table: (address, flags) pairs in the order of its guards; flags bit 0 marks a
// function's entry.
void add_pcs(const std::uintptr_t* begin, const std::uintptr_t* end);
}  // namespace edge_hooks

// The plugin at `path` was loaded as `handle` (sim/plugin_allocator.cpp): its edges, if it has
// any, are reported for "plugin:PATH".
void note_plugin_object(const std::string& path, void* handle);

// The edges of one function of a plugin (a symbol; "?" for edges outside every symbol), as
// indices in the plugin's pc-table order. Functions of one name (statics of several files) are
// one entry.
struct EdgeFunction {
  std::string name;
  std::vector<std::uint32_t> edges;
};

// The functions of the plugin `allocator` ("plugin:PATH") with their edges, sorted by name, and
// the number of its edges; null when the allocator is no plugin or was built without edge
// coverage. Loads the plugin if it is not loaded yet.
struct EdgeMap {
  std::uint32_t edges = 0;
  std::vector<EdgeFunction> functions;
};
const EdgeMap* edge_map(std::string_view allocator);

// The counters of the plugin `allocator` at one moment, to tell which edges a run took.
struct EdgeSnapshot {
  std::uint32_t first = 0;  // the plugin's first guard number (0: no edge coverage)
  std::vector<std::uint64_t> hits;
};
EdgeSnapshot edge_snapshot(std::string_view allocator);
// Marks in `c` the edges taken since `before`.
void add_edges_since(const EdgeSnapshot& before, Coverage& c);

}  // namespace pprsim
