#include "props/fuzz_guided.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>

#include "props/fuzz_workers.h"

namespace pprsim {

namespace {

// The first index at or after `from` that the options select (first, first + stride, ...).
int first_selected(const FuzzOptions& opt, int from) {
  if (from <= opt.first) return opt.first;
  const int steps = (from - opt.first + opt.stride - 1) / opt.stride;
  return opt.first + steps * opt.stride;
}

// A kept case's weight: for each probe it reaches, the more the fewer runs so far reached it.
// A case that alone reaches a path weighs as much as a thousand runs that reach a common one, so
// the search keeps returning to the paths it rarely gets to, where a seeded bug hides longest.
std::vector<std::uint64_t> rarity_weights(const std::vector<Coverage>& kept,
                                          const std::array<std::uint64_t, kProbeCount>& runs_reaching) {
  std::vector<std::uint64_t> out;
  out.reserve(kept.size());
  for (const Coverage& c : kept) {
    std::uint64_t w = 1;
    for (unsigned p = 0; p < kProbeCount; ++p) {
      if (c.reached(p) && runs_reaching[p] > 0) w += 1'000'000 / runs_reaching[p];
    }
    out.push_back(w);
  }
  return out;
}

}  // namespace

FuzzSession fuzz_guided(const FuzzOptions& opt, int jobs) {
  const auto start = std::chrono::steady_clock::now();
  auto corpus = std::make_shared<std::vector<RunCase>>();
  std::vector<Coverage> kept_coverage;           // what each kept case reached
  std::array<std::uint64_t, kProbeCount> runs_reaching{};  // per probe, the runs so far that reached it
  FuzzSession total;
  Coverage seen;
  bool stopped = false;
  for (int from = 0; from < opt.runs && !stopped; from += kGuidedBatch) {
    FuzzOptions batch = opt;
    batch.corpus = corpus;
    batch.corpus_weights = std::make_shared<const std::vector<std::uint64_t>>(rarity_weights(kept_coverage, runs_reaching));
    batch.keep_run_coverage = true;
    batch.runs = std::min(opt.runs, from + kGuidedBatch);
    batch.first = first_selected(opt, from);
    if (batch.first >= batch.runs) continue;
    if (opt.max_seconds > 0) {
      batch.max_seconds = opt.max_seconds - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (batch.max_seconds <= 0) {  // the limit fell between two batches
        total.time_limited = true;
        break;
      }
    }
    batch.progress = [&](const FuzzSession& s) {
      if (!opt.progress) return true;
      FuzzSession view;
      view.runs = total.runs + s.runs;
      view.found = total.found;
      view.found.insert(view.found.end(), s.found.begin(), s.found.end());
      if (!opt.progress(view)) stopped = true;
      return !stopped;
    };
    FuzzSession s = jobs > 0 ? fuzz_in_workers(batch, jobs) : fuzz(batch);
    total.runs += s.runs;
    total.cut += s.cut;
    total.time_limited = total.time_limited || s.time_limited;
    total.coverage.merge(s.coverage);
    const bool failed = !s.found.empty();
    for (Counterexample& c : s.found) total.found.push_back(std::move(c));
    // The cases that reached something new, judged in index order against every run before.
    std::vector<RunCase> kept;
    for (const auto& [index, covered] : s.run_coverage) {
      if (covered.new_over(seen) > 0) {
        kept.push_back(generated_case(batch, index));
        kept_coverage.push_back(covered);
      }
      seen.merge(covered);
      for (unsigned p = 0; p < kProbeCount; ++p) runs_reaching[p] += covered.reached(p) ? 1 : 0;
    }
    for (RunCase& c : kept) corpus->push_back(std::move(c));
    if ((failed && !opt.keep_going) || s.time_limited) break;
  }
  return total;
}

}  // namespace pprsim
