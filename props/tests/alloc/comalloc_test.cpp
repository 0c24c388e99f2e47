// comalloc (alloc/comalloc.h) driven through its PPR hooks on simulated memory, the way the
// replay drives it: group_init in the parent, task_init in forked, tracked copies, events run
// by the executor, the committed tasks' writes copied into the parent in spec order, merge on a
// copy of the last committed task's allocator, learn. Checked: a task writes nothing outside its
// own private heap, the regions it obtained in its own slice (its growth heap) and the handle
// slots, reads nothing shared but the blocks it frees or moves; after every group the oracle's census holds (no lost block, no double allocation,
// contents as the sequential run has them) and no chunk keeps the private bit; freeing
// everything coalesces each segment back into one free chunk.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "alloc/comalloc.h"
#include "alloc/native_memory.h"
#include "sim/content_model.h"
#include "sim/executor.h"
#include "sim/group.h"
#include "sim/oracle.h"
#include "sim/process.h"
#include "sim/sim_allocator.h"
#include "props/tests/test_support.h"

namespace pprsim {
using pprsim::test::problem_texts;
namespace {

constexpr std::int64_t kIds = 16384;  // handle slots mapped up front

// A check that works in a TEST and in a property alike (a failure is an exception that both
// report with this message; RapidCheck also shrinks on it).
#define CO_CHECK(cond)                                                                          \
  do {                                                                                          \
    if (!(cond)) throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + \
                                          ": check failed: " #cond);                           \
  } while (0)
#define CO_FAIL(msg) throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " + (msg))

bool in_handles(Addr a) { return a >= kHandleBase && a < kHeapBase; }

// The parent process, the sequential reference and the trace lines handed out so far.
struct World {
  Process p{std::uint64_t{1} << 30};
  ContentModel model;
  std::uint32_t line = 1;

  World() {
    p.alloc = make_allocator("comalloc", p.mem);
    for (std::int64_t id = 0; id < kIds; id += static_cast<std::int64_t>(kPageSize / 8)) ensure_handle(p, id);
  }

  Event ev(Op op, std::int64_t id, std::uint64_t size = 0) {
    Event e;
    e.op = op;
    e.id = id;
    e.size = size;
    e.line = line++;
    return e;
  }
  Event calloc_ev(std::int64_t id, std::uint64_t count, std::uint64_t size) {
    Event e = ev(Op::Calloc, id, size);
    e.count = count;
    return e;
  }
  Event memalign_ev(std::int64_t id, std::uint64_t align, std::uint64_t size) {
    Event e = ev(Op::Memalign, id, size);
    e.align = align;
    return e;
  }
  Event write_ev(std::int64_t id, std::uint64_t offset, std::uint64_t len) {
    Event e = ev(Op::Write, id, len);
    e.offset = offset;
    return e;
  }

  // One event in the parent, outside any group.
  void seq(const Event& e) {
    const StepOutcome out = execute(p, e);
    if (out.status != StepStatus::Done) CO_FAIL("sequential event failed: " + out.detail);
    model.apply(e);
  }

