#include "props/fuzz_guided.h"

#include <algorithm>
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

}  // namespace

FuzzSession fuzz_guided(const FuzzOptions& opt, int jobs) {
  const auto start = std::chrono::steady_clock::now();
  auto corpus = std::make_shared<std::vector<RunCase>>();
  FuzzSession total;
  Coverage seen;
  bool stopped = false;
  for (int from = 0; from < opt.runs && !stopped; from += kGuidedBatch) {
    FuzzOptions batch = opt;
    batch.corpus = corpus;
    batch.keep_run_coverage = true;
    batch.runs = std::min(opt.runs, from + kGuidedBatch);
    batch.first = first_selected(opt, from);
    if (batch.first >= batch.runs) continue;
    if (opt.max_seconds > 0) {
      batch.max_seconds = opt.max_seconds - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (batch.max_seconds <= 0) break;
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
    total.coverage.merge(s.coverage);
    const bool failed = !s.found.empty();
    for (Counterexample& c : s.found) total.found.push_back(std::move(c));
    // The cases that reached something new, judged in index order against every run before.
    std::vector<RunCase> kept;
    for (const auto& [index, covered] : s.run_coverage) {
      if (covered.new_over(seen) > 0) kept.push_back(generated_case(batch, index));
      seen.merge(covered);
    }
    for (RunCase& c : kept) corpus->push_back(std::move(c));
    if ((failed && !opt.keep_going) || s.cut > 0) break;
  }
  return total;
}

}  // namespace pprsim
