// Parse throughput of the native reader: a generated trace of 2M operations held in memory,
// read from start to end (validation included) per iteration. Reports bytes per second; the
// target is at least 50 MB/s.
#include <benchmark/benchmark.h>

#include <sstream>
#include <string>

#include "traces/generator.h"
#include "traces/trace_reader.h"
#include "traces/trace_writer.h"

namespace {

const std::string& trace_text() {
  static const std::string text = [] {
    pprsim::GenOptions opt;
    opt.seed = 42;
    opt.events = 2'000'000;
    std::ostringstream out;
    pprsim::TraceWriter writer(out, pprsim::describe(opt));
    pprsim::generate(opt, writer);
    return out.str();
  }();
  return text;
}

void BM_NativeParse(benchmark::State& state) {
  const std::string& text = trace_text();
  std::uint64_t events = 0;
  for (auto _ : state) {
    std::istringstream in(text);
    auto reader = pprsim::read_native(in, "generated.trace");
    pprsim::Event ev;
    events = 0;
    while (reader->next(ev)) ++events;
    benchmark::DoNotOptimize(events);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
  state.counters["trace_MB"] = static_cast<double>(text.size()) / 1e6;
}
BENCHMARK(BM_NativeParse)->Unit(benchmark::kMillisecond);

// Generating and writing the same trace, for comparison.
void BM_NativeWrite(benchmark::State& state) {
  pprsim::GenOptions opt;
  opt.seed = 42;
  opt.events = 2'000'000;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream out;
    pprsim::TraceWriter writer(out);
    pprsim::generate(opt, writer);
    bytes = out.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_NativeWrite)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