  HeapCheck check() { return check_heap(p, model); }
};

std::string problems(const HeapCheck& c) {
  std::string s;
  for (const std::string& x : problem_texts(c.findings)) s += x + "\n";
  return s;
}

// Every block of every region of p, in address order.
std::vector<BlockInfo> blocks_of(Process& p) {
  const Process::Untracked quiet(p);
  std::vector<BlockInfo> out;
  for (const auto& [base, size] : p.sys.regions()) {
    if (in_handles(base)) continue;
    p.alloc->walk_region(base, size, [&](const BlockInfo& b) { out.push_back(b); });
  }
  return out;
}

// The block of `blocks` holding address a, or nullptr.
const BlockInfo* block_at(const std::vector<BlockInfo>& blocks, Addr a) {
  auto it = std::upper_bound(blocks.begin(), blocks.end(), a,
                             [](Addr v, const BlockInfo& b) { return v < b.start; });
  if (it == blocks.begin()) return nullptr;
  --it;
  return a < it->start + it->size ? &*it : nullptr;
}

// The regions task process t obtained since the fork from `parent`; each must lie in t's slice.
std::map<Addr, std::uint64_t> own_regions(const Process& parent, const Process& t) {
  const auto [slice, slice_bytes] = t.sys.slice();
  std::map<Addr, std::uint64_t> out;
  for (const auto& [base, size] : t.sys.regions()) {
    if (parent.sys.regions().count(base) != 0) continue;
    if (base < slice || base - slice >= slice_bytes || size > slice_bytes - (base - slice)) {
      CO_FAIL(fmt::format("a task obtained {:#x} ({} B) outside its slice", base, size));
    }
    out.emplace(base, size);
  }
  return out;
}

bool in_regions(const std::map<Addr, std::uint64_t>& regions, Addr a) {
  auto it = regions.upper_bound(a);
  if (it == regions.begin()) return false;
  --it;
  return a - it->first < it->second;
}

// A task of the group (sim/group.h) and what the test saw of it.
struct Task {
  Runner run;
  bool gave_up = false;
  std::size_t done = 0;  // events run
  Process& proc() { return *run.proc; }
};

// What one group did.
struct GroupOutcome {
  bool carved = false;
  int committed = 0;
  bool understudy = false;
  int rescues = 0;
};

// Checks what task k touched outside the handle slots and its own slice of address space (what
// it obtained there, kept or given back since, is its alone): every allocator write inside one free block of the parent's heap as carved (its
// private heap), a block no other task wrote (the program's own `w` events may also write the
// payload of objects live at the fork); every read inside that block or inside a block live at
// the fork (a header or object it freed or moved).
void check_confined(const Process& parent, const std::vector<BlockInfo>& carved,
                    const std::vector<Event>& events, Task& t, std::set<Addr>& owners, int k) {
  std::map<std::uint32_t, Op> op_at;
  for (const Event& e : events) op_at[e.line] = e.op;
  own_regions(parent, t.proc());  // each inside the slice
  const auto [slice, slice_bytes] = t.proc().sys.slice();
  auto in_slice = [&](Addr a) { return a >= slice && a - slice < slice_bytes; };
  const BlockInfo* mine = nullptr;
  for (const auto& [pn, plog] : t.proc().log->pages()) {
    for (std::uint64_t b = 0; b < kPageSize; ++b) {
      const Addr a = pn * kPageSize + b;
      const std::uint32_t line = plog->write_line[b];
      if (in_handles(a) || line == 0 || in_slice(a)) continue;
      const BlockInfo* blk = block_at(carved, a);
      if (blk != nullptr && blk->kind == BlockInfo::Kind::Live && op_at[line] == Op::Write &&
          a >= blk->payload && a < blk->payload + blk->usable) {
        continue;  // the program writing an object it had before the group
      }
      if (blk == nullptr || blk->kind != BlockInfo::Kind::Free) {
        CO_FAIL(fmt::format("task {} wrote {:#x} (line {}), in no private heap ({})", k, a, line,
                            blk == nullptr ? "no block" : "a live block"));
      }
      if (mine == nullptr) {
        mine = blk;
        CO_CHECK(owners.insert(blk->start).second);  // no two tasks share a heap
      }
      if (blk != mine) CO_FAIL(fmt::format("task {} wrote {:#x} outside its private heap", k, a));
    }
  }
  for (const auto& [pn, plog] : t.proc().log->pages()) {
    for (std::uint64_t b = 0; b < kPageSize; ++b) {
      const Addr a = pn * kPageSize + b;
      if (in_handles(a) || plog->read_line[b] == 0 || in_slice(a)) continue;
      if (mine != nullptr && a >= mine->start && a < mine->start + mine->size) continue;
      const BlockInfo* blk = block_at(carved, a);
      CO_CHECK(blk != nullptr);
      if (blk->kind != BlockInfo::Kind::Live) {
        CO_FAIL("task " + std::to_string(k) + " read shared allocator memory at " + std::to_string(a));
      }
    }
  }
}

// Runs one group of instances as the replay does. `want` tasks are committed at most (the
// group is also cut at the first task that gave up); when none commits, the understudy (if
// `understudy`) or a sequential re-run from the group's start takes over. The system memory of
// task `refusing` (if any) refuses every request: its slice is full.
GroupOutcome run_group(World& w, const std::vector<std::vector<Event>>& inst, int want, bool understudy,
                       int refusing = -1) {
  GroupOutcome out;
  const int g = static_cast<int>(inst.size());
  out.carved = w.p.alloc->group_init(g);
  if (!out.carved) {
    for (const auto& in : inst) {
      for (const Event& e : in) w.seq(e);
    }
    return out;
  }
  // Mid-group, the parent's census holds: each private heap is a free block on the lists.
  const HeapCheck mid = w.check();
  if (!mid.ok()) CO_FAIL("mid-group census: " + problems(mid));
  const std::vector<BlockInfo> carved = blocks_of(w.p);

  std::vector<Task> tasks(static_cast<std::size_t>(g));
  for (int k = 0; k < g; ++k) {
    Task& t = tasks[static_cast<std::size_t>(k)];
    t.run = fork_task(w.p, k, inst[static_cast<std::size_t>(k)]);
    if (k == refusing) t.proc().sys.set_refuse([](std::uint64_t) { return true; });
    for (const Event& e : inst[static_cast<std::size_t>(k)]) {
      const StepOutcome r = execute(t.proc(), e);
      if (r.status == StepStatus::GaveUp) {
        CO_CHECK(t.proc().alloc->gave_up());
        t.gave_up = true;
        ++out.rescues;
        break;
      }
      CO_CHECK(r.status == StepStatus::Done);
      ++t.done;
    }
  }
  std::set<Addr> owners;
  for (int k = 0; k < g; ++k) {
    check_confined(w.p, carved, inst[static_cast<std::size_t>(k)], tasks[static_cast<std::size_t>(k)], owners, k);
  }

  std::vector<Runner> runs;
  for (Task& t : tasks) runs.push_back(std::move(t.run));
  const std::vector<const SimAllocator*> allocs = task_allocators(runs);
  int m = 0;
  while (m < want && m < g && !tasks[static_cast<std::size_t>(m)].gave_up) ++m;
  out.committed = m;
  if (m == 0 && understudy) {
    out.understudy = true;
    auto und = w.p.fork();
    und->alloc->understudy_init();
    for (const auto& in : inst) {
      for (const Event& e : in) CO_CHECK(execute(*und, e).status == StepStatus::Done);
    }
    w.p.become(*und);
    w.p.alloc->learn(allocs);
    for (const auto& in : inst) {
      for (const Event& e : in) w.model.apply(e);
    }
    return out;
  }
  if (m == 0) {
    w.p.alloc->understudy_init();
  } else {
    commit_tasks(w.p, runs, static_cast<std::size_t>(m));
    for (int k = 0; k < m; ++k) {
      for (const Event& e : inst[static_cast<std::size_t>(k)]) w.model.apply(e);
    }
  }
  w.p.alloc->learn(allocs);
  for (int k = m; k < g; ++k) {
    for (const Event& e : inst[static_cast<std::size_t>(k)]) w.seq(e);
  }
  return out;
}

// After a group: the census holds and no chunk keeps the private bit.
void check_after_group(World& w) {
  const HeapCheck c = w.check();
  if (!c.ok()) CO_FAIL("census after the group: " + problems(c));
  for (const BlockInfo& b : blocks_of(w.p)) {
    const std::uint64_t h = w.p.space.load64(b.start);
    CO_CHECK((h & dl::kPrivate) == 0u);
  }
}

// Frees every live object in SEQ: then every region is one free block (or was given back).
void free_all_and_check_coalesced(World& w) {
  for (const auto& [id, o] : w.p.objects.by_address()) w.seq(w.ev(Op::Free, id));
  CO_CHECK(w.check().ok());
  std::size_t regions = 0;
  for (const auto& [base, size] : w.p.sys.regions()) regions += in_handles(base) ? 0 : 1;
  std::size_t free_blocks = 0;
  for (const BlockInfo& b : blocks_of(w.p)) {
    CO_CHECK(b.kind == BlockInfo::Kind::Free);
    ++free_blocks;
  }
  CO_CHECK(free_blocks == regions);
}

// A group of 4 tasks over 24 objects allocated before it: task k allocates, writes and frees
// objects of its own, frees object k, moves object 4 + k with realloc, callocs and memaligns.
std::vector<std::vector<Event>> standard_group(World& w, int g) {
  std::vector<std::vector<Event>> inst(static_cast<std::size_t>(g));
  for (int k = 0; k < g; ++k) {
    auto& in = inst[static_cast<std::size_t>(k)];
    const std::int64_t base = 100 + 10 * k;
    in.push_back(w.ev(Op::Malloc, base, 40));
    in.push_back(w.ev(Op::Malloc, base + 1, 700));
    in.push_back(w.write_ev(base + 1, 100, 300));
    in.push_back(w.ev(Op::Free, base));
    in.push_back(w.ev(Op::Free, k));                // a block of the base heap: deferred
    in.push_back(w.ev(Op::Realloc, 4 + k, 3000));  // a base-heap object moves in
    in.push_back(w.calloc_ev(base + 2, 10, 30));
    in.push_back(w.memalign_ev(base + 3, 256, 100));
    in.push_back(w.ev(Op::Realloc, base + 1, 2000));  // grows in its private heap
    in.push_back(w.ev(Op::Malloc, base + 4, 0));
  }
  return inst;
}

void seq_prelude(World& w) {
  for (std::int64_t id = 0; id < 24; ++id) w.seq(w.ev(Op::Malloc, id, 16 + 37 * static_cast<std::uint64_t>(id)));
  for (std::int64_t id = 20; id < 24; ++id) w.seq(w.ev(Op::Free, id));
}

TEST(CoMalloc, RegisteredByName) {
  const auto& names = allocator_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "comalloc"), names.end());
}

