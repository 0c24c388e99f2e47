// Native replay of a trace on a real allocator, for `pprsim bench`.
//
// The trace is compiled first (in the parent) into a flat program of operations on dense object
// slots, so that the process that runs it allocates nothing of its own while timing: the program
// and the slot table live in mmap'd memory. Every block gets its first and last byte written
// when it is handed out, and the first byte is checked before it is freed or resized, so a
// broken allocator shows up as a failure instead of a fast number.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "traces/trace_reader.h"

namespace pprsim {

enum class NativeOpKind : std::uint8_t { Malloc, Calloc, Memalign, Realloc, Free, Write, Use };

struct NativeOp {
  NativeOpKind kind;
  std::uint32_t slot;  // kNoSlot: free(NULL)
  std::uint64_t a;     // size; calloc count; memalign alignment; write/use offset
  std::uint64_t b;     // calloc element size; memalign size; write/use length
};
static_assert(sizeof(NativeOp) == 24);

inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

struct NativeProgram {
  std::vector<NativeOp> ops;
  std::uint32_t slots = 0;
  std::uint64_t events = 0;           // the trace's events, markers included
  std::uint64_t allocator_calls = 0;  // malloc/calloc/memalign/realloc/free in one pass
  std::uint64_t peak_live_bytes = 0;  // the most requested bytes live at once
};

// Reads the whole trace. Throws TraceError on bad input.
NativeProgram compile_native(TraceReader& reader);

// The C allocator a native replay calls, as plain function pointers.
// Reads a "Name:   N kB" line of /proc/self/status (VmRSS, VmHWM) without allocating; 0 when
// absent.
std::uint64_t status_kib(const char* key);

struct MallocFunctions {
  void* (*malloc)(std::size_t);
  void (*free)(void*);
  void* (*calloc)(std::size_t, std::size_t);
  void* (*realloc)(void*, std::size_t);
  void* (*memalign)(std::size_t, std::size_t);
};

struct NativeRun {
  bool ok = true;
  std::string failure;              // why the run stopped, when !ok
  std::uint64_t passes = 0;         // whole-trace passes per repetition
  std::uint64_t calls_per_pass = 0; // allocator calls per pass (the trace's and the final frees)
  std::vector<double> seconds;      // per repetition
  std::uint64_t footprint_bytes = 0;  // growth of the resident set during the first pass
};

// Runs `ops` (as from compile_native, shared read-only) on `alloc`: one untimed pass that
// measures the footprint, then `repetitions` timed repetitions of `passes` passes each, where
// `passes` is chosen so that one repetition takes at least `min_seconds`. After each pass every
// object still live is freed. Allocates its slot table with mmap, never with `alloc`.
NativeRun run_native(const NativeOp* ops, std::size_t n_ops, std::uint32_t slots,
                     const MallocFunctions& alloc, int repetitions, double min_seconds);

// Serialises a program into a sealed memory file and returns its descriptor (inheritable by a
// child process); -1 on failure.
int program_to_memfd(const NativeProgram& p);

// Maps a program from a descriptor made by program_to_memfd. Returns false with `error` set on
// a descriptor that does not hold one.
struct MappedProgram {
  const NativeOp* ops = nullptr;
  std::size_t n_ops = 0;
  std::uint32_t slots = 0;
};
bool map_program(int fd, MappedProgram& out, std::string& error);

}  // namespace pprsim
