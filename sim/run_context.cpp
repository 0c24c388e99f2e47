#include "sim/run_context.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "sim/executor.h"
#include "sim/native_engine.h"
#include "sim/sim_allocator.h"

namespace pprsim {

namespace {

// PPRSIM_PARANOID=1 in the environment switches the paranoid check level on for every run.
bool paranoid_from_environment() {
  const char* v = std::getenv("PPRSIM_PARANOID");
  return v != nullptr && std::string_view(v) == "1";
}

// The engine the allocator's name asks for, MAIN with its allocator made.
std::unique_ptr<Engine> make_engine(const ReplayConfig& cfg) {
  const std::uint64_t slice = round_up(cfg.task_slice, kPageSize);
  if (std::string_view(cfg.allocator).starts_with(kNativePrefix)) {
    return make_native_engine(std::string_view(cfg.allocator).substr(kNativePrefix.size()), cfg.memory_limit, slice);
  }
  std::unique_ptr<Engine> e = make_sim_engine(cfg.memory_limit, slice);
  e->main().alloc = make_allocator(cfg.allocator, e->main().mem);
  return e;
}

const ReplayConfig& checked(const ReplayConfig& cfg) {
  if (cfg.group_size < 1 || cfg.group_size > 64) {
    throw std::invalid_argument(fmt::format("group size {} is outside 1..64", cfg.group_size));
  }
  return cfg;
}

}  // namespace

std::string Actor::suffix() const {
  if (kind == Kind::Understudy) return " in the understudy";
  if (kind == Kind::Task) return fmt::format(" in task {}", task);
  return "";
}

RunContext::RunContext(const ReplayConfig& config, LostSearch* lost_search)
    : cfg(checked(config)),
      search(lost_search),
      sched(Prng::derive(cfg.seed, "scheduler")),
      faults(Prng::derive(cfg.seed, "faults")),
      paranoid(cfg.paranoid || paranoid_from_environment()),
      engine(make_engine(cfg)),
      pacer(cfg.check_every, cfg.full_check_every),
      sample(cfg.max_conflict_details),
      recorder(cfg.record_report) {
  Process& m = main();
  m.mem.set_coverage(&st.coverage);
  if (cfg.faults.oom != 0 || cfg.faults.pressure != 0) {
    // Requests made for a group (the carve, growth inside a task) may be refused; with pressure,
    // the first of a sequential call too.
    m.sys.set_refuse([this](std::uint64_t) {
      if (for_group) return inject(cfg.faults.oom);
      if (!pressure_armed || !inject(cfg.faults.pressure)) return false;
      pressure_armed = false;
      pressure_refused = true;
      return true;
    });
  }
}

void RunContext::run_seq(const Event& e) {
  Process& m = main();
  where = {{}, e.line, Actor::main(), e.op};
  if (e.id >= 0) ensure_handle(m, e.id);
  pressure_armed = is_allocator_op(e.op);
  pressure_refused = false;
  StepOutcome out = engine->execute(m, e);
  pressure_armed = false;
  if (out.status == StepStatus::OutOfMemory && pressure_refused) {
    // The refusal was the injected pressure's: the program asks once more, and is served.
    ++st.pressure_retries;
    out = engine->execute(m, e);
  }
  if (is_allocator_op(e.op)) verify_allocator(m, call_name(e.op), e.line, Actor::main());
  switch (out.status) {
    case StepStatus::Done: break;
    case StepStatus::OutOfMemory: throw RunFailure{out.detail, StopKind::RequestFailed};
    case StepStatus::BadResult: throw RunFailure{out.detail, StopKind::BadResult};
    case StepStatus::GaveUp:
      throw RunFailure{fmt::format("the allocator gave up outside a task at line {}", e.line), StopKind::RequestFailed};
    case StepStatus::Stale:
      throw RunFailure{fmt::format("object {} is not what line {} expects in the committed heap", e.id, e.line),
                       StopKind::HeapCheck};
  }
  st.peak_system_bytes = std::max(st.peak_system_bytes, m.sys.in_use());
}

void RunContext::verify_allocator(Process& p, std::string_view call, std::uint32_t line, Actor who) {
  if (!paranoid) return;
  const Process::Untracked quiet(p);
  const std::string broken = p.alloc->verify();
  if (!broken.empty()) {
    throw RunFailure{fmt::format("paranoid check after {} at line {}{}: {}", call, line, who.suffix(), broken),
                     StopKind::Invariant};
  }
}

void RunContext::check(bool final) {
  Process& m = main();
  where = {"", 0, Actor::heap_check()};
  ++st.heap_checks;
  HeapCheck c;
  if (pacer.start_check(final, m.objects.size())) {
    ++st.full_heap_checks;
    c = oracle.check_all(m, model);
    st.final_live_blocks = c.live_blocks;
    pacer.full_check_read(c.live_bytes);
    if (c.findings.count(FindingKind::LostBlock) == 0) {
      clean_full_groups = st.groups;
    } else if (st.lost_since_group < 0) {
      st.lost_since_group = static_cast<std::int64_t>(clean_full_groups);
      st.lost_found_group = static_cast<std::int64_t>(st.groups);
    }
  } else {
    c = oracle.check_changes(m, model);
  }
  if (c.ok()) return;
  if (st.first_failing_group < 0 && st.groups > 0) st.first_failing_group = static_cast<std::int64_t>(st.groups - 1);
  // Groups are numbered from 0, as in the conflict report and the timeline.
  st.findings.take(std::move(c.findings), SIZE_MAX, static_cast<std::int64_t>(st.groups) - 1);
  throw RunFailure{st.groups == 0 ? std::string("the heap check before the first group failed; the run stops here")
                                  : fmt::format("the heap check after group {} failed; the run stops here",
                                                st.groups - 1),
                   StopKind::HeapCheck};
}

void RunContext::finish_group(const std::vector<Instance>& instances) {
  for (const Instance& in : instances) {
    for (const Event& e : in) {
      model.apply(e);
      if (e.id >= 0) oracle.touch(e.id);
      pacer.group_event();
    }
  }
  check(false);
}

bool RunContext::searching() const {
  return search != nullptr && st.groups >= search->from_group && st.groups <= search->to_group;
}

void RunContext::look_for_lost(const std::string& stage) {
  const HeapCheck c = check_census(main());
  for (const HeapCheck::Block& b : c.lost) {
    if (std::find(search->known.begin(), search->known.end(), b.start) != search->known.end()) continue;
    search->known.push_back(b.start);
    search->found.push_back({b.start, b.size, stage});
  }
}

void RunContext::look_in_sequential_code() {
  if (seq_from_line != 0 && searching()) {
    look_for_lost(fmt::format("in sequential code, lines {} to {}", seq_from_line, seq_to_line));
  }
  seq_from_line = 0;
}

void RunContext::record(Conflict c) {
  st.findings.tally(c.cls == Conflict::Class::AllocatorInduced ? FindingKind::AllocatorInduced
                                                               : FindingKind::TrueDependence);
  if (c.cls == Conflict::Class::AllocatorInduced && st.first_failing_group < 0) st.first_failing_group = c.group;
  sample.add(std::move(c));
}

std::uint64_t RunContext::conflicts_found() const {
  return st.count(FindingKind::AllocatorInduced) + st.count(FindingKind::TrueDependence);
}

std::string RunContext::where_text() const {
  if (where.who.kind == Actor::Kind::HeapCheck) {
    return st.groups == 0 ? std::string("during the heap check before the first group")
                          : fmt::format("during the heap check after group {}", st.groups - 1);
  }
  return fmt::format("at line {}{}", where.line, where.who.suffix());
}

void RunContext::stop(StopKind kind, std::string why) {
  st.stop = kind;
  st.failure = std::move(why);
  if (kind == StopKind::HeapCheck && st.findings.heap_wrong()) return;
  const FindingKind k = kind == StopKind::RequestFailed ? FindingKind::RequestFailed
                        : kind == StopKind::BadResult   ? FindingKind::BadResult
                        : kind == StopKind::Fault       ? FindingKind::Fault
                        : kind == StopKind::Crash       ? FindingKind::Crashed
                        : kind == StopKind::Hang        ? FindingKind::Hung
                        : kind == StopKind::Invariant   ? FindingKind::InvariantBroken
                                                        : FindingKind::Stopped;
  const bool in_check = where.who.kind == Actor::Kind::HeapCheck;
  st.findings.add({.kind = k,
                   .group = in_group >= 0 ? in_group : -1,
                   .task = where.who.task,
                   .line = in_check ? 0 : where.line,
                   .text = st.failure},
                  1, SIZE_MAX);
}

}  // namespace pprsim