TEST(CoMalloc, SequentialModeIsTheBaseHeap) {
  World w;
  seq_prelude(w);
  const HeapCheck c = w.check();
  EXPECT_TRUE(c.ok()) << problems(c);
  EXPECT_EQ(c.live_objects, 20u);
  free_all_and_check_coalesced(w);
}

TEST(CoMalloc, TasksStayInTheirHeapsAndEveryCommittedByteIsAccountedFor) {
  World w;
  seq_prelude(w);
  const auto inst = standard_group(w, 4);
  const GroupOutcome out = run_group(w, inst, 4, true);
  EXPECT_TRUE(out.carved);
  EXPECT_EQ(out.committed, 4);
  EXPECT_EQ(out.rescues, 0);
  const HeapCheck c = w.check();
  EXPECT_TRUE(c.ok()) << problems(c);
  EXPECT_EQ(c.findings.count(FindingKind::LostBlock), 0u);
  check_after_group(w);
  // The moved and new objects live on as ordinary chunks: free them in SEQ.
  free_all_and_check_coalesced(w);
}

TEST(CoMalloc, AbortedTasksGiveTheirHeapsBackWhole) {
  World w;
  seq_prelude(w);
  const auto inst = standard_group(w, 4);
  const GroupOutcome out = run_group(w, inst, 2, false);
  EXPECT_EQ(out.committed, 2);
  const HeapCheck c = w.check();
  EXPECT_TRUE(c.ok()) << problems(c);
  check_after_group(w);
  free_all_and_check_coalesced(w);
}

