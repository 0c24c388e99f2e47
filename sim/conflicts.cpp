#include "sim/conflicts.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <optional>

#include "sim/executor.h"
#include "sim/sim_allocator.h"

namespace pprsim {

std::string_view kind_name(Conflict::Kind k) { return k == Conflict::Kind::Raw ? "raw" : "waw"; }

std::string_view class_name(Conflict::Class c) {
  return c == Conflict::Class::AllocatorInduced ? "allocator_induced" : "true_dependence";
}

namespace {

struct Ref {
  std::int64_t id;
  std::uint32_t born;
  friend bool operator==(const Ref&, const Ref&) = default;
};

// The objects of one task's view that contain address x (at most a few). `until` is lowered
// to the first address above x where that may change: where an object holding x ends, or where
// another one starts.
std::vector<Ref> objects_at(const ForkObjects& at_fork, const ObjectList& created, Addr x, Addr& until) {
  std::vector<Ref> out;
  auto take = [&](std::int64_t id, const Object& o) {
    // The allocator may touch all its usable bytes for the object (realloc copies them).
    const Addr end = o.addr + std::max(o.size, o.usable);
    if (x >= o.addr && x < end) {
      out.push_back({id, o.born_line});
      until = std::min(until, end);
    }
  };
  at_fork.before(x, 64, take);
  objects_before(created, x, 64, take);
  until = std::min({until, at_fork.next_start(x), next_start(created, x)});
  return out;
}

// The classification of one conflicting byte; equal keys on adjacent bytes make one report.
struct ByteClass {
  Conflict::Kind kind;
  Conflict::Class cls;
  std::int64_t handle_id = -1;             // handle slot of this id
  std::optional<Ref> first_obj, second_obj;  // what each task held there
  std::uint32_t first_line = 0, second_line = 0;
  bool counts = true;  // false: ordinary write-after-write, not a conflict
  friend bool operator==(const ByteClass&, const ByteClass&) = default;
};

std::string describe_meta(Process& p, Addr a) {
  const Process::Untracked quiet(p);
  for (const auto& [base, size] : p.sys.regions()) {
    if (a >= base && a < base + size) {
      try {
        return p.alloc->describe(base, size, a);
      } catch (const MemoryFault&) {
        break;
      }
    }
  }
  if (std::string own = p.alloc->describe_outside(a); !own.empty()) return own;
  return fmt::format("memory at {:#x} outside the heap", a);
}

std::string describe(const ByteClass& b, Process& reader, Addr a) {
  if (b.handle_id >= 0) return fmt::format("handle slot of object {}", b.handle_id);
  if (b.cls == Conflict::Class::TrueDependence) {
    return fmt::format("object {} (allocated at line {})", b.first_obj->id, b.first_obj->born);
  }
  if (b.first_obj && b.second_obj) {
    return fmt::format("block handed out twice: object {} (line {}) in the first task, object {} (line {}) in the second",
                       b.first_obj->id, b.first_obj->born, b.second_obj->id, b.second_obj->born);
  }
  std::string meta = describe_meta(reader, a);
  if (b.first_obj) return fmt::format("object {} (line {}) of the first task over {}", b.first_obj->id, b.first_obj->born, meta);
  if (b.second_obj) return fmt::format("object {} (line {}) of the second task over {}", b.second_obj->id, b.second_obj->born, meta);
  return meta;
}

}  // namespace

std::vector<Conflict> find_conflicts(int group, int i, const TaskView& earlier, int k,
                                     const TaskView& later, const ForkObjects& at_fork) {
  std::vector<Conflict> out;
  ObjectList created_i = earlier.created, created_k = later.created;
  auto by_addr = [](const auto& a, const auto& b) { return a.second.addr < b.second.addr; };
  std::sort(created_i.begin(), created_i.end(), by_addr);
  std::sort(created_k.begin(), created_k.end(), by_addr);
  const AccessLog& wi = *earlier.proc->log;
  const AccessLog& lk = *later.proc->log;

  std::optional<ByteClass> run;
  Addr run_start = 0, run_end = 0;
  // What each task held at the bytes [near_from, near_to): a run of conflicting bytes lies in
  // one object or a few, looked up once for all of them.
  std::vector<Ref> near_i, near_k;
  Addr near_from = 1, near_to = 0;
  auto flush = [&] {
    if (run && run->counts) {
      Conflict c;
      c.group = group;
      c.first_task = i;
      c.second_task = k;
      c.kind = run->kind;
      c.cls = run->cls;
      c.addr = run_start;
      c.len = run_end - run_start;
      c.what = describe(*run, *later.proc, run_start);
      c.first_line = run->first_line;
      c.second_line = run->second_line;
      out.push_back(std::move(c));
    }
    run.reset();
  };

  // One byte the earlier task wrote and the later one read or wrote: its class, added to the
  // open run when it continues it, else the start of a new one.
  auto conflict_byte = [&](const AccessLog::PageLog& pi, const AccessLog::PageLog& pk, Addr a, std::uint64_t b) {
    const bool raw = pk.read_line[b] != 0;
    ByteClass bc;
    bc.kind = raw ? Conflict::Kind::Raw : Conflict::Kind::Waw;
    bc.first_line = pi.write_line[b];
    bc.second_line = raw ? pk.read_line[b] : pk.write_line[b];
    if (a >= kHandleBase && a < kHeapBase) {
      bc.handle_id = static_cast<std::int64_t>((a - kHandleBase) / 8);
      bc.cls = Conflict::Class::TrueDependence;
    } else {
      if (a < near_from || a >= near_to) {
        Addr until = std::numeric_limits<Addr>::max();
        near_i = objects_at(at_fork, created_i, a, until);
        near_k = objects_at(at_fork, created_k, a, until);
        near_from = a;
        near_to = until;
      }
      const std::vector<Ref>& oi = near_i;
      const std::vector<Ref>& ok = near_k;
      std::optional<Ref> same;
      for (const Ref& r : oi) {
        if (std::find(ok.begin(), ok.end(), r) != ok.end()) same = r;
      }
      if (same) {
        bc.cls = Conflict::Class::TrueDependence;
        bc.first_obj = bc.second_obj = same;
      } else {
        bc.cls = Conflict::Class::AllocatorInduced;
        if (!oi.empty()) bc.first_obj = oi.front();
        if (!ok.empty()) bc.second_obj = ok.front();
      }
    }
    bc.counts = raw || bc.cls == Conflict::Class::AllocatorInduced;
    // Lines are part of the key only for the first byte: a run keeps its first lines.
    if (run && a == run_end) {
      ByteClass cmp = bc;
      cmp.first_line = run->first_line;
      cmp.second_line = run->second_line;
      if (cmp == *run) {
        run_end = a + 1;
        return;
      }
    }
    flush();
    run = bc;
    run_start = a;
    run_end = a + 1;
  };

  for (const auto& [pn, pk] : lk.pages()) {
    const AccessLog::PageLog* pi = wi.page(pn);
    if (pi == nullptr) continue;
    // The bytes the earlier task wrote and the later one read or wrote: the chunks both touched,
    // then 64 bytes at a time. A run grows only over adjacent bytes, so the bytes skipped end it
    // as they would one by one.
    constexpr std::size_t kWordsPerChunk = AccessLog::Lines::kChunk / 64;
    std::uint32_t chunks = pi->write_line.chunks() & (pk->read_line.chunks() | pk->write_line.chunks());
    for (; chunks != 0; chunks &= chunks - 1) {
      const std::size_t chunk = static_cast<std::size_t>(std::countr_zero(chunks));
      for (std::size_t w = chunk * kWordsPerChunk; w < (chunk + 1) * kWordsPerChunk; ++w) {
        std::uint64_t hit = pi->write_line.mask(w) & (pk->read_line.mask(w) | pk->write_line.mask(w));
        for (; hit != 0; hit &= hit - 1) {
          const std::uint64_t b = 64 * w + static_cast<std::uint64_t>(std::countr_zero(hit));
          conflict_byte(*pi, *pk, pn * kPageSize + b, b);
        }
      }
    }
  }
  flush();
  return out;
}

}  // namespace pprsim
