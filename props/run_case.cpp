#include "props/run_case.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "sim/run_json.h"
#include "traces/trace_reader.h"
#include "traces/trace_writer.h"

namespace pprsim {

namespace {

rc::Gen<Swarm> gen_swarm() {
  return rc::gen::apply(
      [](std::uint32_t kinds, int pick, int sizes, bool hops) {
        Swarm w;
        w.kinds = kinds | (1u << GenOp::Malloc);
        w.pick = static_cast<Swarm::Pick>(pick);
        w.sizes = static_cast<Swarm::Sizes>(sizes);
        w.class_hops = hops;
        return w;
      },
      // Shrinks towards every kind enabled, uniform picks, mixed sizes: the plain generator.
      rc::gen::weightedOneOf<std::uint32_t>(
          {{1, rc::gen::just(~0u)}, {2, rc::gen::resize(100, rc::gen::inRange<std::uint32_t>(0, 1u << GenOp::kKinds))}}),
      rc::gen::weightedElement<int>({{2, 0}, {2, 1}, {1, 2}, {5, 3}}), rc::gen::weightedElement<int>({{3, 0}, {2, 1}, {1, 2}}),
      rc::gen::arbitrary<bool>());
}

// Sizes at the edges of size classes (a block's usable bytes exactly, one less, one more), where
// copies, splits and usable sizes go wrong: a power of two, or one and a quarter, a half or three
// quarters of one (comalloc's bins split each doubling in four, and dmmalloc's classes can:
// dm::kPerDoublingLog), less a 16-byte header.
rc::Gen<std::uint64_t> gen_boundary_size() {
  return rc::gen::apply(
      [](int shift, int quarters, int delta) {
        const std::int64_t pow = std::int64_t{1} << shift;
        return static_cast<std::uint64_t>(pow + quarters * (pow / 4) - 16 + delta);
      },
      rc::gen::resize(100, rc::gen::inRange(5, 19)), rc::gen::element(0, 1, 2, 3), rc::gen::element(-1, 0, 1));
}

rc::Gen<std::uint64_t> gen_size() {
  return rc::gen::weightedOneOf<std::uint64_t>({
      {3, gen_boundary_size()},
      {12, rc::gen::inRange<std::uint64_t>(0, 64)},
      {6, rc::gen::inRange<std::uint64_t>(64, 2048)},
      {2, rc::gen::inRange<std::uint64_t>(2048, 40000)},
      {1, rc::gen::inRange<std::uint64_t>(130000, 262128)},  // dmmalloc's largest class
      {1, rc::gen::inRange<std::uint64_t>(262129, 400000)},  // above it: system memory directly
  });
}

// Not traces/generator, by necessity: RapidCheck must shrink every drawn operation on its own,
// and traces/generator's one Prng stream gives a trace that cannot be shrunk without rerolling.
rc::Gen<GenOp> gen_op() {
  return rc::gen::apply(
      [](int kind, std::uint64_t size, std::uint32_t pick, std::uint32_t aux) {
        GenOp op;
        op.kind = static_cast<GenOp::Kind>(kind);
        op.size = size;
        op.pick = pick;
        op.aux = aux;
        return op;
      },
      rc::gen::weightedElement<int>({{8, GenOp::Malloc},
                                     {1, GenOp::Calloc},
                                     {1, GenOp::Memalign},
                                     {3, GenOp::Realloc},
                                     {6, GenOp::Free},
                                     {3, GenOp::Write},
                                     {3, GenOp::Use},
                                     {1, GenOp::Burst}}),
      gen_size(), rc::gen::inRange<std::uint32_t>(0, 1000), rc::gen::inRange<std::uint32_t>(0, 1000));
}

struct Interpreter {
  Swarm swarm;
  std::vector<Event> out;
  std::vector<std::pair<std::int64_t, std::uint64_t>> live;  // id, size (ordered by creation)
  std::int64_t next_id = 0;
  std::int64_t recent = -1;  // the id the last operation on an object touched
  std::uint32_t line = 1;