TEST(CoMalloc, UnderstudyAndSequentialRerunReturnEveryHeap) {
  for (const bool und : {true, false}) {
    World w;
    seq_prelude(w);
    const auto inst = standard_group(w, 3);
    const GroupOutcome out = run_group(w, inst, 0, und);
    EXPECT_EQ(out.committed, 0);
    EXPECT_EQ(out.understudy, und);
    const HeapCheck c = w.check();
    EXPECT_TRUE(c.ok()) << problems(c);
    check_after_group(w);
    free_all_and_check_coalesced(w);
  }
}

TEST(CoMalloc, HooksReportReservationAndTaskAllocation) {
  World w;
  seq_prelude(w);
  ASSERT_TRUE(w.p.alloc->group_init(3));
  const std::uint64_t reserved = w.p.alloc->reserved_bytes();
  EXPECT_GE(reserved, 3 * co::kInitialEstimate);
  auto t = w.p.fork();
  t->alloc->task_init(1);
  EXPECT_EQ(t->alloc->task_allocated_bytes(), 0u);
  const Addr a = t->alloc->malloc(100);
  ASSERT_NE(a, 0u);
  EXPECT_EQ(t->alloc->task_allocated_bytes(), dl::request_to_size(100));
  // A block freed in its own task is reused at once.
  t->alloc->free(a);
  EXPECT_EQ(t->alloc->malloc(100), a);
  // The task's blocks carry the private bit; the base heap's do not.
  EXPECT_NE(t->space.load64(a - 16) & dl::kPrivate, 0u);
  const Object* o = w.p.objects.find(0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(t->space.load64(o->addr - 16) & dl::kPrivate, 0u);
  // Freeing a base-heap block in a task changes nothing in memory (deferred).
  const std::uint64_t h0 = t->space.load64(o->addr - 16);
  t->alloc->free(o->addr);
  EXPECT_EQ(t->space.load64(o->addr - 16), h0);
  // describe names the heaps.
  Addr region = 0;
  std::uint64_t rsize = 0;
  for (const auto& [b, s] : t->sys.regions()) {
    if (a >= b && a < b + s) {
      region = b;
      rsize = s;
    }
  }
  ASSERT_NE(region, 0u);
  EXPECT_NE(t->alloc->describe(region, rsize, a - 16).find("private heap of task 1"), std::string::npos)
      << t->alloc->describe(region, rsize, a - 16);
  EXPECT_NE(w.p.alloc->describe(region, rsize, a - 16).find("as carved"), std::string::npos)
      << w.p.alloc->describe(region, rsize, a - 16);
  w.p.alloc->understudy_init();
  EXPECT_TRUE(w.check().ok());
}

TEST(CoMalloc, RefusedSliceGivesUpWithoutTouchingSharedState) {
  World w;
  seq_prelude(w);
  std::vector<std::vector<Event>> inst(2);
  inst[0].push_back(w.ev(Op::Malloc, 200, 64));
  inst[1].push_back(w.ev(Op::Malloc, 210, 64));
  inst[1].push_back(w.ev(Op::Free, 3));
  inst[1].push_back(w.ev(Op::Malloc, 211, 1 << 20));  // larger than any private heap so far
  inst[1].push_back(w.ev(Op::Malloc, 212, 64));
  const GroupOutcome out = run_group(w, inst, 2, true, 1);  // and task 1's slice is full
  EXPECT_EQ(out.rescues, 1);
  EXPECT_EQ(out.committed, 1);
  check_after_group(w);
  // Learned: the next group's heaps hold such a request.
  std::vector<std::vector<Event>> again(2);
  again[0].push_back(w.ev(Op::Malloc, 220, 64));
  again[1].push_back(w.ev(Op::Malloc, 221, 1 << 20));
  const GroupOutcome out2 = run_group(w, again, 2, true);
  EXPECT_GE(w.p.alloc->reserved_bytes(), 2 * (std::uint64_t{1} << 20));
  EXPECT_EQ(out2.rescues, 0);
  EXPECT_EQ(out2.committed, 2);
  check_after_group(w);
  free_all_and_check_coalesced(w);
}

// Every entry p's allocator's free walk reaches (bins, tops, carved heaps), sorted.
std::vector<std::pair<Addr, int>> free_entries(Process& p) {
  const Process::Untracked quiet(p);
  std::vector<std::pair<Addr, int>> out;
  p.alloc->walk_free(1'000'000, [&](const FreeEntry& f) { out.emplace_back(f.block, f.size_class); });
  std::sort(out.begin(), out.end());
  return out;
}

// A task that outgrows a first group's private heap (about 20 KiB) many times over: an object
// allocated while the private heap has room and later moved out of it by realloc, 300 small
// objects written and every third freed again in the task, a memalign, a realloc of a grown
// object, and a large object.
std::vector<Event> growing_task(World& w, std::int64_t first) {
  std::vector<Event> in;
  in.push_back(w.ev(Op::Malloc, first + 400, 40));
  in.push_back(w.write_ev(first + 400, 0, 40));
  for (std::int64_t i = 0; i < 300; ++i) {
    in.push_back(w.ev(Op::Malloc, first + i, 100 + 7 * static_cast<std::uint64_t>(i % 50)));
    in.push_back(w.write_ev(first + i, 0, 64));
    if (i % 3 == 2) in.push_back(w.ev(Op::Free, first + i - 1));
  }
  in.push_back(w.memalign_ev(first + 300, 4096, 5000));
  in.push_back(w.ev(Op::Realloc, first + 400, 20000));  // out of the private heap
  in.push_back(w.ev(Op::Realloc, first + 3, 3000));     // a grown object grows
  in.push_back(w.ev(Op::Malloc, first + 301, 1 << 20));  // a region of its own
  in.push_back(w.write_ev(first + 301, 1000, 5000));
  return in;
}

TEST(CoMalloc, TaskOutgrowsItsPrivateHeapInsideItsSlice) {
  World w;
  seq_prelude(w);
  ASSERT_TRUE(w.p.alloc->group_init(2));
  const std::uint64_t first_reserve = w.p.alloc->reserved_bytes();
  std::vector<std::vector<Event>> inst(2);
  inst[0].push_back(w.ev(Op::Malloc, 200, 64));
  inst[1] = growing_task(w, 1000);
  std::vector<Runner> runs;
  for (int k = 0; k < 2; ++k) {
    runs.push_back(fork_task(w.p, k, inst[static_cast<std::size_t>(k)]));
    for (const Event& e : inst[static_cast<std::size_t>(k)]) {
      const StepOutcome r = execute(*runs.back().proc, e);
      ASSERT_EQ(r.status, StepStatus::Done) << "line " << e.line << ": " << r.detail;
    }
  }
  Process& t = *runs[1].proc;
  EXPECT_FALSE(t.alloc->gave_up());
  // It obtained system memory, all of it inside its slice (own_regions checks that): the
  // growth heap's segments and the large object's region.
  const std::map<Addr, std::uint64_t> grown = own_regions(w.p, t);
  std::uint64_t grown_bytes = 0;
  for (const auto& [base, size] : grown) grown_bytes += size;
  EXPECT_GE(grown.size(), 2u);
  EXPECT_GT(grown_bytes, std::uint64_t{1} << 20);
  // In the task, every grown region walks, every free chunk of the growth heap is reached (no
  // lost block), the contents are the task's, and the allocator's invariants hold.
  {
    ContentModel view = w.model;
    for (const Event& e : inst[1]) view.apply(e);
    const HeapCheck c = check_heap(t, view);
    EXPECT_TRUE(c.ok()) << problems(c);
    EXPECT_EQ(c.findings.count(FindingKind::LostBlock), 0u);
    const Process::Untracked quiet(t);
    EXPECT_EQ(t.alloc->verify(), "");
    const Object* o = t.objects.find(1000 + 299);
    ASSERT_NE(o, nullptr);
    ASSERT_TRUE(in_regions(grown, o->addr));
    const auto r = *std::prev(grown.upper_bound(o->addr));
    EXPECT_NE(t.alloc->describe(r.first, r.second, o->addr).find("growth heap of task 1"), std::string::npos)
        << t.alloc->describe(r.first, r.second, o->addr);
  }
  // The commit adopts the grown regions; the merge adopts the growth heap.
  const CommitResult done = commit_tasks(w.p, runs, 2);
  EXPECT_TRUE(problem_texts(done.findings).empty());
  EXPECT_EQ(done.adopted_bytes, grown_bytes);
  for (const auto& in : inst) {
    for (const Event& e : in) w.model.apply(e);
  }
  w.p.alloc->learn(task_allocators(runs));
  check_after_group(w);
  {
    const Process::Untracked quiet(w.p);
    EXPECT_EQ(w.p.alloc->verify(), "");
  }
  const HeapCheck c = w.check();
  EXPECT_EQ(c.findings.count(FindingKind::LostBlock), 0u);
  EXPECT_EQ(c.findings.count(FindingKind::ContentMismatch), 0u);
  // The grown objects are ordinary objects now: they are freed (and reallocated) sequentially.
  w.seq(w.ev(Op::Realloc, 1000 + 298, 9000));
  w.seq(w.ev(Op::Free, 1000 + 301));
  EXPECT_TRUE(w.check().ok());
  // What the task used of its growth heap is demand: the next two heaps, each the average of
  // the two tasks' use, together hold at least what task 1 used (over 100 kB).
  ASSERT_TRUE(w.p.alloc->group_init(2));
  EXPECT_GT(w.p.alloc->reserved_bytes(), first_reserve + 50000);
  w.p.alloc->understudy_init();
  free_all_and_check_coalesced(w);
}

// Task 0 commits, task 1 (which runs `second`) is aborted; the parent after the commit.
std::unique_ptr<World> commit_first_of_two(bool second_grows) {
  auto w = std::make_unique<World>();
  seq_prelude(*w);
  if (!w->p.alloc->group_init(2)) CO_FAIL("no carve");
  std::vector<std::vector<Event>> inst = standard_group(*w, 2);
  if (second_grows) {
    inst[1] = growing_task(*w, 1000);
  } else {
    inst[1].clear();
  }
  std::vector<Runner> runs;
  for (int k = 0; k < 2; ++k) {
    runs.push_back(fork_task(w->p, k, inst[static_cast<std::size_t>(k)]));
    for (const Event& e : inst[static_cast<std::size_t>(k)]) {
      CO_CHECK(execute(*runs.back().proc, e).status == StepStatus::Done);
    }
  }
  if (second_grows) {
    CO_CHECK(!runs[1].proc->alloc->gave_up());
    CO_CHECK(own_regions(w->p, *runs[1].proc).size() >= 2);
  }
  commit_tasks(w->p, runs, 1);
  for (const Event& e : inst[0]) w->model.apply(e);
  return w;
}

TEST(CoMalloc, AnAbortedTasksGrowthLeavesNoTrace) {
  // The parent after committing task 0 is the same whether the aborted task 1 grew a lot or
  // did nothing: the same regions, the same chunks, the same free lists.
  const std::unique_ptr<World> grew = commit_first_of_two(true);
  const std::unique_ptr<World> idle = commit_first_of_two(false);
  EXPECT_EQ(grew->p.sys.regions(), idle->p.sys.regions());
  const std::vector<BlockInfo> a = blocks_of(grew->p);
  const std::vector<BlockInfo> b = blocks_of(idle->p);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].start, b[i].start);
    EXPECT_EQ(a[i].size, b[i].size);
    EXPECT_EQ(a[i].kind, b[i].kind);
  }
  EXPECT_EQ(free_entries(grew->p), free_entries(idle->p));
  {
    const Process::Untracked quiet(grew->p);
    EXPECT_EQ(grew->p.alloc->verify(), "");
  }
  check_after_group(*grew);
  free_all_and_check_coalesced(*grew);
}

