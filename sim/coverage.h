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

class Coverage {
 public:
  // Probe `id` reached, the process's previous probe being `prev` (kNoProbe: none).
  void hit(unsigned prev, unsigned id) {
    ++hits_[id];
    pairs_.set(prev * kProbeCount + id);
  }
  void merge(const Coverage& other);

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
};

// The probe families whose paths a run of `allocator` can reach: dmmalloc's for dmmalloc, its
// seeded-bug variants and `shared` (dmmalloc's core); comalloc's and its base heap's for
// comalloc; none for other allocators (plugins, the example).
std::vector<const ProbeFamily*> probe_families(std::string_view allocator);

// "exercised 14 of 41 dmmalloc paths; never: kept-region-reuse, calloc-task, ..." (one line per
// family; "" when the allocator has no probes).
std::string coverage_text(const Coverage& c, std::string_view allocator);

// The JSON `coverage` of a run: per family, the paths and how many were exercised, and every
// probe with what it guards and its hits (families in order, probes in their order).
nlohmann::ordered_json coverage_json(const Coverage& c, std::string_view allocator);

// Two such objects of the same allocator's runs as one: hits summed per probe, "exercised"
// recounted, "pairs" left out (pairs cannot be summed). Null stays the other one; objects of
// different layouts give null.
nlohmann::ordered_json merge_coverage_json(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b);

}  // namespace pprsim
