// Creating and discarding a task process against the size of the heap it is forked from
// (Google Benchmark): the parent holds one object of 1 MiB .. 1 GiB, filled with its pattern
// and with a word written on every 16th page (so the page table holds real pages too). Each
// iteration forks a tracked task, lets it write one word (its first page copy) and discards
// it. The time per iteration must stay flat across sizes: a fork costs what the task touches.
// BM_ForkBaselineCopy copies a std::map with one entry per page, the old page table, as the
// competitor measured in the same run.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "sim/executor.h"
#include "sim/process.h"
#include "sim/sim_allocator.h"

namespace {

using namespace pprsim;

struct Heap {
  Process p{std::uint64_t{4} << 30};
  Addr obj = 0;

  explicit Heap(std::uint64_t bytes) {
    p.alloc = make_allocator("dmmalloc", p.mem);
    ensure_handle(p, 0);
    Event e;
    e.op = Op::Malloc;
    e.id = 0;
    e.size = bytes;
    e.line = 1;
    if (execute(p, e).status != StepStatus::Done) throw std::runtime_error("setup malloc failed");
    obj = p.objects.find(0)->addr;
    for (std::uint64_t off = 0; off < bytes; off += 16 * kPageSize) p.space.store64(obj + off, off);
  }
};

void BM_ForkTask(benchmark::State& state) {
  Heap heap(static_cast<std::uint64_t>(state.range(0)));
  for (auto _ : state) {
    std::unique_ptr<Process> task = heap.p.fork();
    task->start_tracking();
    task->mem.store64(heap.obj + 8, 1);
    benchmark::DoNotOptimize(task->space.private_pages());
  }
  state.counters["heap_pages"] = static_cast<double>(heap.p.space.mapped_pages());
}
BENCHMARK(BM_ForkTask)->RangeMultiplier(4)->Range(1 << 20, 1 << 30)->Unit(benchmark::kMicrosecond);

// The competitor: what a fork cost when it copied one map entry per page.
void BM_ForkBaselineCopy(benchmark::State& state) {
  std::map<std::uint64_t, std::shared_ptr<int>> table;
  const auto shared = std::make_shared<int>(0);
  for (std::int64_t pn = 0; pn < state.range(0) / static_cast<std::int64_t>(kPageSize); ++pn) table.emplace(pn, shared);
  for (auto _ : state) {
    auto copy = table;
    benchmark::DoNotOptimize(copy.size());
  }
}
BENCHMARK(BM_ForkBaselineCopy)->RangeMultiplier(4)->Range(1 << 20, 1 << 28)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