TEST(CoMalloc, RefusedCarveLeavesTheHeapAsItWas) {
  World w;
  w.p.sys = SystemMemory(std::uint64_t{4} << 20);
  w.p.alloc = make_allocator("comalloc", w.p.mem);
  for (std::int64_t id = 0; id < 4; ++id) w.seq(w.ev(Op::Malloc, id, 1000));
  // A task that grows far beyond its heap teaches the allocator to carve big ones ...
  std::vector<std::vector<Event>> first(2);
  first[0].push_back(w.ev(Op::Malloc, 10, 64));
  for (std::int64_t id = 11; id < 14; ++id) first[1].push_back(w.ev(Op::Malloc, id, 200000));
  GroupOutcome out = run_group(w, first, 2, true);
  EXPECT_EQ(out.rescues, 0);
  EXPECT_EQ(out.committed, 2);
  check_after_group(w);
  // ... and then eight of them do not fit in system memory: the group runs serially.
  const std::uint64_t in_use = w.p.sys.in_use();
  std::vector<std::vector<Event>> second(8);
  for (int k = 0; k < 8; ++k) second[static_cast<std::size_t>(k)].push_back(w.ev(Op::Malloc, 20 + k, 64));
  out = run_group(w, second, 8, true);
  EXPECT_FALSE(out.carved);
  EXPECT_EQ(w.p.sys.in_use(), in_use) << "what the failed carve grew went back";
  const HeapCheck c = w.check();
  EXPECT_TRUE(c.ok()) << problems(c);
  free_all_and_check_coalesced(w);
}

