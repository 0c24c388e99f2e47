// The conversation between pprsim and a native worker process (native/engine/worker_main.cpp),
// over the two rings of its channel (native/engine/shm_channel.h), one request at a time:
//
//   pprsim  -> worker   Request (+ payload bytes; a Fork request's socket and channel follow on
//                       the socket)
//   worker  -> pprsim   zero or more system-memory requests (SysAlloc, SysFree), each answered
//                       by a Request of op SysAnswer, then one Reply (+ the call's access log)
//                       or, if the allocator crashed, a Crash message as the process dies.
//
// A Reply's payload is the access log of the call (native/engine/record_runtime.h): `reads`
// spans (bytes read before the call wrote them), `writes` spans, then the written bytes, in
// the order of the spans. Addresses are the worker's own (real) ones; pprsim maps the
// allocator's globals to a fixed place of its own (kGlobalsBase) so that reports stay the same
// from run to run whatever address the loader chose.
#pragma once

#include <cstdint>

namespace pprsim::wire {

inline constexpr std::uint32_t kVersion = 2;

// Where the allocator's heap lives in every worker: system memory is mapped at the addresses the
// simulated system memory hands out (sim/system_memory.h starts there), so the worker and pprsim
// agree on every heap address. The recording runtime tracks this much of it.
inline constexpr std::uint64_t kArenaBase = std::uint64_t{1} << 40;
// Slices climb: each group's tasks get slices above everything MAIN holds, including what earlier
// commits adopted, so a long run needs room (16 TiB: with 1 GiB slices, thousands of groups).
inline constexpr std::uint64_t kArenaBytes = std::uint64_t{16} << 40;
// A task's slice in a native run unless --task-slice says otherwise (the simulator's default, as
// much as the memory limit, would climb 16 GiB per task and group).
inline constexpr std::uint64_t kNativeSliceBytes = std::uint64_t{1} << 30;
// Where pprsim places the allocator's globals in its own picture of a worker (only there: no
// worker has memory at this address): above the heap's addresses (below kArenaBase is the
// program's data, sim/system_memory.h).
inline constexpr std::uint64_t kGlobalsBase = std::uint64_t{1} << 52;

enum class Op : std::uint32_t {
  Hello = 1,       // -> Reply: result = port version, a/b = globals [lo, hi), gave_up = kHas* bits;
                   //    payload: the init's log, the port's name, then the globals' bytes
  Malloc,          // a = n
  Calloc,          // a = count, b = size
  Memalign,        // a = align, b = n
  Realloc,         // a = p, b = n
  Free,            // a = p
  UsableSize,      // a = p (not recorded)
  GroupInit,       // a = ntasks; result nonzero on success
  TaskInit,        // a = k
  UnderstudyInit,  //
  Merge,           // a = ntasks, b = committed; payload: the tasks' states (u64 sizes[a], then the bytes)
  TaskState,       // -> Reply: payload = the task's state (empty: the port keeps none)
  Learn,           // a = ntasks; payload: the tasks' states, as for Merge
  Fork,            // a = the child's number on the board; its socket and channel memory file
                   //    follow on the socket; -> Reply: result = the child's pid
  Poke,            // a = address; payload: bytes to write there (not recorded)
  Map,             // a = address, b = bytes: map zeroed memory there (a region adopted at commit)
  Unmap,           // a = address, b = bytes
  Describe,        // a = address; -> Reply: payload = what is there, in words
  SysAnswer,       // the answer to a system-memory request: a = the region's address (0: refused)
  WalkRegion,      // a = base, b = bytes; -> Reply: result = the walk's return, payload = pprsim_port_block[]
  WalkFree,        // a = max steps; -> Reply: payload = FreeSpan[]
  Verify,          // -> Reply: result nonzero when broken, payload = the first broken invariant
  Adopt,           // this worker (the understudy's) becomes MAIN's: its heap becomes the shared one
};

// One entry a free-list walk reached (WalkFree).
struct FreeSpan {
  std::uint64_t block = 0;
  std::int64_t size_class = -1;
};

// What a port has, in the Hello Reply's gave_up field.
inline constexpr std::uint32_t kHasTaskState = 1;
inline constexpr std::uint32_t kHasLearnStates = 2;
inline constexpr std::uint32_t kHasCensus = 4;
inline constexpr std::uint32_t kHasVerify = 8;

struct Request {
  Op op = Op::Hello;
  std::uint32_t flags = 0;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint64_t payload = 0;  // bytes that follow
};

enum class Kind : std::uint32_t {
  Reply = 1,
  SysAlloc,  // a = bytes
  SysFree,   // a = address, b = bytes
  Crash,     // a = signal, b = fault address (or ~0)
  SysAllocShared,  // a = bytes: from the process's own system memory even in a task
};

struct Message {
  Kind kind = Kind::Reply;
  std::uint32_t gave_up = 0;  // Reply: the port's gave_up() after the call
  std::uint64_t result = 0;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint64_t reads = 0;    // Reply: spans of the access log that follow
  std::uint64_t writes = 0;
  std::uint64_t payload = 0;  // bytes after the spans
};

struct Span {
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
};

}  // namespace pprsim::wire
