#include "props/fuzzing.h"

#include <fmt/format.h>
#include <rapidcheck/detail/Configuration.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "props/minimize.h"
#include "traces/prng.h"

namespace pprsim {

namespace {

int run_size(int index) { return index % 100; }

RunCaseOptions generator_options(const FuzzOptions& opt) {
  RunCaseOptions gen_opt;
  gen_opt.with_faults = !opt.faults.any();
  gen_opt.fixed_faults = opt.faults;
  return gen_opt;
}

// Runs the case, counting the replay as progress.
RunStats replay_case(const RunCase& c, const FuzzOptions& opt) {
  RunStats s = run_case(c, opt.allocator);
  if (opt.heartbeat) opt.heartbeat();
  return s;
}

// The counterexample with its trace made 1-minimal (props/minimize.h) under the rules of
// `pprsim shrink`: the same kind of failure as the first one the run shows, the trace as it is
// (no frees appended), no budget. RapidCheck shrinks the values it generated, which leaves events
// that only matter together. Only a case whose one failure is blocks left handed out needs every
// object freed at the end, so only its candidates get the frees appended. A hung case is left as
// it is: shrinking it would wait for more hangs.
Counterexample minimized(Counterexample c, const FuzzOptions& fo) {
  c.events_before_minimizing = c.shrunk.operations();
  auto kinds_of = [&](const RunCase& rc, const FailureRules& rules) {
    try {
      return failure_kinds(replay_case(rc, fo), rules);
    } catch (const std::exception&) {
      return std::vector<FindingKind>{};
    }
  };
  std::vector<FindingKind> kinds = kinds_of(c.shrunk, FailureRules{});
  FailureRules rules;
  if (kinds.empty()) {
    rules.all_freed_at_end = true;
    kinds = kinds_of(c.shrunk, rules);
  }
  if (kinds.empty() || kinds.front() == FindingKind::Hung) return c;
  const FindingKind keep = kinds.front();
  RunCase candidate = c.shrunk;
  auto still_fails = [&](const std::vector<Event>& t) {
    candidate.trace = t;
    const std::vector<FindingKind> k = kinds_of(candidate, rules);
    return std::find(k.begin(), k.end(), keep) != k.end();
  };
  MinimizeOptions opt;
  opt.group_size = c.shrunk.group_size;
  opt.free_all_at_end = rules.all_freed_at_end;
  MinimizeResult r = minimize_trace(c.shrunk.trace, still_fails, opt);
  if (!r.reproduced) return c;
  c.shrunk.trace = std::move(r.trace);
  for (std::size_t i = 0; i < c.shrunk.trace.size(); ++i) c.shrunk.trace[i].line = static_cast<std::uint32_t>(i + 2);
  c.violated = violations(c.shrunk, replay_case(c.shrunk, fo), fo.allocator, false);
  return c;
}

rc::detail::TestParams test_params(std::uint64_t seed, int size) {
  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = 1;
  params.maxSize = size;
  return params;
}

}  // namespace

double FuzzOptions::hung_after_seconds() const {
  // Under a time limit a stuck case must still be seen before the end: half of the limit at
  // most (a replay of a generated case takes milliseconds), but not below a second, so that a
  // slow replay in a short campaign is cut rather than taken for a hang.
  return max_seconds > 0 ? std::min(case_seconds, std::max(max_seconds / 2, 1.0)) : case_seconds;
}

std::string hung_violation(double seconds) {
  return fmt::format("the run hung: no replay of it returned within {} s", seconds);
}

std::uint64_t run_seed(std::uint64_t seed, int index) {
  // The index-th output of a splitmix64 stream started at `seed`, computed directly.
  std::uint64_t state = seed + static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ull;
  return splitmix64(state);
}

std::vector<int> run_indices(const FuzzOptions& opt) {
  std::vector<int> out;
  for (long long i = opt.first; i < opt.runs; i += opt.stride) out.push_back(static_cast<int>(i));
  return out;
}

namespace {

// Which kept case a guided run mutates: by weight when the campaign weighs them (the rarer the
// paths a case reaches, the more often), else the newest most often (the smaller of two draws
// counted from the end).
std::size_t pick_kept(const FuzzOptions& opt, Prng& rng) {
  const std::size_t n = opt.corpus->size();
  if (opt.corpus_weights && opt.corpus_weights->size() == n) {
    std::uint64_t total = 0;
    for (const std::uint64_t w : *opt.corpus_weights) total += w;
    if (total > 0) {
      std::uint64_t at = rng.below(total);
      for (std::size_t i = 0; i < n; ++i) {
        if (at < (*opt.corpus_weights)[i]) return i;
        at -= (*opt.corpus_weights)[i];
      }
    }
  }
  return n - 1 - std::min(rng.below(n), rng.below(n));
}

}  // namespace

std::optional<RunCase> mutated_case(const FuzzOptions& opt, int index) {
  if (!opt.from && !opt.corpus) return std::nullopt;
  Prng rng(run_seed(opt.seed, index) ^ 0x6d75746174696f6eull);
  const bool faults = !opt.faults.any();
  std::optional<RunCase> c;
  if (opt.corpus && !opt.corpus->empty() && rng.chance(1, 2)) {
    c = mutate_case((*opt.corpus)[pick_kept(opt, rng)], rng, 3, faults);
  } else if (opt.from && !opt.from->empty()) {
    c = window_case((*opt.from)[static_cast<std::size_t>(index) % opt.from->size()], rng);
    if (rng.chance(3, 4)) c = mutate_case(*c, rng, 4, faults);
  }
  if (c && !faults) c->faults = opt.faults;
  return c;
}

namespace {

// Checks one mutated case (no RapidCheck: the minimizer alone shrinks it).
std::optional<Counterexample> check_case(const FuzzOptions& opt, int index, const RunCase& c, Coverage* covered) {
  std::vector<std::string> v;
  try {
    const RunStats s = replay_case(c, opt);
    if (covered != nullptr) *covered = s.coverage;
    v = violations(c, s, opt.allocator, false);
  } catch (const std::exception& e) {
    v.push_back(std::string("the run threw an exception: ") + e.what());
  }
  if (v.empty()) return std::nullopt;
  return minimized(Counterexample{c, v, index}, opt);
}

}  // namespace

std::optional<Counterexample> check_run(const FuzzOptions& opt, int index, Coverage* covered) {
  if (std::optional<RunCase> m = mutated_case(opt, index)) return check_case(opt, index, *m, covered);
  const int size = run_size(index);
  bool first_replay = true;
  std::optional<Counterexample> last;
  const RunCaseOptions gen_opt = generator_options(opt);
  bool hung = false;
  const auto property = [&] {
    const RunCase c = *rc::gen::resize(size, gen_run_case(gen_opt));
    // Once a case hung (a contained hang: the replay reports it), no candidate fails, so that
    // RapidCheck's shrinking ends at once instead of waiting for one hang after another.
    if (hung) return;
    std::vector<std::string> v;
    try {
      const RunStats s = replay_case(c, opt);
      if (covered != nullptr && first_replay) *covered = s.coverage;
      first_replay = false;
      v = violations(c, s, opt.allocator, false);
      hung = s.stop == StopKind::Hang;
    } catch (const std::exception& e) {
      // An exception out of the simulator fails the run like a violated property (RapidCheck
      // would count it as a failure, but no counterexample would be kept).
      v.push_back(std::string("the run threw an exception: ") + e.what());
    }
    if (!v.empty()) {
      last = Counterexample{c, v, index};
      RC_FAIL(v.front());
    }
  };
  const auto result =
      rc::detail::checkTestable(property, rc::detail::TestMetadata{}, test_params(run_seed(opt.seed, index), size));
  rc::detail::FailureResult failure;
  if (!result.match(failure) || !last) return std::nullopt;
  return minimized(std::move(*last), opt);
}

RunCase generated_case(const FuzzOptions& opt, int index) {
  if (std::optional<RunCase> m = mutated_case(opt, index)) return *m;
  // The same draw check_run's property makes first, from the same seed and size.
  const int size = run_size(index);
  std::optional<RunCase> first;
  const RunCaseOptions gen_opt = generator_options(opt);
  const auto property = [&] {
    const RunCase c = *rc::gen::resize(size, gen_run_case(gen_opt));
    if (!first) first = c;
  };
  rc::detail::checkTestable(property, rc::detail::TestMetadata{}, test_params(run_seed(opt.seed, index), size));
  return first.value_or(RunCase{});
}

void quiet_rapidcheck_banner() {
  // RapidCheck announces its default configuration when it first loads; the seed that matters
  // is the session's, so that line stays out of the output.
  std::streambuf* err = std::cerr.rdbuf(nullptr);
  rc::detail::configuration();
  std::cerr.rdbuf(err);
  std::cerr.clear();
}

FuzzSession fuzz(const FuzzOptions& opt) {
  quiet_rapidcheck_banner();
  FuzzSession session;
  for (const int i : run_indices(opt)) {
    Coverage covered;
    std::optional<Counterexample> c = check_run(opt, i, &covered);
    ++session.runs;
    session.coverage.merge(covered);
    if (opt.keep_run_coverage) session.run_coverage.emplace_back(i, covered);
    const bool failed = c.has_value();
    if (c) session.found.push_back(std::move(*c));
    if (opt.progress && !opt.progress(session)) break;
    if (failed && !opt.keep_going) break;
  }
  return session;
}

}  // namespace pprsim