TEST(CoMalloc, AGroupNeverMergedIsTakenBackByTheNext) {
  World w;
  seq_prelude(w);
  ASSERT_TRUE(w.p.alloc->group_init(3));
  // Sequential work while the heaps are out (a caller that dropped the group): frees next to
  // them, allocations around them.
  for (std::int64_t id = 1; id < 20; id += 2) w.seq(w.ev(Op::Free, id));  // 19 is next to a heap
  w.seq(w.ev(Op::Malloc, 500, 5000));
  HeapCheck c = w.check();
  EXPECT_TRUE(c.ok()) << problems(c);
  ASSERT_TRUE(w.p.alloc->group_init(2));
  w.p.alloc->understudy_init();
  c = w.check();
  EXPECT_TRUE(c.ok()) << problems(c);
  check_after_group(w);
  free_all_and_check_coalesced(w);
}

// ---- Random groups against the sequential reference. ----

std::uint64_t gen_size() {
  const int r = *rc::gen::inRange(0, 100);
  if (r < 70) return *rc::gen::inRange<std::uint64_t>(0, 300);
  if (r < 95) return *rc::gen::inRange<std::uint64_t>(300, 9000);
  return *rc::gen::inRange<std::uint64_t>(9000, 400000);
}

RC_GTEST_PROP(CoMallocModel, RandomGroupsCommitWithoutLosingBytes, ()) {
  World w;
  std::int64_t next_id = 0;
  std::vector<std::int64_t> live;
  std::map<std::int64_t, std::uint64_t> size_of;  // as the trace has it
  auto take = [&](std::vector<std::int64_t>& from, std::size_t i) {
    const std::int64_t id = from[i];
    from.erase(from.begin() + static_cast<long>(i));
    return id;
  };
  const int groups = *rc::gen::inRange(1, 6);
  for (int gi = 0; gi < groups; ++gi) {
    // Sequential events.
    const int seq_ops = *rc::gen::inRange(0, 30);
    for (int i = 0; i < seq_ops; ++i) {
      if (live.empty() || *rc::gen::inRange(0, 3) != 0) {
        const std::uint64_t n = gen_size();
        w.seq(w.ev(Op::Malloc, next_id, n));
        size_of[next_id] = n;
        live.push_back(next_id++);
      } else {
        w.seq(w.ev(Op::Free, take(live, *rc::gen::inRange<std::size_t>(0, live.size()))));
      }
    }
    // A group: each task works on the objects whose id is its index modulo g, and on new ones.
    const int g = *rc::gen::inRange(1, 7);
    std::vector<std::vector<std::int64_t>> owned(static_cast<std::size_t>(g));
    for (const std::int64_t id : live) owned[static_cast<std::size_t>(id % g)].push_back(id);
    std::vector<std::vector<Event>> inst(static_cast<std::size_t>(g));
    for (int k = 0; k < g; ++k) {
      auto& mine = owned[static_cast<std::size_t>(k)];
      auto& in = inst[static_cast<std::size_t>(k)];
      const int ops = *rc::gen::inRange(0, 25);
      for (int i = 0; i < ops; ++i) {
        const int op = mine.empty() ? *rc::gen::inRange(0, 3) : *rc::gen::inRange(0, 8);
        std::int64_t id = next_id;
        while (id % g != k) ++id;
        if (op <= 2) {
          next_id = id + 1;
          if (op == 0) {
            in.push_back(w.ev(Op::Malloc, id, gen_size()));
          } else if (op == 1) {
            const auto count = *rc::gen::inRange<std::uint64_t>(0, 20);
            in.push_back(w.calloc_ev(id, count, *rc::gen::inRange<std::uint64_t>(0, 100)));
          } else {
            in.push_back(w.memalign_ev(id, std::uint64_t{1} << *rc::gen::inRange(4, 13), gen_size()));
          }
          size_of[id] = requested_bytes(in.back());
          mine.push_back(id);
        } else if (op <= 4) {
          in.push_back(w.ev(Op::Free, take(mine, *rc::gen::inRange<std::size_t>(0, mine.size()))));
        } else if (op == 5) {
          const std::int64_t r = mine[*rc::gen::inRange<std::size_t>(0, mine.size())];
          const std::uint64_t n = gen_size();
          in.push_back(w.ev(Op::Realloc, r, n));
          size_of[r] = n;
          if (n == 0) mine.erase(std::find(mine.begin(), mine.end(), r));
        } else {
          const std::int64_t r = mine[*rc::gen::inRange<std::size_t>(0, mine.size())];
          const std::uint64_t n = size_of[r];
          const std::uint64_t off = *rc::gen::inRange<std::uint64_t>(0, n + 1);
          in.push_back(w.write_ev(r, off, *rc::gen::inRange<std::uint64_t>(0, n - off + 1)));
        }
      }
    }
    const int want = *rc::gen::inRange(0, g + 1);
    const bool und = *rc::gen::arbitrary<bool>();
    run_group(w, inst, want, und);
    check_after_group(w);
    live.clear();
    for (const auto& [id, o] : w.p.objects.by_address()) live.push_back(id);
    std::sort(live.begin(), live.end());
  }
  free_all_and_check_coalesced(w);
}

}  // namespace
}  // namespace pprsim

