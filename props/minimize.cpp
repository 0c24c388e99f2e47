#include "props/minimize.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "sim/trace_cut.h"

namespace pprsim {

std::vector<FindingKind> failure_kinds(const RunStats& s, const FailureRules& rules) {
  std::vector<FindingKind> out = s.findings.falsifying_kinds();
  if (rules.all_freed_at_end && s.failure.empty() && s.final_live_blocks != 0) {
    out.push_back(FindingKind::LeftHandedOut);
    std::sort(out.begin(), out.end());
  }
  return out;
}

namespace {

bool creates(const Event& e) { return e.op == Op::Malloc || e.op == Op::Calloc || e.op == Op::Memalign; }

}  // namespace

std::vector<Event> repair_trace(const std::vector<Event>& trace, bool free_all_at_end) {
  std::vector<Event> out;
  out.reserve(trace.size());
  std::unordered_map<std::int64_t, std::uint64_t> live;  // id -> size
  std::vector<std::int64_t> born;                        // ids in order of creation
  bool inside = false;
  auto create = [&](std::int64_t id, std::uint64_t size) {
    live[id] = size;
    born.push_back(id);
  };
  for (const Event& e : trace) {
    switch (e.op) {
      case Op::PprBegin:
        if (inside) continue;
        inside = true;
        break;
      case Op::PprEnd:
        if (!inside) continue;
        inside = false;
        break;
      case Op::Malloc:
      case Op::Calloc:
      case Op::Memalign:
        if (e.id < 0 || live.count(e.id) != 0) continue;
        create(e.id, requested_bytes(e));
        break;
      case Op::Realloc: {
        if (e.id < 0) continue;
        const auto it = live.find(e.id);
        if (it == live.end()) {
          create(e.id, e.size);  // realloc(NULL, size)
        } else if (e.size == 0) {
          live.erase(it);
        } else {
          it->second = e.size;
        }
        break;
      }
      case Op::Free:
        if (e.id == -1) break;
        if (live.erase(e.id) == 0) continue;
        break;
      case Op::Write:
      case Op::Use: {
        const auto it = live.find(e.id);
        if (it == live.end() || e.offset >= it->second) continue;
        Event clamped = e;
        clamped.size = std::min(e.size, it->second - e.offset);
        if (clamped.size == 0) continue;
        out.push_back(clamped);
        continue;
      }
    }
    out.push_back(e);
  }
  if (inside) out.push_back(Event{.op = Op::PprEnd});
  if (free_all_at_end) {
    for (const std::int64_t id : born) {
      if (live.erase(id) != 0) out.push_back(Event{.op = Op::Free, .id = id});
    }
  }
  return out;
}

std::vector<Event> fresh_ids(const std::vector<Event>& trace) {
  std::vector<Event> out = trace;
  std::unordered_map<std::int64_t, std::int64_t> live;  // id in the trace -> fresh id
  std::int64_t next = 0;
  for (Event& e : out) {
    if (!is_operation(e.op) || (e.op == Op::Free && e.id == -1)) continue;
    const auto it = live.find(e.id);
    if (creates(e) || (e.op == Op::Realloc && it == live.end())) {
      live[e.id] = next;
      e.id = next++;
      continue;
    }
    if (it == live.end()) {
      e.id = -2;  // not live: repair_trace drops it
      continue;
    }
    e.id = it->second;
    if (e.op == Op::Free || (e.op == Op::Realloc && e.size == 0)) live.erase(it);
  }
  return out;
}

std::vector<Event> with_ppr_markers(const std::vector<Event>& trace, std::uint64_t ppr_every) {
  std::vector<Event> out;
  out.reserve(trace.size() + trace.size() / std::max<std::uint64_t>(ppr_every, 1) * 2 + 2);
  bool inside = false;
  PprEvery every(ppr_every);  // the replay's rule
  for (const Event& e : trace) {
    if (!is_operation(e.op)) continue;
    if (!inside) {
      out.push_back(Event{.op = Op::PprBegin});
      inside = true;
    }
    out.push_back(e);
    if (every.ends_instance(e)) {
      out.push_back(Event{.op = Op::PprEnd});
      inside = false;
    }
  }
  if (inside) out.push_back(Event{.op = Op::PprEnd});
  return out;
}

namespace {

using Units = std::vector<std::vector<std::size_t>>;  // each unit: indices of its events

// Top-level pieces in trace order: every PPR instance (markers included) and every event
// outside one.
Units top_units(const std::vector<Event>& t) {
  Units u;
  bool inside = false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!inside) u.emplace_back();
    u.back().push_back(i);
    if (t[i].op == Op::PprBegin) inside = true;
    if (t[i].op == Op::PprEnd) inside = false;
  }
  return u;
}

