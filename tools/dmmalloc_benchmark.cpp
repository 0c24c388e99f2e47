// Fast paths of the dmmalloc core over real memory (Google Benchmark), against glibc's malloc in
// the same run: a malloc and a free of a block whose class already has free blocks, timed
// separately (batches of 1000, so the other half's cost is outside the timed region), and a
// malloc/free pair. The targets are under 20 ns for each of malloc and free.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>

#include "alloc/dmmalloc.h"
#include "alloc/native_memory.h"

namespace {

using Core = pprsim::DmMalloc<pprsim::NativeMemory>;
constexpr int kBatch = 1000;

Core& core() {
  static pprsim::NativeMemory mem;
  static Core a(&mem);
  return a;
}

void BM_DmMallocMalloc(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  std::array<pprsim::Addr, kBatch> p{};
  for (auto _ : state) {
    for (auto& x : p) x = core().malloc(n);
    benchmark::DoNotOptimize(p.data());
    state.PauseTiming();
    for (auto x : p) core().free(x);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_DmMallocFree(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  std::array<pprsim::Addr, kBatch> p{};
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& x : p) x = core().malloc(n);
    state.ResumeTiming();
    for (auto x : p) core().free(x);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_DmMallocPair(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    const pprsim::Addr p = core().malloc(n);
    benchmark::DoNotOptimize(p);
    core().free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_GlibcMalloc(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::array<void*, kBatch> p{};
  for (auto _ : state) {
    for (auto& x : p) x = std::malloc(n);
    benchmark::DoNotOptimize(p.data());
    state.PauseTiming();
    for (auto x : p) std::free(x);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_GlibcFree(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::array<void*, kBatch> p{};
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& x : p) x = std::malloc(n);
    state.ResumeTiming();
    for (auto x : p) std::free(x);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_GlibcPair(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(n);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_DmMallocMalloc)->Arg(24)->Arg(200)->Arg(3000);
BENCHMARK(BM_GlibcMalloc)->Arg(24)->Arg(200)->Arg(3000);
BENCHMARK(BM_DmMallocFree)->Arg(24)->Arg(200)->Arg(3000);
BENCHMARK(BM_GlibcFree)->Arg(24)->Arg(200)->Arg(3000);
BENCHMARK(BM_DmMallocPair)->Arg(24)->Arg(200)->Arg(3000);
BENCHMARK(BM_GlibcPair)->Arg(24)->Arg(200)->Arg(3000);

BENCHMARK_MAIN();
