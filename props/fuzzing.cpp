#include "props/fuzzing.h"

#include <rapidcheck/detail/Configuration.h>

#include <iostream>
#include <optional>

#include "traces/prng.h"

namespace pprsim {

namespace {

// Checks one generated case of the given size; on failure RapidCheck shrinks it, and the
// smallest failing case is the last one the property saw fail.
std::optional<Counterexample> check_one(const FuzzOptions& opt, std::uint64_t seed, int size) {
  std::optional<Counterexample> last;
  RunCaseOptions gen_opt;
  gen_opt.with_faults = !opt.faults.any();
  gen_opt.fixed_faults = opt.faults;
  const auto property = [&] {
    const RunCase c = *rc::gen::resize(size, gen_run_case(gen_opt));
    const std::vector<std::string> v = violations(c, run_case(c, opt.allocator), opt.allocator, false);
    if (!v.empty()) {
      last = Counterexample{c, v, 0};
      RC_FAIL(v.front());
    }
  };
  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = 1;
  params.maxSize = size;
  const auto result = rc::detail::checkTestable(property, rc::detail::TestMetadata{}, params);
  rc::detail::FailureResult failure;
  if (!result.match(failure)) return std::nullopt;
  return last;
}

void quiet_rapidcheck_banner() {
  // RapidCheck announces its default configuration when it first loads; the seed that matters
  // is the session's, so that line stays out of the output.
  std::streambuf* err = std::cerr.rdbuf(nullptr);
  rc::detail::configuration();
  std::cerr.rdbuf(err);
  std::cerr.clear();
}

}  // namespace

FuzzSession fuzz(const FuzzOptions& opt) {
  quiet_rapidcheck_banner();
  FuzzSession session;
  std::uint64_t state = opt.seed;
  for (int i = 0; i < opt.runs; ++i) {
    const std::uint64_t case_seed = splitmix64(state);
    std::optional<Counterexample> c = check_one(opt, case_seed, i % 100);
    ++session.runs;
    if (c) {
      c->run = i;
      session.found.push_back(std::move(*c));
    }
    if (opt.progress && !opt.progress(session)) break;
    if (c && !opt.keep_going) break;
  }
  return session;
}

}  // namespace pprsim