Units instance_units(const std::vector<Event>& t) {
  Units u;
  for (auto& top : top_units(t)) {
    if (t[top.front()].op == Op::PprBegin) u.push_back(std::move(top));
  }
  return u;
}

// Consecutive instances in chunks of g, as replay forms its groups (an event outside any
// instance closes the group).
Units group_units(const std::vector<Event>& t, int g) {
  Units u;
  int in_group = 0;
  for (auto& top : top_units(t)) {
    if (t[top.front()].op != Op::PprBegin) {
      in_group = 0;
      continue;
    }
    if (in_group == 0) u.emplace_back();
    u.back().insert(u.back().end(), top.begin(), top.end());
    if (++in_group == g) in_group = 0;
  }
  return u;
}

// Every incarnation of an object: its creation and every event on it until it dies.
Units lifetime_units(const std::vector<Event>& t) {
  Units u;
  std::unordered_map<std::int64_t, std::size_t> live;  // id -> unit
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Event& e = t[i];
    if (!is_operation(e.op) || e.id < 0) continue;
    const auto it = live.find(e.id);
    if (it == live.end()) {
      if (creates(e) || e.op == Op::Realloc) {
        live[e.id] = u.size();
        u.push_back({i});
      }
      continue;
    }
    u[it->second].push_back(i);
    if (e.op == Op::Free || (e.op == Op::Realloc && e.size == 0)) live.erase(it);
  }
  return u;
}

Units event_units(const std::vector<Event>& t) {
  Units u;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (is_operation(t[i].op)) u.push_back({i});
  }
  return u;
}

// Each ppr/end pair: removing it turns the instance's events into sequential ones.
Units marker_units(const std::vector<Event>& t) {
  Units u;
  for (auto& top : top_units(t)) {
    if (t[top.front()].op == Op::PprBegin) u.push_back({top.front(), top.back()});
  }
  return u;
}

std::size_t operations(const std::vector<Event>& t) {
  return static_cast<std::size_t>(std::count_if(t.begin(), t.end(), [](const Event& e) { return is_operation(e.op); }));
}

// Smaller variants of one event (sizes halved, offsets moved towards 0), most aggressive first.
std::vector<Event> smaller(const Event& e) {
  std::vector<Event> v;
  auto with = [&](auto change) {
    Event s = e;
    change(s);
    v.push_back(s);
  };
  switch (e.op) {
    case Op::Calloc:
      if (e.count > 1) with([](Event& s) { s.count = 1; });
      if (e.size > 0) with([](Event& s) { s.size /= 2; });
      break;
    case Op::Memalign:
      if (e.size > 0) with([](Event& s) { s.size /= 2; });
      if (e.align > 1) with([](Event& s) { s.align /= 2; });
      break;
    case Op::Malloc:
    case Op::Realloc:
      if (e.size > 0) with([](Event& s) { s.size /= 2; });
      break;
    case Op::Write:
    case Op::Use:
      if (e.offset > 0) with([](Event& s) { s.offset /= 2; });
      if (e.size > 1) with([](Event& s) { s.size /= 2; });
      break;
    default:
      break;
  }
  return v;
}

class Minimizer {
 public:
  Minimizer(const std::function<bool(const std::vector<Event>&)>& still_fails, const MinimizeOptions& opt)
      : still_fails_(still_fails), opt_(opt) {}

  MinimizeResult run(std::vector<Event> trace) {
    for (Event& e : trace) e.line = 0;  // the test numbers the lines as the written trace has them
    cur_ = repair_trace(trace, opt_.free_all_at_end);
    if (!test(cur_)) return {std::move(cur_), tests_, false, false};
    const std::vector<Event> renamed = repair_trace(fresh_ids(cur_), opt_.free_all_at_end);
    if (renamed != cur_ && test(renamed)) cur_ = renamed;
    prefix();
    bool changed = true;
    while (changed && !out_of_budget()) {
      changed = false;
      if (opt_.group_size > 1) {
        changed |= chunks("groups", [g = opt_.group_size](const std::vector<Event>& t) { return group_units(t, g); });
      }
      changed |= chunks("instances", instance_units);
      changed |= chunks("lifetimes", lifetime_units);
      changed |= chunks("events", event_units);
      changed |= chunks("markers", marker_units);
      changed |= sizes();
    }
    return {std::move(cur_), tests_, true, !out_of_budget()};
  }

