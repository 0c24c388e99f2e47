#include "props/fuzz_from.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <stdexcept>

#include "traces/trace_reader.h"

namespace pprsim {

namespace {

bool allocates(Op op) { return op == Op::Malloc || op == Op::Calloc || op == Op::Memalign; }
bool sized(Op op) { return allocates(op) || op == Op::Realloc; }

// The sizes where allocators change behaviour, as requests: a block of a power of two (dmmalloc's
// classes, comalloc's bins) exactly full, one byte over or under; a page or several; the largest
// class of dmmalloc and just above it.
std::uint64_t boundary_size(Prng& rng, std::uint64_t near) {
  const auto delta = static_cast<std::int64_t>(rng.below(3)) - 1;
  std::int64_t base = 0;
  switch (rng.below(4)) {
    case 0: {  // the power of two at or above the block `near` needs, or the one below
      int k = 5;
      while (k < 20 && (std::uint64_t{1} << k) < near + 16) ++k;
      if (rng.chance(1, 2) && k > 5) --k;
      base = (std::int64_t{1} << k) - 16;
      break;
    }
    case 1: base = static_cast<std::int64_t>(kPageSize * rng.between(1, 4)) - 16; break;
    case 2: {  // around dmmalloc's largest class, above it, or above the largest region it keeps
      constexpr std::array<std::int64_t, 5> kLarge{(1 << 18) - 17, (1 << 18) - 16, (1 << 18) - 15, (1 << 18) + 4096,
                                                   (std::int64_t{16} << 20) + 4096};
      return static_cast<std::uint64_t>(kLarge[rng.below(kLarge.size())]);
    }
    default: base = (std::int64_t{1} << rng.between(5, 18)) - 16; break;
  }
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, base + delta));
}

std::uint64_t request_of(const Event& e) { return e.op == Op::Calloc ? e.count * e.size : e.size; }

// Positions of the events satisfying `pred`.
template <class Pred>
std::vector<std::size_t> positions(const std::vector<Event>& t, Pred pred) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (pred(t[i])) out.push_back(i);
  }
  return out;
}

template <class Pred>
bool pick(const std::vector<Event>& t, Prng& rng, Pred pred, std::size_t& at) {
  const std::vector<std::size_t> p = positions(t, pred);
  if (p.empty()) return false;
  at = p[rng.below(p.size())];
  return true;
}

void nudge_size(std::vector<Event>& t, Prng& rng) {
  std::size_t at = 0;
  if (!pick(t, rng, [](const Event& e) { return sized(e.op); }, at)) return;
  Event& e = t[at];
  const std::uint64_t n = boundary_size(rng, request_of(e));
  if (e.op == Op::Calloc) {
    e.count = std::max<std::uint64_t>(1, e.count);
    e.size = std::max<std::uint64_t>(1, n / e.count);
  } else {
    e.size = n;
  }
}

// A free moved up to 24 events earlier or later: across the PPR boundaries near it.
void move_free(std::vector<Event>& t, Prng& rng) {
  std::size_t at = 0;
  if (!pick(t, rng, [](const Event& e) { return e.op == Op::Free && e.id >= 0; }, at)) return;
  const Event e = t[at];
  t.erase(t.begin() + static_cast<std::ptrdiff_t>(at));
  const auto shift = static_cast<std::int64_t>(rng.between(1, 24)) * (rng.chance(1, 2) ? 1 : -1);
  const auto to = std::clamp<std::int64_t>(static_cast<std::int64_t>(at) + shift, 0, static_cast<std::int64_t>(t.size()));
  t.insert(t.begin() + to, e);
}

// A malloc becomes calloc or memalign of the same bytes.
void swap_call(std::vector<Event>& t, Prng& rng) {
  std::size_t at = 0;
  if (!pick(t, rng, [](const Event& e) { return e.op == Op::Malloc; }, at)) return;
  Event& e = t[at];
  if (rng.chance(2, 3)) {
    e.op = Op::Calloc;
    e.count = rng.between(1, 4);
    e.size = (e.size + e.count - 1) / e.count;
  } else {
    e.op = Op::Memalign;
    e.align = std::uint64_t{1} << rng.between(5, 12);
  }
}

