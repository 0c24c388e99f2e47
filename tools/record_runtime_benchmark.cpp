// What recording costs (native/engine/record_runtime.h): CS:APP traces replayed through the
// tests' small C allocator (props/tests/native/fixtures/tiny_alloc.c) compiled plain and compiled
// with -fsanitize=thread against the recording runtime, the latter in four settings:
//
//   hooks      no task: every hook returns at once
//   outside    in tasks of 50 events, but the arena and globals are not tracked: every hook
//              runs its range test and finds nothing
//   record     in tasks of 50 events: begin, the events, end (the log), nothing else
//   task       the same, then rollback and apply of the log, as a task that commits
//
// Each figure is the best of a few passes over the trace (ns per event), and its ratio to the
// plain build. Not a test: run it by hand.
//
//     pprsim_record_benchmark [--passes N] [TRACE.rep | DIR]...   (default ../shared/traces/cs-app)
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "native/engine/record_runtime.h"
#include "props/tests/native/fixtures/tiny_alloc.h"
#include "traces/trace_reader.h"

namespace {

constexpr std::size_t kArena = std::size_t{4} << 30;  // reserved, touched only as used
constexpr std::size_t kTaskEvents = 50;

struct Allocator {
  void (*init)(void*, std::size_t);
  void* (*malloc)(std::size_t);
  void (*free)(void*);
  void* (*realloc)(void*, std::size_t);
  void* (*calloc)(std::size_t, std::size_t);
  void (*globals)(void**, void**);
};

constexpr Allocator kPlain{tiny_plain_init, tiny_plain_malloc, tiny_plain_free, tiny_plain_realloc,
                           tiny_plain_calloc, tiny_plain_globals};
constexpr Allocator kRecorded{tiny_init, tiny_malloc, tiny_free, tiny_realloc, tiny_calloc, tiny_globals};

enum class Mode { Plain, Hooks, Outside, Record, Task };

struct Op {
  pprsim::Op op;
  std::size_t id;
  std::size_t size;
  std::size_t count;
};

std::vector<Op> load(const std::string& path, std::size_t* ids) {
  auto reader = pprsim::open_trace(path);
  std::vector<Op> ops;
  pprsim::Event ev;
  *ids = 0;
  while (reader->next(ev)) {
    if (!pprsim::is_allocator_op(ev.op) || ev.id < 0) continue;
    const auto id = static_cast<std::size_t>(ev.id);
    ops.push_back(Op{ev.op, id, ev.size, ev.count});
    *ids = std::max(*ids, id + 1);
  }
  return ops;
}

// One event; false when the arena ran out.
bool run_op(const Allocator& a, const Op& op, std::vector<void*>& ptr) {
  switch (op.op) {
    case pprsim::Op::Free:
      a.free(ptr[op.id]);
      ptr[op.id] = nullptr;
      return true;
    case pprsim::Op::Realloc:
      ptr[op.id] = a.realloc(ptr[op.id], op.size);
      return ptr[op.id] != nullptr || op.size == 0;
    case pprsim::Op::Calloc:
      ptr[op.id] = a.calloc(op.count, op.size);
      return ptr[op.id] != nullptr;
    default:
      ptr[op.id] = a.malloc(op.size);
      return ptr[op.id] != nullptr;
  }
}

// One pass over the trace in the given mode: its time in nanoseconds, or a negative value when
// the arena ran out.
double pass(Mode mode, const std::vector<Op>& ops, std::size_t ids, void* arena) {
  const Allocator& a = mode == Mode::Plain ? kPlain : kRecorded;
  a.init(arena, kArena);
  std::vector<void*> ptr(ids, nullptr);
  const bool tasks = mode == Mode::Outside || mode == Mode::Record || mode == Mode::Task;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < ops.size(); at += kTaskEvents) {
    const std::size_t end = std::min(ops.size(), at + kTaskEvents);
    if (tasks) pprsim_rec_begin();
    for (std::size_t i = at; i < end; ++i) {
      if (!run_op(a, ops[i], ptr)) {
        if (tasks) pprsim_rec_log_free(pprsim_rec_end());
        return -1;
      }
    }
    if (!tasks) continue;
    pprsim_rec_log* log = pprsim_rec_end();
    if (mode == Mode::Task) {
      pprsim_rec_rollback();
      pprsim_rec_apply(log);
    }
    pprsim_rec_log_free(log);
  }
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count();
}

