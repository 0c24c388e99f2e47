#include "sim/group.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

#include "sim/sim_allocator.h"

namespace pprsim {

Runner fork_task(Process& parent, int k, const Instance& instance, std::unique_ptr<Process> into) {
  Runner t;
  t.proc = parent.fork(std::move(into));
  t.task = k;
  t.proc->sys.confine(parent.sys.task_slice(k));
  t.proc->alloc->task_init(k);
  t.proc->start_tracking();
  for (const Event& e : instance) t.events.push_back(&e);
  return t;
}

std::unique_ptr<Runner> fork_understudy(Process& parent, const std::vector<Instance>& instances,
                                        std::unique_ptr<Process> into) {
  auto und = std::make_unique<Runner>();
  und->proc = parent.fork(std::move(into));
  und->proc->alloc->understudy_init();
  for (const Instance& in : instances) {
    for (const Event& e : in) und->events.push_back(&e);
  }
  return und;
}

std::size_t group_cut(const std::vector<Runner>& tasks) {
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    if (tasks[k].state != Runner::State::Finished && tasks[k].state != Runner::State::Stale) return k;
  }
  return tasks.size();
}

std::size_t running_cut(const std::vector<Runner>& tasks) {
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    if (tasks[k].state != Runner::State::Running && tasks[k].state != Runner::State::Finished) return k;
  }
  return tasks.size();
}

CommitVerdict commit_check(int group, std::vector<Runner>& tasks, const ForkObjects& at_fork) {
  CommitVerdict v;
  const std::size_t cut = group_cut(tasks);
  if (cut == 0) return v;
  for (Runner& t : tasks) t.view.proc = t.proc.get();
  std::size_t m = cut;
  for (std::size_t k = 1; k < cut && m == cut; ++k) {
    bool raw = false;
    for (std::size_t i = 0; i < k; ++i) {
      for (Conflict& c : find_conflicts(group, static_cast<int>(i), tasks[i].view, static_cast<int>(k),
                                        tasks[k].view, at_fork)) {
        raw = raw || c.kind == Conflict::Kind::Raw;
        v.conflicts.push_back(std::move(c));
      }
    }
    if (raw) m = k;
  }
  v.main_stale = tasks[0].state == Runner::State::Stale;
  for (std::size_t k = 1; k < m; ++k) {
    if (tasks[k].state == Runner::State::Stale) {
      // A stale view is always a read of a handle an earlier task wrote; be safe regardless.
      v.findings.add({.kind = FindingKind::Unexplained,
                      .group = group,
                      .task = static_cast<int>(k),
                      .text = fmt::format("group {}: task {} saw a stale object without a read-after-write", group, k)},
                     1, SIZE_MAX);
      m = k;
    }
  }
  v.commit = m;
  return v;
}

namespace {

// One committed task's system-memory changes, written bytes and object changes into `parent`.
void apply_writes(Process& parent, int k, Process& t, CommitResult& out) {
  // Named apart, not a structured binding: clang 14 cannot capture one in a lambda.
  const Addr slice = t.sys.slice().first;
  const std::uint64_t slice_bytes = t.sys.slice().second;
  for (const auto& [base, size] : t.sys.obtained()) {
    if (base < slice || base - slice > slice_bytes || size > slice_bytes - (base - slice)) {
      out.findings.add({.kind = FindingKind::OutsideSlice,
                        .task = k,
                        .addr = base,
                        .text = fmt::format("task {} obtained system memory at {:#x} ({} B) outside its slice [{:#x}, {:#x})",
                                            k, base, size, slice, slice + slice_bytes)});
    }
    parent.sys.adopt(base, size);
    parent.space.map(base, size);
    out.adopted_bytes += size;
  }
  // A page of the task's slice was nobody else's (a region taken from the shared break may be
  // another task's too: its written bytes are merged like any others).
  auto in_slice = [&](Addr page) { return page >= slice && page - slice < slice_bytes; };
  for (const auto& [pn, plog] : t.log->pages()) {
    const Addr page = pn * kPageSize;
    if (!plog->write_line.any() || !t.space.is_mapped(page) || !parent.space.is_mapped(page)) continue;
    // No copy of a page written whole, or of one in the task's own slice: the task's page,
    // shared.
    if (plog->write_line.whole() || in_slice(page)) {
      parent.space.share_page(t.space, pn);
      continue;
    }
    // Page to page, run by run (the parent's page first: taking the task's bytes is the last
    // access to its space before the copies).
    std::uint8_t* to_bytes = parent.space.writable_page(pn);
    const std::uint8_t* from_bytes = t.space.page_bytes(pn);
    plog->write_line.for_each_run([&](std::uint64_t from, std::uint64_t to) {
      std::memmove(to_bytes + from, from_bytes + from, to - from);
    });
  }
  for (const auto& [base, size] : t.sys.released()) {
    if (parent.sys.free(base, size)) parent.space.unmap(base, size);
  }
  parent.objects.apply(t.objects);
}

}  // namespace

std::vector<const SimAllocator*> task_allocators(const std::vector<Runner>& tasks) {
  std::vector<const SimAllocator*> allocs;
  allocs.reserve(tasks.size());
  for (const Runner& t : tasks) allocs.push_back(t.proc->alloc.get());
  return allocs;
}

CommitResult commit_memory(Process& parent, std::vector<Runner>& tasks, std::size_t m) {
  CommitResult out;
  for (std::size_t k = 0; k < m; ++k) apply_writes(parent, static_cast<int>(k), *tasks[k].proc, out);
  return out;
}

CommitResult commit_tasks(Process& parent, std::vector<Runner>& tasks, std::size_t m) {
  CommitResult out = commit_memory(parent, tasks, m);
  parent.alloc = tasks[m - 1].proc->alloc->clone(parent.mem);
  parent.alloc->merge(task_allocators(tasks), m);
  return out;
}

}  // namespace pprsim