// A realloc of a live object inserted after its allocation: grown or shrunk, often across a
// size boundary, possibly in a later PPR instance than the allocation.
void insert_realloc(std::vector<Event>& t, Prng& rng) {
  std::size_t at = 0;
  if (!pick(t, rng, [](const Event& e) { return allocates(e.op); }, at)) return;
  Event r{.op = Op::Realloc, .id = t[at].id};
  if (t[at].op == Op::Malloc && rng.chance(3, 4)) {
    // The object fills its block exactly, so that a copy that misses a byte misses one of its own.
    int k = 5;
    while (k < 18 && (std::uint64_t{1} << k) < t[at].size + 16) ++k;
    t[at].size = (std::uint64_t{1} << k) - 16;
  }
  const std::uint64_t old = request_of(t[at]);
  r.size = rng.chance(3, 4) ? boundary_size(rng, old * 2 + 16) : std::max<std::uint64_t>(1, old / 2);
  r.size = std::min(r.size, kMaxCaseSize);
  const std::size_t to = std::min(t.size(), at + 1 + rng.below(16));
  t.insert(t.begin() + static_cast<std::ptrdiff_t>(to), r);
}

// A realloc of an object a few events before its free: the object moves in one task and is
// freed in a later one (the free then reaches a block the earlier task left behind).
void realloc_before_free(std::vector<Event>& t, Prng& rng) {
  std::size_t at = 0;
  if (!pick(t, rng, [](const Event& e) { return e.op == Op::Free && e.id >= 0; }, at)) return;
  Event r{.op = Op::Realloc, .id = t[at].id, .size = rng.chance(1, 2) ? boundary_size(rng, 64) : rng.between(1, 4096)};
  const std::size_t to = at - std::min<std::size_t>(at, rng.between(1, 12));
  // Mostly in another instance than the free: an instance boundary just before the free.
  if (rng.chance(2, 3)) t.insert(t.begin() + static_cast<std::ptrdiff_t>(at), {Event{.op = Op::PprEnd}, Event{.op = Op::PprBegin}});
  t.insert(t.begin() + static_cast<std::ptrdiff_t>(to), r);
}

// Two neighbouring instances become one, or one is split in two.
void merge_or_split(std::vector<Event>& t, Prng& rng) {
  if (rng.chance(1, 2)) {
    std::size_t at = 0;
    auto end_then_begin = [&](std::size_t i) {
      return t[i].op == Op::PprEnd && i + 1 < t.size() && t[i + 1].op == Op::PprBegin;
    };
    std::vector<std::size_t> p;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (end_then_begin(i)) p.push_back(i);
    }
    if (p.empty()) return;
    at = p[rng.below(p.size())];
    t.erase(t.begin() + static_cast<std::ptrdiff_t>(at), t.begin() + static_cast<std::ptrdiff_t>(at) + 2);
    return;
  }
  if (t.empty()) return;
  const std::size_t at = rng.below(t.size());
  t.insert(t.begin() + static_cast<std::ptrdiff_t>(at), {Event{.op = Op::PprEnd}, Event{.op = Op::PprBegin}});
}

// A write or a use of a live object: the program touching it in another task than the one that
// allocated, moved or will free it.
void insert_access(std::vector<Event>& t, Prng& rng) {
  std::size_t at = 0;
  if (!pick(t, rng, [](const Event& e) { return allocates(e.op); }, at)) return;
  const std::uint64_t n = request_of(t[at]);
  if (n == 0) return;
  Event a{.op = rng.chance(1, 2) ? Op::Write : Op::Use, .id = t[at].id};
  a.offset = rng.below(n);
  a.size = rng.between(1, std::min<std::uint64_t>(n - a.offset, 64));
  const std::size_t to = std::min(t.size(), at + 1 + rng.below(32));
  t.insert(t.begin() + static_cast<std::ptrdiff_t>(to), a);
}

void mutate_once(RunCase& c, Prng& rng, bool faults) {
  switch (rng.below(faults ? 12 : 11)) {
    case 9:
    case 10: realloc_before_free(c.trace, rng); break;
    case 0: nudge_size(c.trace, rng); break;
    case 1: move_free(c.trace, rng); break;
    case 2: swap_call(c.trace, rng); break;
    case 3: insert_realloc(c.trace, rng); break;
    case 4: merge_or_split(c.trace, rng); break;
    case 5: insert_access(c.trace, rng); break;
    case 6: c.group_size = static_cast<int>(rng.between(2, 8)); break;
    case 7: c.seed = rng.between(1, 1000); break;
    case 8: c.understudy = static_cast<UnderstudyMode>(rng.below(3)); break;
    default: {
      const auto ratio = [&] { return rng.chance(1, 2) ? 0 : static_cast<std::uint32_t>(rng.below(FaultPlan::kOne / 3)); };
      c.faults = FaultPlan{ratio(), ratio(), ratio(), ratio(), ratio()};
      break;
    }
  }
}

}  // namespace