// The best of `passes` passes, in ns per event; tracks what the mode records and stops after.
double best(Mode mode, const std::vector<Op>& ops, std::size_t ids, void* arena, int passes) {
  void* glo = nullptr;
  void* ghi = nullptr;
  tiny_globals(&glo, &ghi);
  static unsigned char elsewhere[4096];
  if (mode == Mode::Record || mode == Mode::Task) {
    pprsim_rec_track(arena, static_cast<char*>(arena) + kArena);
    pprsim_rec_track(glo, ghi);
  } else if (mode == Mode::Outside) {
    pprsim_rec_track(elsewhere, elsewhere + sizeof elsewhere);
  }
  double out = 1e300;
  for (int i = 0; i < passes && out >= 0; ++i) out = std::min(out, pass(mode, ops, ids, arena));
  if (mode == Mode::Record || mode == Mode::Task) {
    pprsim_rec_untrack(arena, static_cast<char*>(arena) + kArena);
    pprsim_rec_untrack(glo, ghi);
  } else if (mode == Mode::Outside) {
    pprsim_rec_untrack(elsewhere, elsewhere + sizeof elsewhere);
  }
  return out < 0 ? out : out / static_cast<double>(ops.size());
}

std::vector<std::string> trace_files(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        if (e.path().extension() == ".rep") out.push_back(e.path().string());
      }
    } else if (std::filesystem::exists(a)) {
      out.push_back(a);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int passes = 5;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
      passes = std::max(1, std::atoi(argv[++i]));
    } else {
      args.emplace_back(argv[i]);
    }
  }
  if (args.empty()) args.emplace_back("../shared/traces/cs-app");
  const std::vector<std::string> files = trace_files(args);
  if (files.empty()) {
    std::printf("no CS:APP traces (.rep) found in the given places: nothing measured\n");
    return 0;
  }
  void* arena = mmap(nullptr, kArena, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (arena == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  const Mode modes[] = {Mode::Plain, Mode::Hooks, Mode::Outside, Mode::Record, Mode::Task};
  std::printf("%-22s %8s %9s %7s %7s %7s %7s   (ns/event for plain, ratios to plain; best of %d)\n",
              "trace", "events", "plain", "hooks", "outside", "record", "task", passes);
  double log_sum[5] = {};
  int measured = 0;
  for (const std::string& f : files) {
    std::size_t ids = 0;
    std::vector<Op> ops;
    try {
      ops = load(f, &ids);
    } catch (const pprsim::TraceError& e) {
      std::printf("%s: skipped: %s\n", f.c_str(), e.what());
      continue;
    }
    double ns[5];
    bool ok = !ops.empty();
    for (int m = 0; m < 5 && ok; ++m) {
      ns[m] = best(modes[m], ops, ids, arena, passes);
      ok = ns[m] > 0;
    }
    const std::string name = std::filesystem::path(f).filename().string();
    if (!ok) {
      std::printf("%-22s skipped: empty, or the arena ran out\n", name.c_str());
      continue;
    }
    std::printf("%-22s %8zu %9.1f %7.2f %7.2f %7.2f %7.2f\n", name.c_str(), ops.size(), ns[0],
                ns[1] / ns[0], ns[2] / ns[0], ns[3] / ns[0], ns[4] / ns[0]);
    for (int m = 0; m < 5; ++m) log_sum[m] += std::log(ns[m] / ns[0]);
    ++measured;
  }
  if (measured > 0) {
    std::printf("%-22s %8s %9s %7.2f %7.2f %7.2f %7.2f   (geometric means of the ratios)\n", "geomean", "", "",
                std::exp(log_sum[1] / measured), std::exp(log_sum[2] / measured),
                std::exp(log_sum[3] / measured), std::exp(log_sum[4] / measured));
  }
  munmap(arena, kArena);
  return 0;
}