 private:
  bool out_of_budget() const { return opt_.max_tests != 0 && tests_ >= opt_.max_tests; }

  bool test(const std::vector<Event>& t) {
    if (out_of_budget()) return false;
    ++tests_;
    return still_fails_(t);
  }

  void report(std::string_view pass) {
    if (opt_.progress) opt_.progress(MinimizeProgress{pass, operations(cur_), tests_});
  }

  // Takes `cand` when it is smaller than the current trace and still fails. Smaller is fewer
  // events or, as many, smaller numbers: every step shrinks, so the passes cannot cycle (a
  // repair moves a removed free to the end without shrinking anything).
  bool accept(std::vector<Event> cand) {
    cand = repair_trace(cand, opt_.free_all_at_end);
    if (!smaller_than_current(cand) || !test(cand)) return false;
    cur_ = std::move(cand);
    return true;
  }

  static std::uint64_t magnitude(const std::vector<Event>& t) {
    // Saturates: every field is at most 2^40, but a long trace could add up past 2^64.
    std::uint64_t m = 0;
    for (const Event& e : t) {
      for (const std::uint64_t v : {e.size, e.count, e.align, e.offset}) m = v > ~m ? ~std::uint64_t{0} : m + v;
    }
    return m;
  }

  bool smaller_than_current(const std::vector<Event>& cand) const {
    if (cand.size() != cur_.size()) return cand.size() < cur_.size();
    return magnitude(cand) < magnitude(cur_);
  }

  std::vector<Event> without(const Units& units, std::size_t from, std::size_t to) const {
    std::vector<char> drop(cur_.size(), 0);
    for (std::size_t i = from; i < to; ++i) {
      for (const std::size_t k : units[i]) drop[k] = 1;
    }
    std::vector<Event> out;
    out.reserve(cur_.size());
    for (std::size_t i = 0; i < cur_.size(); ++i) {
      if (drop[i] == 0) out.push_back(cur_[i]);
    }
    return out;
  }

  // The shortest prefix (in top-level pieces) that still fails, by bisection: on a long trace
  // this cuts everything after the failure in a logarithmic number of tests.
  void prefix() {
    report("prefix");
    const Units top = top_units(cur_);
    std::size_t lo = 0, hi = top.size();
    std::vector<Event> best;
    while (hi - lo > 1 && !out_of_budget()) {
      const std::size_t mid = lo + (hi - lo) / 2;
      std::vector<Event> cand = repair_trace(without(top, mid, top.size()), opt_.free_all_at_end);
      if (test(cand)) {
        hi = mid;
        best = std::move(cand);
      } else {
        lo = mid;
      }
    }
    if (!best.empty()) cur_ = std::move(best);
  }

  // Removes chunks of units, from half of them down to one at a time (ddmin's complements).
  template <class UnitsOf>
  bool chunks(std::string_view pass, UnitsOf units_of) {
    report(pass);
    bool changed = false;
    Units units = units_of(cur_);
    std::size_t chunk = std::max<std::size_t>(1, units.size() / 2);
    while (!out_of_budget()) {
      std::size_t i = 0;
      while (i < units.size() && !out_of_budget()) {
        const std::size_t end = std::min(units.size(), i + chunk);
        if (accept(without(units, i, end))) {
          changed = true;
          units = units_of(cur_);
          report(pass);
        } else {
          i = end;
        }
      }
      if (chunk == 1) break;
      chunk = std::max<std::size_t>(1, chunk / 2);
    }
    return changed;
  }

  bool sizes() {
    report("sizes");
    bool changed = false;
    for (std::size_t i = 0; i < cur_.size() && !out_of_budget(); ++i) {
      bool again = true;
      while (again && i < cur_.size() && !out_of_budget()) {
        again = false;
        for (const Event& s : smaller(cur_[i])) {
          std::vector<Event> cand = cur_;
          cand[i] = s;
          if (accept(std::move(cand))) {
            changed = again = true;
            report("sizes");
            break;
          }
        }
      }
    }
    return changed;
  }

  const std::function<bool(const std::vector<Event>&)>& still_fails_;
  const MinimizeOptions& opt_;
  std::vector<Event> cur_;
  std::uint64_t tests_ = 0;
};

}  // namespace

MinimizeResult minimize_trace(std::vector<Event> trace,
                              const std::function<bool(const std::vector<Event>&)>& still_fails,
                              const MinimizeOptions& opt) {
  return Minimizer(still_fails, opt).run(std::move(trace));
}

}  // namespace pprsim