std::vector<SeedTrace> load_seed_traces(const std::vector<std::string>& paths) {
  std::vector<SeedTrace> out;
  for (const std::string& path : paths) {
    std::unique_ptr<TraceReader> reader = open_trace(path);
    SeedTrace t;
    t.name = path;
    for (Event e; t.events.size() < kMaxSeedEvents && reader->next(e);) {
      if (is_operation(e.op)) t.events.push_back(e);
    }
    if (t.events.empty()) throw std::invalid_argument(path + ": the trace has no operations to fuzz from");
    out.push_back(std::move(t));
  }
  return out;
}

RunCase window_case(const SeedTrace& t, Prng& rng) {
  const std::size_t n = t.events.size();
  const std::size_t len = std::min<std::size_t>(n, rng.between(20, 300));
  const std::size_t start = rng.below(n - len + 1);
  // The objects live at the window's start, with their sizes then.
  std::map<std::int64_t, std::uint64_t> live;
  for (std::size_t i = 0; i < start; ++i) {
    const Event& e = t.events[i];
    if (allocates(e.op)) live[e.id] = request_of(e);
    if (e.op == Op::Realloc) {
      if (e.size == 0 && live.count(e.id) != 0) {
        live.erase(e.id);
      } else {
        live[e.id] = e.size;
      }
    }
    if (e.op == Op::Free) live.erase(e.id);
  }
  std::set<std::int64_t> touched;
  for (std::size_t i = start; i < start + len; ++i) {
    if (live.count(t.events[i].id) != 0) touched.insert(t.events[i].id);
  }
  RunCase c;
  for (const std::int64_t id : touched) {
    c.trace.push_back(Event{.op = Op::Malloc, .id = id, .size = std::min(live[id], kMaxCaseSize)});
  }
  // The window cut into PPR instances of `every` operations, a stretch of sequential code now
  // and then between them.
  const std::uint64_t every = rng.between(1, 16);
  std::uint64_t in_instance = 0;
  bool inside = false;
  for (std::size_t i = start; i < start + len; ++i) {
    if (!inside) {
      inside = rng.chance(3, 4);
      if (inside) c.trace.push_back(Event{.op = Op::PprBegin});
    }
    Event e = t.events[i];
    if (sized(e.op)) e.size = std::min(e.size, kMaxCaseSize);
    c.trace.push_back(e);
    if (++in_instance == every) {
      in_instance = 0;
      if (inside) c.trace.push_back(Event{.op = Op::PprEnd});
      inside = false;
    }
  }
  c.group_size = static_cast<int>(rng.between(2, 8));
  c.seed = rng.between(1, 1000);
  c.understudy = static_cast<UnderstudyMode>(rng.below(3));
  normalize_case(c);
  return c;
}

RunCase mutate_case(const RunCase& c, Prng& rng, int most, bool faults) {
  RunCase out = c;
  const int n = static_cast<int>(rng.between(1, static_cast<std::uint64_t>(std::max(1, most))));
  for (int i = 0; i < n; ++i) mutate_once(out, rng, faults);
  normalize_case(out);
  return out;
}

void normalize_case(RunCase& c) {
  std::map<std::int64_t, std::uint64_t> live;
  std::vector<Event> out;
  out.reserve(c.trace.size() + 8);
  bool inside = false;
  auto close = [&] {
    if (!inside) return;
    if (!out.empty() && out.back().op == Op::PprBegin) {
      out.pop_back();  // no empty instances
    } else {
      out.push_back(Event{.op = Op::PprEnd});
    }
    inside = false;
  };
  for (const Event& e : c.trace) {
    switch (e.op) {
      case Op::PprBegin:
        close();
        out.push_back(e);
        inside = true;
        break;
      case Op::PprEnd: close(); break;
      case Op::Malloc:
      case Op::Calloc:
      case Op::Memalign:
        if (live.count(e.id) != 0 || e.id < 0) break;
        live[e.id] = request_of(e);
        out.push_back(e);
        break;
      case Op::Realloc:
        if (e.id < 0) break;
        if (e.size == 0 && live.count(e.id) != 0) {
          live.erase(e.id);
        } else if (e.size != 0) {
          live[e.id] = e.size;
        } else {
          break;  // realloc(NULL, 0)
        }
        out.push_back(e);
        break;
      case Op::Free:
        if (e.id >= 0 && live.erase(e.id) == 0) break;
        out.push_back(e);
        break;
      case Op::Write:
      case Op::Use: {
        const auto it = live.find(e.id);
        if (it == live.end() || e.size == 0 || e.offset + e.size > it->second) break;
        out.push_back(e);
        break;
      }
    }
  }
  close();
  for (const auto& [id, size] : live) out.push_back(Event{.op = Op::Free, .id = id});
  for (std::size_t i = 0; i < out.size(); ++i) out[i].line = static_cast<std::uint32_t>(i + 2);
  c.trace = std::move(out);
}

}  // namespace pprsim
