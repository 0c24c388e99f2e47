// The allocator paths a run exercised: how often each named probe point of alloc/probes.h was
// reached, and which probes followed which in one process (pairs, for coverage-guided fuzzing).
// SimMemory::probe feeds it; a run carries one out in RunStats::coverage; a fuzz campaign merges
// its runs' (docs/DESIGN.md section 3.10).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "alloc/probes.h"

namespace pprsim {

inline constexpr unsigned kNoProbe = kProbeCount;  // "no probe before this one"

// The compiler edges of a plugin's code a record can hold (sim/plugin_edges.h); the reports say
// when a plugin has more, which are then not counted. A fixed size keeps Coverage a plain value
// that fuzz workers send as its bytes.
inline constexpr std::size_t kMaxPluginEdges = std::size_t{1} << 14;

class Coverage {
 public:
  // Probe `id` reached, the process's previous probe being `prev` (kNoProbe: none).
  void hit(unsigned prev, unsigned id) {
    ++hits_[id];
    pairs_.set(prev * kProbeCount + id);
  }
  void merge(const Coverage& other);
  // Edge `i` (in the plugin's pc-table order) of the run's plugin taken.
  void hit_edge(std::size_t i) {
    if (i < kMaxPluginEdges) edges_.set(i);
  }
  bool edge(std::size_t i) const { return i < kMaxPluginEdges && edges_.test(i); }

  std::uint64_t hits(unsigned id) const { return hits_[id]; }
  bool reached(unsigned id) const { return hits_[id] != 0; }
  bool pair(unsigned prev, unsigned id) const { return pairs_.test(prev * kProbeCount + id); }
  // Probes or pairs this record reached that `seen` did not.
  std::size_t new_over(const Coverage& seen) const;
  std::size_t pairs() const { return pairs_.count(); }
  // Probes of `family` (kProbeFamilies) reached.
  unsigned reached_in(const ProbeFamily& family) const;

 private:
  std::array<std::uint64_t, kProbeCount> hits_{};
  std::bitset<(kProbeCount + 1) * kProbeCount> pairs_;
  std::bitset<kMaxPluginEdges> edges_;
};

// The probe families whose paths a run of `allocator` can reach: dmmalloc's for dmmalloc, its
// seeded-bug variants and `shared` (dmmalloc's core); comalloc's and its base heap's for
// comalloc; none for other allocators (plugins, the example).
std::vector<const ProbeFamily*> probe_families(std::string_view allocator);

// "exercised 14 of 41 dmmalloc paths; never: kept-region-reuse, calloc-task, ..." (one line per
// family; "" when the allocator has no probes); for a plugin, the line of its edges
// (edge_coverage_text).
std::string coverage_text(const Coverage& c, std::string_view allocator);

// The JSON `coverage` of a run: per family, the paths and how many were exercised, and every
// probe with what it guards and its hits (families in order, probes in their order); for a
// plugin also its edges (add_edge_coverage_json).
nlohmann::ordered_json coverage_json(const Coverage& c, std::string_view allocator);

// Two such objects of the same allocator's runs as one: hits summed per probe, "exercised"
// recounted, "pairs" left out (pairs cannot be summed). Null stays the other one; objects of
// different layouts give null.
nlohmann::ordered_json merge_coverage_json(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b);

// The edges of a plugin's code (sim/plugin_edges.h) a run took, per function of the plugin:
// "exercised 41 of 97 edges in 12 of 15 functions of plugin:x.so; never: merge_lists, ...", or
// "no edge coverage: build the plugin with ..." for a plugin built without; "" for an allocator
// that is no plugin. In the JSON, `edges` (null without edge coverage, and then `no_edges` says
// why), `edges_reached`, `functions_reached` and `functions`: per function its `name`, `edges`,
// `reached` and `map` (one '1' or '0' per edge, in the plugin's order, so shards can be merged),
// never reached first, then by name.
std::string edge_coverage_text(const Coverage& c, std::string_view allocator);
void add_edge_coverage_json(nlohmann::ordered_json& j, const Coverage& c, std::string_view allocator);
// The edge keys of two such objects as one, into `out` (the maps or'ed); false when they are of
// different plugins.
bool merge_edge_coverage_json(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b,
                              nlohmann::ordered_json& out);

}  // namespace pprsim