  void emit(Event e) {
    e.line = ++line;
    out.push_back(e);
  }
  // Which live object an op means: any, one of the oldest (made before the group or by an
  // earlier task), one of the newest (the task's own), or mostly the one touched last.
  std::size_t choose(std::uint32_t pick) {
    const std::size_t n = live.size();
    std::size_t k = pick % n;
    switch (swarm.pick) {
      case Swarm::Pick::Oldest: k = pick % std::min<std::size_t>(n, 2); break;
      case Swarm::Pick::Newest: k = n - 1 - pick % std::min<std::size_t>(n, 3); break;
      case Swarm::Pick::Recent: {
        const auto it = std::find_if(live.begin(), live.end(), [&](const auto& o) { return o.first == recent; });
        if (it != live.end() && pick % 4 != 0) k = static_cast<std::size_t>(it - live.begin());
        break;
      }
      case Swarm::Pick::Any: break;
    }
    recent = live[k].first;
    return k;
  }
  void create(Event e, std::uint64_t size) {
    e.id = next_id;
    emit(e);
    live.emplace_back(next_id++, size);
  }
  void run(GenOp op) {
    if (!swarm.enabled(op.kind)) return;
    op.size = swarm.size(op.size);
    const std::size_t n = live.size();
    switch (op.kind) {
      case GenOp::Malloc:
        create({.op = Op::Malloc, .size = op.size}, op.size);
        break;
      case GenOp::Burst:
        // Many blocks of one class in a row: a task's partition runs out mid-task.
        for (std::uint32_t i = 0; i < 2 + op.aux % 12; ++i) create({.op = Op::Malloc, .size = op.size}, op.size);
        break;
      case GenOp::Calloc: {
        const std::uint64_t count = 1 + op.aux % 8;
        const std::uint64_t size = op.size / count;
        create({.op = Op::Calloc, .size = size, .count = count}, count * size);
        break;
      }
      case GenOp::Memalign: {
        const std::uint64_t align = std::uint64_t{1} << (op.aux % 13);
        create({.op = Op::Memalign, .size = op.size, .align = align}, op.size);
        break;
      }
      case GenOp::Realloc:
        if (n == 0) {
          // realloc(NULL, n) is malloc(n), also for n == 0.
          create({.op = Op::Realloc, .size = op.size}, op.size);
        } else {
          const std::size_t k = choose(op.pick);
          auto& [id, size] = live[k];
          std::uint64_t to = op.size;
          if (swarm.class_hops && size != 0) {
            to = op.aux % 2 == 0 && 2 * size + 1 <= kMaxCaseSize ? 2 * size + 1 : size / 2;
          } else if (op.aux % 4 == 0) {
            // Just past the end: over a class edge if it sat on one.
            to = std::min(size + 1 + op.size % 16, kMaxCaseSize);
          }
          emit({.op = Op::Realloc, .id = id, .size = to});
          if (to == 0) {
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
          } else {
            size = to;
          }
        }
        break;
      case GenOp::Free:
        if (n == 0) {
          emit({.op = Op::Free, .id = -1});
        } else {
          const std::size_t k = choose(op.pick);
          emit({.op = Op::Free, .id = live[k].first});
          live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
        }
        break;
      case GenOp::Write:
      case GenOp::Use: {
        if (n == 0) break;
        const auto& [id, size] = live[choose(op.pick)];
        if (size == 0) break;
        const std::uint64_t off = op.aux % size;
        const std::uint64_t len = 1 + op.size % (size - off);
        emit({.op = op.kind == GenOp::Write ? Op::Write : Op::Use, .id = id, .size = len, .offset = off});
        break;
      }
      case GenOp::kKinds:
        break;
    }
  }
};

// True when no object is live at the end of the trace.
bool frees_everything(const std::vector<Event>& trace) {
  std::unordered_set<std::int64_t> live;
  for (const Event& e : trace) {
    switch (e.op) {
      case Op::Malloc:
      case Op::Calloc:
      case Op::Memalign: live.insert(e.id); break;
      case Op::Realloc:
        // realloc(NULL, n) of an id not live is malloc(n); realloc(p, 0) frees p.
        if (!live.insert(e.id).second && e.size == 0) live.erase(e.id);
        break;
      case Op::Free: live.erase(e.id); break;
      default: break;
    }
  }
  return live.empty();
}

}  // namespace

std::uint64_t RunCase::operations() const {
  return static_cast<std::uint64_t>(
      std::count_if(trace.begin(), trace.end(), [](const Event& e) { return is_operation(e.op); }));
}

rc::Gen<RunCase> gen_run_case(RunCaseOptions opt) {
  auto gen_faults = [opt]() -> rc::Gen<FaultPlan> {
    if (!opt.with_faults) return rc::gen::just(opt.fixed_faults);
    auto p = rc::gen::weightedOneOf<std::uint32_t>(
        {{3, rc::gen::just<std::uint32_t>(0)}, {1, rc::gen::inRange<std::uint32_t>(0, FaultPlan::kOne / 3)}});
    return rc::gen::apply(
        [](std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d, std::uint32_t e) {
          return FaultPlan{a, b, c, d, e};
        },
        p, p, p, p, p);
  };
  return rc::gen::apply(
      [](Swarm swarm, std::vector<GenOp> prologue, std::vector<std::vector<GenOp>> instances, int g,
         std::uint64_t seed, int understudy, FaultPlan faults) {
        return assemble_run_case(prologue, instances, g, seed, static_cast<UnderstudyMode>(understudy), faults,
                                 swarm);
      },
      gen_swarm(),
      // Sizes scaled so that a case stays a few hundred events: shrinking then has little to
      // cut, and a thousand cases take seconds.
      rc::gen::scale(0.3, rc::gen::container<std::vector<GenOp>>(gen_op())),
      rc::gen::scale(0.25, rc::gen::container<std::vector<std::vector<GenOp>>>(
                               rc::gen::scale(1.2, rc::gen::container<std::vector<GenOp>>(gen_op())))),
      // Group sizes over the whole range even in the smallest cases (inRange scales with size).
      rc::gen::resize(100, rc::gen::inRange(1, 9)), rc::gen::inRange<std::uint64_t>(1, 1000),
      rc::gen::element<int>(0, 1, 2), gen_faults());
}

RunCase assemble_run_case(const std::vector<GenOp>& prologue, const std::vector<std::vector<GenOp>>& instances,
                          int group_size, std::uint64_t seed, UnderstudyMode understudy, const FaultPlan& faults,
                          const Swarm& swarm) {
  Interpreter in;
  in.swarm = swarm;
  for (const GenOp& op : prologue) in.run(op);
  for (const auto& inst : instances) {
    in.emit({.op = Op::PprBegin});
    for (const GenOp& op : inst) in.run(op);
    in.emit({.op = Op::PprEnd});
  }
  for (const auto& [id, size] : in.live) in.emit({.op = Op::Free, .id = id});
  RunCase c;
  c.trace = std::move(in.out);
  c.group_size = group_size;
  c.seed = seed;
  c.understudy = understudy;
  c.faults = faults;
  return c;
}

std::string trace_text(const RunCase& c) {
  std::ostringstream os;
  TraceWriter w(os);
  for (const Event& e : c.trace) w.write(e);
  return os.str();
}

RunStats run_case(const RunCase& c, const std::string& allocator) {
  std::istringstream in(trace_text(c));
  auto reader = read_native(in, "case.trace");
  ReplayConfig cfg;
  cfg.allocator = allocator;
  cfg.group_size = c.group_size;
  cfg.seed = c.seed;
  cfg.understudy = c.understudy;
  cfg.faults = c.faults;
  cfg.check_every = kCaseCheckEvery;
  return replay(*reader, cfg);
}

std::string replay_command(const RunCase& c, const std::string& allocator, const std::string& trace_path) {
  std::string cmd = fmt::format("pprsim replay {} --alloc {} --group-size {} --seed {} --understudy {}", trace_path,
                                allocator, c.group_size, c.seed, understudy_name(c.understudy));
  if (c.faults.any()) cmd += " --faults " + c.faults.to_string();
  return cmd + fmt::format(" --check-every {}", kCaseCheckEvery);
}

std::vector<std::string> violations(const RunCase& c, const RunStats& s, const std::string& allocator,
                                    bool replay_again) {
  std::vector<std::string> v;
  if (!s.failure.empty()) v.push_back("a request failed or the run stopped: " + s.failure);
  for (const FindingKind k : s.findings.falsifying_kinds()) {
    if (finding_info(k).stops) continue;  // its words are the failure's, above
    std::string first;
    if (k == FindingKind::AllocatorInduced && !s.conflicts.empty()) first = s.conflicts.front().what;
    for (const Finding* f : s.problems()) {
      if (first.empty() && f->kind == k) first = f->text;
    }
    v.push_back(fmt::format("{} ({}){}", finding_info(k).name, s.count(k), first.empty() ? "" : ", first: " + first));
  }
  if (s.failure.empty() && s.events != c.operations()) {
    v.push_back(fmt::format("{} events replayed, the trace has {}", s.events, c.operations()));
  }
  // Only a trace that frees every object it made may leave no block handed out (a minimized
  // counterexample may have lost its trailing frees).
  if (s.failure.empty() && s.final_live_blocks != 0 && frees_everything(c.trace)) {
    v.push_back(fmt::format("{} blocks still handed out after every object was freed", s.final_live_blocks));
  }
  if (replay_again) {
    auto a = run_to_json(s);
    auto b = run_to_json(run_case(c, allocator));
    a.erase("seconds");
    b.erase("seconds");
    if (a != b) v.push_back("the same seed gave a different run");
  }
  return v;
}

void showValue(const RunCase& c, std::ostream& os) {
  os << "group size " << c.group_size << ", seed " << c.seed << ", understudy " << understudy_name(c.understudy);
  if (c.faults.any()) os << ", faults " << c.faults.to_string();
  os << "\n" << trace_text(c);
}

}  // namespace pprsim
