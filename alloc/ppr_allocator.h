// The contract of a PPR allocator, as code. Every allocator pprsim verifies satisfies
// `PprAllocator<A, Mem>` (dmmalloc, comalloc, shared, the seeded-bug variants, and the adapter
// of C plugins); alloc/README.md explains it with a complete example.
//
// Vocabulary: SEQ is the sequential state; a *group* of g PPR instances starts with
// group_init(g) in the parent, which is then forked into g task copies (task_init(k) in copy k)
// and possibly one understudy copy (understudy_init()). A copy is the allocator object
// copy-constructed and bound to the forked process's memory with bind(): its out-of-band state
// is copied at fork like a process's static data, its in-band state is in the forked memory.
// After the group, one copy survives: either the understudy (then learn()), or the copy of the
// last committed task, bound to the committed memory (the parent's memory with the writes of
// tasks 0..committed-1 applied in order), which runs merge() and then learn().
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "alloc/census.h"
#include "alloc/memory.h"

namespace pprsim {

namespace contract {
// Stand-ins for the visitors the census walks take (any callable with these signatures).
struct BlockVisitor {
  void operator()(const BlockInfo&) const {}
};
struct FreeVisitor {
  void operator()(const FreeEntry&) const {}
};
}  // namespace contract

// The core of the contract: the malloc family, the group hooks and what a run reports.
template <class A, class Mem>
concept PprCore =
    Memory<Mem> && std::copy_constructible<A> &&
    requires(A& a, const A& ca, Mem* mem, Addr p, std::uint64_t n, int k,
             std::span<const A* const> tasks, std::size_t committed) {
      // Points this copy at another process's memory (after a fork, or at the committed
      // memory before merge). post: every later access goes through `mem`.
      { a.bind(mem) } -> std::same_as<void>;

      // ---- The malloc family (C semantics). In a task, 0 with gave_up() true is a rescue:
      // the allocator could not serve the request from task-private state; it must not touch
      // shared state to try. Outside a task, 0 means out of memory.
      // post: a nonzero result is 16-byte aligned, lies in system memory the allocator
      //       obtained, and [p, p + n) overlaps no other live object.
      { a.malloc(n) } -> std::same_as<Addr>;
      // post: as malloc, and the n*size bytes read zero; 0 on overflow of n*size.
      { a.calloc(n, n) } -> std::same_as<Addr>;
      // pre: align is a power of two (else 0). post: as malloc, and result % align == 0.
      { a.memalign(n, n) } -> std::same_as<Addr>;
      // realloc(0, n) = malloc(n); realloc(p, 0) = free(p), returns 0. pre: p is 0 or live.
      // post: the first min(old, n) bytes are preserved; on failure p is still live, unchanged.
      { a.realloc(p, n) } -> std::same_as<Addr>;
      // pre: p is 0 or a live object. In a task, a block this task did not allocate in this
      // group must not be reused before commit (defer it).
      { a.free(p) } -> std::same_as<void>;
      // pre: p is live. post: >= the size requested; [p, p + result) belongs to p alone.
      { a.usable_size(p) } -> std::same_as<std::uint64_t>;

      // ---- The group hooks (docs/DESIGN.md sections 1 and 2).
      // In the parent, in SEQ, before the fork. post (true): the g tasks' allocations will be
      // disjoint from each other and from everything live now; false: nothing changed, the
      // group runs smaller or serially.
      { a.group_init(k) } -> std::same_as<bool>;
      // In task k's copy after the fork. pre: group_init(g) returned true, 0 <= k < g.
      // post: until merge, this copy allocates only from task k's share.
      { a.task_init(k) } -> std::same_as<void>;
      // In the understudy's copy (or the parent, to re-run a group sequentially).
      // post: the copy is in SEQ and may allocate from all free memory.
      { a.understudy_init() } -> std::same_as<void>;
      // On the surviving copy, bound to the committed memory. pre: tasks[k] is task k's copy
      // as it finished; tasks[0, committed) committed, the rest aborted (their memory writes are
      // gone). post: SEQ; every block free in the committed tasks' view, every deferred free of
      // a committed task and every aborted task's share is free again; nothing is lost twice.
      { a.merge(tasks, committed) } -> std::same_as<void>;
      // On the surviving copy after merge (or after the understudy won): size the next group
      // from the tasks' demand. post: only out-of-band state changes.
      { a.learn(tasks) } -> std::same_as<void>;

      // ---- Observation (none of these may write memory).
      { ca.gave_up() } -> std::same_as<bool>;                      // this task rescued
      { ca.reserved_bytes() } -> std::same_as<std::uint64_t>;      // set aside by the last carve
      { ca.task_allocated_bytes() } -> std::same_as<std::uint64_t>;// handed out in this task
    };

// The census: what the oracle checks the heap against. Without it pprsim still checks
// conflicts, contents and overlap (a plugin may leave it out; the report says so).
template <class A>
concept PprCensus = requires(A& a, Addr p, std::uint64_t n, contract::BlockVisitor bv, contract::FreeVisitor fv) {
      // Visits the blocks of system region [base, base + n) in address order, tiling it;
      // stops at the first invalid header (one Corrupt piece to the end) and returns false.
      { a.walk_region(p, n, bv) } -> std::same_as<bool>;
      // Visits every block the free lists reach, at most n links per list (a cycle ends).
      { a.walk_free(n, fv) } -> std::same_as<void>;
      // What allocator structure holds address `p` of the region (base, size): for reports.
      { a.describe(p, n, p) } -> std::same_as<std::string>;
    };

// The allocator's own invariants, for the paranoid level (--paranoid). Optional as well.
template <class A>
concept PprVerify = requires(A& a) {
      // Callable between any two calls of the core, in every copy (SEQ, parent mid-group, task,
      // understudy, survivor). post: "" when they all hold, else the first broken one, as a
      // sentence naming the structure and address.
      { a.verify() } -> std::same_as<std::string>;
    };

// Everything pprsim can ask of an allocator; the built-in ones are all of it.
template <class A, class Mem>
concept PprAllocator = PprCore<A, Mem> && PprCensus<A> && PprVerify<A>;

}  // namespace pprsim