namespace pprsim {
namespace {

// A task's state as bytes (alloc/co/task_state.h), as the native engine's port hands it to MAIN:
// imported into a fresh copy it exports the same bytes, so merge and learn read the same heaps;
// bytes that are not task k's, or cut short, are refused.
TEST(ComallocTaskState, RoundTripsAndRefusesWhatIsNotTheTasks) {
  NativeMemory mem;
  CoMalloc<NativeMemory> parent(&mem);
  std::vector<Addr> before;
  for (int i = 0; i < 8; ++i) before.push_back(parent.malloc(64 + 8 * static_cast<std::uint64_t>(i)));
  ASSERT_TRUE(parent.group_init(2));
  CoMalloc<NativeMemory> task = parent;  // the task's copy, as a fork gives it
  task.task_init(1);
  ASSERT_NE(task.malloc(100), 0u);
  task.free(before[0]);  // not the task's own: deferred to the commit
  ASSERT_NE(task.malloc(40), 0u);
  std::vector<unsigned char> bytes(task.export_task_state(nullptr, 0));
  ASSERT_EQ(task.export_task_state(bytes.data(), bytes.size()), bytes.size());

  CoMalloc<NativeMemory> copy(&mem);
  ASSERT_TRUE(copy.import_task_state(bytes.data(), bytes.size(), 1));
  std::vector<unsigned char> again(bytes.size());
  ASSERT_EQ(copy.export_task_state(again.data(), again.size()), bytes.size());
  EXPECT_EQ(again, bytes);
  EXPECT_EQ(copy.task_allocated_bytes(), task.task_allocated_bytes());

  CoMalloc<NativeMemory> other(&mem);
  EXPECT_FALSE(other.import_task_state(bytes.data(), bytes.size(), 0));  // task 1's, not task 0's
  EXPECT_FALSE(other.import_task_state(bytes.data(), bytes.size() - 1, 1));
  std::vector<unsigned char> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(other.import_task_state(longer.data(), longer.size(), 1));
  std::vector<unsigned char> small(bytes.size() - 1, 0xAA);
  EXPECT_EQ(task.export_task_state(small.data(), small.size()), bytes.size());
  EXPECT_EQ(small, std::vector<unsigned char>(bytes.size() - 1, 0xAA));  // too small: nothing written
}

}  // namespace
}  // namespace pprsim
