// pprsim bench: native replay speed and memory of real allocators on traces, and (--sim) the
// simulator's speed against native replay of the same allocator.
//
// Each measurement runs in a child process of its own (this binary, re-executed as the hidden
// `bench-child` command, with LD_PRELOAD for a packaged allocator), so that allocators never
// share a heap. The parent compiles each trace once into a flat program that the child maps
// read-only. Rounds interleave the allocators (the order rotates each round); a child runs one
// untimed pass (footprint), then repetitions of enough passes to last --min-time; its figure is
// the median repetition. Ratios to glibc are taken within a round, then the median over rounds.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/json_text.h"
#include "sim/plugin_allocator.h"
#include "sim/replay.h"
#include "tools/bench_allocators.h"
#include "tools/bench_threads.h"
#include "tools/commands.h"
#include "tools/native_replay.h"
#include "traces/output_set.h"
#include "traces/trace_source.h"

extern char** environ;

namespace pprsim {

namespace {

using Json = nlohmann::ordered_json;

struct BenchOptions {
  std::vector<std::string> traces;
  std::string alloc = "all";
  std::vector<std::string> preload;  // NAME=LIBRARY
  std::vector<int> threads;          // --threads: thread counts of the multi-threaded workloads
  bool sim = false;
  // --sim-native NAME=SPEC: the native engine on SPEC against NAME's native replay (the same
  // allocator source uninstrumented), as the simulator is against its own.
  std::vector<std::string> sim_native;
  int group_size = 8;
  std::uint64_t ppr_every = 50;
  std::uint64_t seed = 1;
  int rounds = 3;
  int repetitions = 5;
  double min_time = 0.02;
  std::string json;
};

struct ChildOptions {
  int program_fd = -1;
  std::string workload;  // a multi-threaded workload instead of a trace program
  int threads = 1;
  std::string alloc;
  int repetitions = 5;
  double min_time = 0.02;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ---- The child. ----

// A multi-threaded workload: its calls per run, the seconds of each run, the peak resident growth.
int run_thread_child(const ChildOptions& opt, const MallocFunctions& alloc) {
  Json out;
  const std::uint64_t base_kib = status_kib("VmRSS");
  const ThreadRun r = run_thread_workload(opt.workload, opt.threads, opt.repetitions, alloc);
  const std::uint64_t peak_kib = status_kib("VmHWM");
  out["ok"] = r.ok;
  if (!r.ok) out["failure"] = r.failure;
  out["passes"] = 1;
  out["calls_per_pass"] = r.calls;
  out["seconds"] = r.seconds;
  out["footprint_bytes"] = peak_kib > base_kib ? (peak_kib - base_kib) * 1024 : 0;
  std::cout << json_text(out) << "\n";
  return r.ok ? 0 : 1;
}

int run_child(const ChildOptions& opt) {
  Json out;
  const auto alloc = native_allocator(opt.alloc);
  MappedProgram prog;
  std::string error;
  if (!alloc) {
    error = fmt::format("unknown allocator '{}'", opt.alloc);
  } else if (!opt.workload.empty()) {
    return run_thread_child(opt, *alloc);
  } else if (map_program(opt.program_fd, prog, error)) {
    const NativeRun r = run_native(prog.ops, prog.n_ops, prog.slots, *alloc, opt.repetitions, opt.min_time);
    out["ok"] = r.ok;
    if (!r.ok) out["failure"] = r.failure;
    out["passes"] = r.passes;
    out["calls_per_pass"] = r.calls_per_pass;
    out["seconds"] = r.seconds;
    out["footprint_bytes"] = r.footprint_bytes;
    std::cout << json_text(out) << "\n";
    return r.ok ? 0 : 1;
  }
  out["ok"] = false;
  out["failure"] = error;
  std::cout << json_text(out) << "\n";
  return 2;
}

// ---- The parent. ----

struct ChildResult {
  bool ok = false;
  std::string failure;
  double ops_per_second = 0;
  double pass_seconds = 0;
  std::uint64_t calls_per_pass = 0;
  std::uint64_t footprint = 0;
};

// Runs one measurement in a child process: `job` names what it runs (a trace program's
// descriptor, or a multi-threaded workload).
ChildResult spawn_child(const BenchAllocator& a, const std::vector<std::string>& job, const BenchOptions& opt) {
  ChildResult res;
  std::vector<std::string> args{"pprsim",        "bench-child",
                                "--alloc",       a.table.empty() ? a.name : a.table,
                                "--repetitions", std::to_string(opt.repetitions),
                                "--min-time",    fmt::format("{}", opt.min_time)};
  args.insert(args.end(), job.begin(), job.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("LD_PRELOAD=")) continue;
    env.emplace_back(*e);
  }
  if (!a.library.empty()) env.push_back("LD_PRELOAD=" + a.library);
  auto cstrs = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (std::string& s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<char*> argv = cstrs(args);
  std::vector<char*> envp = cstrs(env);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    res.failure = "cannot create a pipe";
    return res;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    res.failure = "cannot start a child process";
    return res;
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    res.failure = fmt::format("the child was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return res;
  }
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::exception&) {
    res.failure = fmt::format("the child exited with status {} without a result", WEXITSTATUS(status));
    return res;
  }
  if (!j.value("ok", false)) {
    res.failure = j.value("failure", std::string("failed"));
    return res;
  }
  std::vector<double> secs = j.at("seconds").get<std::vector<double>>();
  const double med = median(secs);
  const auto passes = j.at("passes").get<std::uint64_t>();
  res.calls_per_pass = j.at("calls_per_pass").get<std::uint64_t>();
  res.footprint = j.at("footprint_bytes").get<std::uint64_t>();
  if (med <= 0 || passes == 0) {
    res.failure = "no measurable time";
    return res;
  }
  res.ok = true;
  res.pass_seconds = med / static_cast<double>(passes);
  res.ops_per_second = static_cast<double>(res.calls_per_pass) / res.pass_seconds;
  return res;
}

struct Row {
  std::string trace;
  const BenchAllocator* alloc;
  std::string status = "ok";  // ok, skipped, failed
  std::string note;
  std::vector<double> ops_per_second;  // per round
  std::vector<double> ratios;          // per round, to glibc in the same round
  std::vector<double> pass_seconds;
  std::vector<double> footprints;
  std::vector<double> footprint_ratios;  // per round, to glibc's in the same round
  std::uint64_t calls_per_pass = 0;
  std::string workload;  // a multi-threaded one (empty for a trace) and its thread count
  int threads = 0;
  double ops() const { return median(ops_per_second); }
  std::optional<double> ratio() const {
    if (ratios.empty()) return std::nullopt;
    return median(ratios);
  }
  double footprint() const { return median(footprints); }
};

struct SimRow {
  std::string trace;
  std::string alloc;
  std::uint64_t events = 0;
  std::vector<double> sim_seconds;
  bool verified = true;
  Coverage coverage;  // the allocator paths the replay exercised (the same every round)
  double native_events_per_second = 0;
  double sim_eps() const {
    const double s = median(sim_seconds);
    return s > 0 ? static_cast<double>(events) / s : 0;
  }
};

Json number_or_null(std::optional<double> v) { return v ? Json(*v) : Json(nullptr); }

std::string human_bytes(double b) {
  if (b >= 10.0 * (1 << 20)) return fmt::format("{:.0f}M", b / (1 << 20));
  if (b >= 1 << 20) return fmt::format("{:.1f}M", b / (1 << 20));
  return fmt::format("{:.0f}K", b / 1024);
}

double geomean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / static_cast<double>(v.size()));
}

// Per allocator, the geometric means over the traces of the simulator's and of native replay's
// events per second (native: over the traces it ran too).
struct SimGeomean {
  double sim = 0;
  double native = 0;
};
std::map<std::string, SimGeomean> sim_geomeans(const std::vector<SimRow>& sims) {
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by;
  for (const SimRow& s : sims) {
    if (s.sim_eps() > 0) by[s.alloc].first.push_back(s.sim_eps());
    if (s.native_events_per_second > 0) by[s.alloc].second.push_back(s.native_events_per_second);
  }
  std::map<std::string, SimGeomean> out;
  for (const auto& [alloc, v] : by) {
    out[alloc] = {v.first.empty() ? 0 : geomean(v.first), v.second.empty() ? 0 : geomean(v.second)};
  }
  return out;
}

// The rounds of one job (a trace, or a workload at a thread count) over rows[first, first + n),
// one row per allocator: each round runs every allocator once, starting one further along.
void measure_rounds(std::vector<Row>& rows, std::size_t first, std::size_t n, const std::vector<std::string>& job,
                    const BenchOptions& opt) {
  for (int round = 0; round < opt.rounds; ++round) {
    std::optional<double> glibc;
    double glibc_footprint = 0;
    std::vector<std::pair<std::size_t, double>> measured;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = first + (k + static_cast<std::size_t>(round)) % n;
      Row& r = rows[i];
      if (r.status != "ok") continue;
      const ChildResult c = spawn_child(*r.alloc, job, opt);
      if (!c.ok) {
        r.status = "failed";
        r.note = c.failure;
        continue;
      }
      r.ops_per_second.push_back(c.ops_per_second);
      r.pass_seconds.push_back(c.pass_seconds);
      r.footprints.push_back(static_cast<double>(c.footprint));
      r.calls_per_pass = c.calls_per_pass;
      measured.emplace_back(i, c.ops_per_second);
      if (r.alloc->name == "glibc") glibc = c.ops_per_second, glibc_footprint = static_cast<double>(c.footprint);
    }
    if (glibc) {
      for (const auto& [i, ops] : measured) {
        rows[i].ratios.push_back(ops / *glibc);
        if (glibc_footprint > 0) rows[i].footprint_ratios.push_back(rows[i].footprints.back() / glibc_footprint);
      }
    }
  }
}

// The multi-threaded workloads at every thread count of --threads, in rounds like a trace.
std::vector<Row> measure_threads(const std::vector<BenchAllocator>& allocs, const BenchOptions& opt) {
  std::vector<Row> rows;
  for (const std::string& w : thread_workload_names()) {
    for (const int t : opt.threads) {
      const std::size_t first = rows.size();
      for (const BenchAllocator& a : allocs) {
        Row r;
        r.trace = fmt::format("{} x{}", w, t);
        r.workload = w;
        r.threads = t;
        r.alloc = &a;
        if (!a.skip_note.empty()) {
          r.status = "skipped";
          r.note = a.skip_note;
        } else if (has_simulated_version(a.name)) {
          r.status = "skipped";
          r.note = "the core alone serves one thread (the drop-in is its thread-safe form)";
        }
        rows.push_back(std::move(r));
      }
      measure_rounds(rows, first, allocs.size(), {"--workload", w, "--threads", std::to_string(t)}, opt);
      if (opt.json != "-") {
        for (std::size_t i = first; i < rows.size(); ++i) {
          if (rows[i].status == "failed") {
            fmt::print(stderr, "pprsim: {} on {}: {}\n", rows[i].alloc->name, rows[i].trace, rows[i].note);
          }
        }
      }
    }
  }
  return rows;
}

// One table of the thread workloads: a row per workload and thread count, a cell per allocator.
template <class Cell>
void print_thread_table(const std::vector<Row>& rows, const std::vector<BenchAllocator>& allocs, Cell&& cell) {
  fmt::print("{:<16}", "workload");
  for (const BenchAllocator& a : allocs) fmt::print(" {:>16}", a.name);
  fmt::print("\n");
  for (std::size_t i = 0; i < rows.size(); i += allocs.size()) {
    fmt::print("{:<16}", rows[i].trace);
    for (std::size_t k = 0; k < allocs.size(); ++k) {
      const Row& r = rows[i + k];
      fmt::print(" {:>16}", r.status == "ok" ? cell(r) : r.status);
    }
    fmt::print("\n");
  }
}

void print_threads(const std::vector<Row>& rows, const std::vector<BenchAllocator>& allocs, int rounds) {
  if (rows.empty()) return;
  fmt::print("\nthreads: million allocator calls per second (ratio to glibc within a round, median of {} rounds)\n",
             rounds);
  print_thread_table(rows, allocs, [](const Row& r) {
    std::string cell = fmt::format("{:.1f}", r.ops() / 1e6);
    if (r.ratio()) cell += fmt::format(" ({:.2f})", *r.ratio());
    return cell;
  });
  fmt::print("\nthreads: peak resident growth (ratio to glibc within a round, median)\n");
  print_thread_table(rows, allocs, [](const Row& r) {
    std::string cell = human_bytes(r.footprint());
    if (!r.footprint_ratios.empty()) cell += fmt::format(" ({:.2f})", median(r.footprint_ratios));
    return cell;
  });
}

Json threads_json(const std::vector<Row>& rows) {
  Json out = Json::array();
  for (const Row& r : rows) {
    const bool ok = r.status == "ok";
    Json e;
    e["workload"] = r.workload;
    e["threads"] = r.threads;
    e["allocator"] = r.alloc->name;
    e["status"] = r.status;
    e["note"] = r.note;
    e["operations"] = ok ? Json(r.calls_per_pass) : Json(nullptr);
    e["ops_per_second"] = ok ? Json(r.ops()) : Json(nullptr);
    e["ratio_to_glibc"] = ok ? number_or_null(r.ratio()) : Json(nullptr);
    e["peak_resident_bytes"] = ok ? Json(static_cast<std::uint64_t>(r.footprint())) : Json(nullptr);
    e["resident_ratio_to_glibc"] =
        ok && !r.footprint_ratios.empty() ? Json(median(r.footprint_ratios)) : Json(nullptr);
    e["rounds_ops_per_second"] = r.ops_per_second;
    out.push_back(e);
  }
  return out;
}

// NAME=VALUE (--preload, --sim-native) split at its first '='; nullopt without one.
std::optional<std::pair<std::string, std::string>> name_and_value(const std::string& p) {
  const auto eq = p.find('=');
  if (eq == std::string::npos) return std::nullopt;
  return std::pair{p.substr(0, eq), p.substr(eq + 1)};
}

// The allocators --alloc and --preload name, in table order; nullopt after saying what is wrong.
std::optional<std::vector<BenchAllocator>> bench_allocators(const BenchOptions& opt) {
  std::vector<std::string> names;
  if (opt.alloc == "all") {
    names = bench_allocator_names();
  } else {
    std::stringstream ss(opt.alloc);
    std::string n;
    while (std::getline(ss, n, ',')) {
      const auto& known = bench_allocator_names();
      if (std::find(known.begin(), known.end(), n) == known.end()) {
        fmt::print(stderr, "pprsim: --alloc: unknown allocator '{}' (known: {}, all)\n", n, fmt::join(known, ", "));
        return std::nullopt;
      }
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
    if (names.empty()) {
      fmt::print(stderr, "pprsim: --alloc: no allocator named\n");
      return std::nullopt;
    }
  }
  std::vector<BenchAllocator> allocs;
  for (const std::string& n : names) allocs.push_back(find_bench_allocator(n));
  // --preload NAME=LIBRARY: the C library's functions with LIBRARY preloaded, as a row of its own
  // (a build of an allocator against another, in the same rounds).
  for (const std::string& p : opt.preload) {
    const auto nv = name_and_value(p);
    if (!nv || nv->first.empty() || nv->second.empty()) {
      fmt::print(stderr, "pprsim: --preload: '{}' is not NAME=LIBRARY\n", p);
      return std::nullopt;
    }
    BenchAllocator b;
    b.name = nv->first;
    b.table = "glibc";
    const auto& known = bench_allocator_names();
    if (std::find(known.begin(), known.end(), b.name) != known.end() ||
        std::any_of(allocs.begin(), allocs.end(), [&](const BenchAllocator& a) { return a.name == b.name; })) {
      fmt::print(stderr, "pprsim: --preload: the name '{}' is taken\n", b.name);
      return std::nullopt;
    }
    std::error_code ec;
    b.library = std::filesystem::absolute(nv->second, ec).string();
    if (ec || ::access(b.library.c_str(), R_OK) != 0) {
      fmt::print(stderr, "pprsim: --preload: cannot read {}\n", nv->second);
      return std::nullopt;
    }
    if (b.library.find_first_of(": \t\n") != std::string::npos) {
      fmt::print(stderr, "pprsim: --preload: LD_PRELOAD cannot carry the path {}\n", b.library);
      return std::nullopt;
    }
#if defined(__SANITIZE_ADDRESS__)
    b.skip_note = "not measured in a sanitizer build (the sanitizer owns malloc)";
#endif
    allocs.push_back(std::move(b));
  }
  for (const std::string& p : opt.sim_native) {
    const auto nv = name_and_value(p);
    if (!nv || !nv->second.starts_with("native:")) {
      fmt::print(stderr, "pprsim: --sim-native: '{}' is not NAME=native:SPEC\n", p);
      return std::nullopt;
    }
    const std::string& name = nv->first;
    if (std::none_of(allocs.begin(), allocs.end(), [&](const BenchAllocator& a) { return a.name == name; })) {
      fmt::print(stderr, "pprsim: --sim-native: {} is not among the allocators measured (--alloc)\n", name);
      return std::nullopt;
    }
  }
  return allocs;
}

// The simulator against native replay of the same allocator (--sim), `rounds` times a trace.
// Throws TraceError or std::invalid_argument on bad input.
std::vector<SimRow> measure_sim(const BenchOptions& opt, const std::vector<BenchAllocator>& allocs,
                                const std::vector<Row>& rows, std::vector<TraceSource>& sources) {
  // What replays each allocator's trace: its simulated version, and any --sim-native engine.
  std::vector<std::pair<std::string, std::string>> engines;  // (allocator, what replays it)
  for (const BenchAllocator& a : allocs) {
    if (has_simulated_version(a.name)) engines.emplace_back(a.name, a.name);
    for (const std::string& pair : opt.sim_native) {
      const auto nv = name_and_value(pair);  // checked by bench_allocators
      if (nv && nv->first == a.name) engines.emplace_back(a.name, nv->second);
    }
  }
  std::vector<SimRow> sims;
  for (std::size_t t = 0; t < opt.traces.size(); ++t) {
    for (const auto& [name, engine] : engines) {
      const Row* native = nullptr;
      for (const Row& r : rows) {
        if (r.trace == opt.traces[t] && r.alloc->name == name && r.status == "ok") native = &r;
      }
      SimRow s;
      s.trace = opt.traces[t];
      s.alloc = engine == name ? name : "native:" + name;
      for (int round = 0; round < opt.rounds; ++round) {
        ReplayConfig cfg;
        cfg.allocator = engine;
        cfg.group_size = opt.group_size;
        cfg.ppr_every = opt.ppr_every;
        cfg.seed = opt.seed;
        auto reader = sources[t].open();
        const auto t0 = std::chrono::steady_clock::now();
        const RunStats st = replay(*reader, cfg);
        s.sim_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        s.events = st.events;
        s.verified = s.verified && st.verified;
        s.coverage = st.coverage;
      }
      if (native != nullptr) {
        s.native_events_per_second = static_cast<double>(s.events) / median(native->pass_seconds);
      }
      sims.push_back(std::move(s));
    }
  }
  return sims;
}

struct Mean {
  std::vector<double> ops, ratio, util;
};

// Geomeans per allocator, over the traces it ran.
std::vector<Mean> bench_means(const BenchOptions& opt, const std::vector<BenchAllocator>& allocs,
                              const std::vector<Row>& rows, const std::vector<NativeProgram>& programs) {
  std::vector<Mean> means(allocs.size());
  for (const Row& r : rows) {
    if (r.status != "ok") continue;
    Mean& m = means[static_cast<std::size_t>(r.alloc - allocs.data())];
    m.ops.push_back(r.ops());
    if (r.ratio()) m.ratio.push_back(*r.ratio());
    const std::uint64_t live = programs[static_cast<std::size_t>(
        std::find(opt.traces.begin(), opt.traces.end(), r.trace) - opt.traces.begin())].peak_live_bytes;
    if (r.footprint() > 0 && live > 0) m.util.push_back(static_cast<double>(live) / r.footprint());
  }
  return means;
}

// The speed and memory tables, and the simulator's when --sim.
void print_tables(const BenchOptions& opt, const std::vector<BenchAllocator>& allocs, const std::vector<Row>& rows,
                  const std::vector<NativeProgram>& programs, const std::vector<Mean>& means,
                  const std::vector<SimRow>& sims) {
  std::size_t w = 5;
  for (const std::string& t : opt.traces) w = std::max(w, basename_of(t).size());
  fmt::print("speed: million allocator calls per second (ratio to glibc within a round, median of {} rounds)\n",
             opt.rounds);
  fmt::print("{:<{}}", "trace", w);
  for (const BenchAllocator& a : allocs) fmt::print(" {:>16}", a.name);
  fmt::print("\n");
  for (std::size_t t = 0; t < opt.traces.size(); ++t) {
    fmt::print("{:<{}}", basename_of(opt.traces[t]), w);
    for (std::size_t k = 0; k < allocs.size(); ++k) {
      const Row& r = rows[t * allocs.size() + k];
      std::string cell = r.status == "ok" ? fmt::format("{:.1f}", r.ops() / 1e6) : r.status;
      if (r.status == "ok" && r.ratio()) cell += fmt::format(" ({:.2f})", *r.ratio());
      fmt::print(" {:>16}", cell);
    }
    fmt::print("\n");
  }
  fmt::print("{:<{}}", "geomean", w);
  for (const Mean& m : means) {
    std::string cell = m.ops.empty() ? "-" : fmt::format("{:.1f}", geomean(m.ops) / 1e6);
    if (!m.ratio.empty()) cell += fmt::format(" ({:.2f})", geomean(m.ratio));
    fmt::print(" {:>16}", cell);
  }
  fmt::print("\n\nmemory: peak footprint (resident growth), utilization = peak live requested bytes / footprint\n");
  fmt::print("{:<{}}", "trace", w);
  for (const BenchAllocator& a : allocs) fmt::print(" {:>16}", a.name);
  fmt::print("\n");
  for (std::size_t t = 0; t < opt.traces.size(); ++t) {
    fmt::print("{:<{}}", basename_of(opt.traces[t]), w);
    for (std::size_t k = 0; k < allocs.size(); ++k) {
      const Row& r = rows[t * allocs.size() + k];
      std::string cell = r.status;
      if (r.status == "ok") {
        const double f = r.footprint();
        cell = f > 0 ? fmt::format("{} {:.2f}", human_bytes(f), static_cast<double>(programs[t].peak_live_bytes) / f)
                     : "0K -";
      }
      fmt::print(" {:>16}", cell);
    }
    fmt::print("\n");
  }
  fmt::print("{:<{}}", "geomean", w);
  for (const Mean& m : means) fmt::print(" {:>16}", m.util.empty() ? "-" : fmt::format("{:.2f}", geomean(m.util)));
  fmt::print("\n");
  for (const BenchAllocator& a : allocs) {
    if (!a.skip_note.empty()) fmt::print("skipped {}: {}\n", a.name, a.skip_note);
    if (!a.library.empty()) fmt::print("{}: LD_PRELOAD={}\n", a.name, a.library);
  }
  if (opt.sim) {
    fmt::print("\nsimulator: group size {}, a PPR every {} events, seed {}; events/s, simulated against native\n",
               opt.group_size, opt.ppr_every, opt.seed);
    fmt::print("{:<{}} {:>15} {:>8} {:>14} {:>14} {:>10} {:>9}\n", "trace", w, "allocator", "events", "sim events/s",
               "native ev/s", "sim/native", "verified");
    for (const SimRow& s : sims) {
      const double n = s.native_events_per_second;
      fmt::print("{:<{}} {:>15} {:>8} {:>14.0f} {:>14.0f} {:>10} {:>9}\n", basename_of(s.trace), w, s.alloc, s.events,
                 s.sim_eps(), n, n > 0 ? fmt::format("{:.5f}", s.sim_eps() / n) : "-", s.verified ? "yes" : "NO");
    }
    for (const auto& [alloc, g] : sim_geomeans(sims)) {
      fmt::print("{:<{}} {:>15} {:>8} {:>14.0f} {:>14.0f} {:>10} {:>9}\n", "geomean", w, alloc, "", g.sim, g.native,
                 g.native > 0 ? fmt::format("{:.5f}", g.sim / g.native) : "-", "");
    }
    // The paths the simulated runs exercised, over all the traces.
    std::map<std::string, Coverage> over;
    for (const SimRow& s : sims) over[s.alloc].merge(s.coverage);
    for (const auto& [alloc, c] : over) {
      std::istringstream lines(coverage_text(c, alloc));
      for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) fmt::print("coverage of {} over these traces: {}\n", alloc, line);
      }
    }
  }
}

Json bench_json(const BenchOptions& opt, const std::vector<BenchAllocator>& allocs, const std::vector<Row>& rows,
                const std::vector<NativeProgram>& programs, const std::vector<Mean>& means,
                const std::vector<Row>& thread_rows, const std::vector<SimRow>& sims) {
  auto trace_index = [&](const std::string& trace) {
    return static_cast<std::size_t>(std::find(opt.traces.begin(), opt.traces.end(), trace) - opt.traces.begin());
  };
  Json j;
  j["command"] = "bench";
  j["rounds"] = opt.rounds;
  j["repetitions"] = opt.repetitions;
  j["min_time"] = opt.min_time;
  Json al = Json::array();
  for (const BenchAllocator& a : allocs) {
    Json e;
    e["name"] = a.name;
    e["library"] = a.library;
    e["skipped"] = !a.skip_note.empty();
    e["note"] = a.skip_note;
    al.push_back(e);
  }
  j["allocators"] = al;
  Json res = Json::array();
  for (const Row& r : rows) {
    const NativeProgram& p = programs[trace_index(r.trace)];
    Json e;
    e["trace"] = r.trace;
    e["allocator"] = r.alloc->name;
    e["status"] = r.status;
    e["note"] = r.note;
    e["events"] = p.events;
    e["peak_live_bytes"] = p.peak_live_bytes;
    const bool ok = r.status == "ok";
    e["operations"] = ok ? Json(r.calls_per_pass) : Json(nullptr);
    e["ops_per_second"] = ok ? Json(r.ops()) : Json(nullptr);
    e["ratio_to_glibc"] = ok ? number_or_null(r.ratio()) : Json(nullptr);
    e["peak_footprint_bytes"] = ok ? Json(static_cast<std::uint64_t>(r.footprint())) : Json(nullptr);
    e["utilization"] = ok && r.footprint() > 0 ? Json(static_cast<double>(p.peak_live_bytes) / r.footprint())
                                               : Json(nullptr);
    e["rounds_ops_per_second"] = r.ops_per_second;
    res.push_back(e);
  }
  j["results"] = res;
  Json gm = Json::array();
  for (std::size_t k = 0; k < allocs.size(); ++k) {
    const Mean& m = means[k];
    Json e;
    e["allocator"] = allocs[k].name;
    e["traces"] = m.ops.size();
    e["ops_per_second"] = m.ops.empty() ? Json(nullptr) : Json(geomean(m.ops));
    e["ratio_to_glibc"] = m.ratio.empty() ? Json(nullptr) : Json(geomean(m.ratio));
    e["utilization"] = m.util.empty() ? Json(nullptr) : Json(geomean(m.util));
    gm.push_back(e);
  }
  j["geomean"] = gm;
  if (!opt.threads.empty()) j["threads"] = threads_json(thread_rows);
  if (opt.sim) {
    Json sj = Json::array();
    for (const SimRow& s : sims) {
      Json e;
      e["trace"] = s.trace;
      e["allocator"] = s.alloc;
      e["group_size"] = opt.group_size;
      e["ppr_every"] = opt.ppr_every;
      e["seed"] = opt.seed;
      e["events"] = s.events;
      e["sim_seconds"] = median(s.sim_seconds);
      e["sim_events_per_second"] = s.sim_eps();
      const double n = s.native_events_per_second;
      e["native_events_per_second"] = n > 0 ? Json(n) : Json(nullptr);
      e["ratio"] = n > 0 ? Json(s.sim_eps() / n) : Json(nullptr);
      e["verified"] = s.verified;
      e["coverage"] = coverage_json(s.coverage, s.alloc);
      sj.push_back(e);
    }
    j["sim"] = sj;
    Json sg = Json::object();
    for (const auto& [alloc, g] : sim_geomeans(sims)) {
      sg[alloc] = {{"sim_events_per_second", g.sim},
                   {"native_events_per_second", g.native > 0 ? Json(g.native) : Json(nullptr)},
                   {"ratio", g.native > 0 ? Json(g.sim / g.native) : Json(nullptr)}};
    }
    j["sim_geomean"] = sg;
  }
  return j;
}

int run_bench(const BenchOptions& opt) {
  if (opt.traces.empty() && opt.threads.empty()) {
    fmt::print(stderr, "pprsim: bench: no trace given, and no --threads\n");
    return 2;
  }
  const auto chosen = bench_allocators(opt);
  if (!chosen) return 2;
  const std::vector<BenchAllocator>& allocs = *chosen;
  // The output is opened before anything is measured: one that is a trace, or cannot be
  // written, is refused at once.
  OutputSet outputs(opt.traces);
  OutputFile* const json_out = outputs.add("--json", opt.json);
  if (!outputs.ok()) {
    fmt::print(stderr, "pprsim: {}\n", outputs.error());
    return 2;
  }

  // Every trace is read to its end before anything is measured.
  std::vector<NativeProgram> programs;
  std::vector<TraceSource> sources;  // --sim reads each trace again, a pipe from a copy
  try {
    for (const std::string& path : opt.traces) {
      sources.emplace_back(path);
      auto reader = sources.back().open();
      programs.push_back(compile_native(*reader));
    }
  } catch (const TraceError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }

  const bool table = opt.json != "-";
  std::vector<Row> rows;
  for (std::size_t t = 0; t < opt.traces.size(); ++t) {
    const int fd = program_to_memfd(programs[t]);
    if (fd < 0) {
      fmt::print(stderr, "pprsim: cannot pass {} to a child process\n", opt.traces[t]);
      return 2;
    }
    const std::size_t first = rows.size();
    for (const BenchAllocator& a : allocs) {
      Row r;
      r.trace = opt.traces[t];
      r.alloc = &a;
      if (!a.skip_note.empty()) {
        r.status = "skipped";
        r.note = a.skip_note;
      }
      rows.push_back(std::move(r));
    }
    measure_rounds(rows, first, allocs.size(), {"--program-fd", std::to_string(fd)}, opt);
    ::close(fd);
    if (table) {
      for (std::size_t i = first; i < rows.size(); ++i) {
        const Row& r = rows[i];
        if (r.status == "failed") fmt::print(stderr, "pprsim: {} on {}: {}\n", r.alloc->name, r.trace, r.note);
      }
    }
  }

  const std::vector<Row> thread_rows = measure_threads(allocs, opt);

  // The simulator against native replay of the same allocator.
  std::vector<SimRow> sims;
  if (opt.sim) {
    try {
      sims = measure_sim(opt, allocs, rows, sources);
    } catch (const TraceError& e) {
      fmt::print(stderr, "pprsim: {}\n", e.what());
      return 2;
    } catch (const PluginError& e) {  // a --sim-native allocator that cannot be loaded or built
      fmt::print(stderr, "pprsim: {}\n", e.what());
      return 2;
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "pprsim: {}\n", e.what());
      return 2;
    }
  }

  bool all_ok = true;
  for (const Row& r : rows) all_ok = all_ok && r.status != "failed";
  for (const Row& r : thread_rows) all_ok = all_ok && r.status != "failed";
  for (const SimRow& s : sims) all_ok = all_ok && s.verified;

  const std::vector<Mean> means = bench_means(opt, allocs, rows, programs);

  if (table && !opt.traces.empty()) print_tables(opt, allocs, rows, programs, means, sims);
  if (table) print_threads(thread_rows, allocs, opt.rounds);

  if (!opt.json.empty()) {
    const Json j = bench_json(opt, allocs, rows, programs, means, thread_rows, sims);
    json_out->stream() << json_text(j, 2) << '\n';
    if (!json_out->commit()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure allocators natively on traces (and the simulator against them)");
  cmd->add_option("traces", opt->traces, "Trace files (native, CS:APP .rep, glibc mtrace)");
  cmd->add_option("--threads", opt->threads,
                  "Also run the multi-threaded workloads (server, prodcons, falseshare) at these thread counts, "
                  "e.g. 1,2,4,8")
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  cmd->add_option("--alloc", opt->alloc,
                  "Allocators, a comma list or all: glibc, dmmalloc, dropin (the built libpprsim_dmmalloc.so, preloaded), comalloc, jemalloc, mimalloc, tcmalloc")
      ->capture_default_str();
  cmd->add_option("--preload", opt->preload,
                  "NAME=LIBRARY: one more allocator, measured through the C library's functions with LIBRARY "
                  "preloaded (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--sim", opt->sim, "Also replay each trace in the simulator and compare its speed to native replay");
  cmd->add_option("--sim-native", opt->sim_native,
                  "NAME=native:SPEC: also replay each trace through the native engine on SPEC and compare its "
                  "speed to NAME's native replay, as --sim does (repeatable; implies --sim)")
      ->allow_extra_args(false);
  cmd->add_option("--group-size", opt->group_size, "With --sim: PPR instances per group")
      ->check(exact_number<int>(1, 64))
      ->capture_default_str();
  cmd->add_option("--ppr-every", opt->ppr_every, "With --sim: a PPR instance every N allocator events (0 = markers)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "With --sim: the simulator's seed")->check(non_negative())->capture_default_str();
  cmd->add_option("--rounds", opt->rounds, "Rounds; each runs every allocator once, in a rotating order")
      ->check(exact_number<int>(1, 1000))
      ->capture_default_str();
  cmd->add_option("--repetitions", opt->repetitions, "Timed repetitions per child process (the median counts)")
      ->check(exact_number<int>(1, 1000))
      ->capture_default_str();
  cmd->add_option("--min-time", opt->min_time, "Seconds one repetition lasts at least (whole passes over the trace)")
      ->check(exact_number<double>(0, 60))
      ->capture_default_str();
  cmd->add_option("--json", opt->json, "Write the results as JSON to FILE, or to standard output with -")
      ->check(non_empty());
  return {cmd, [opt] {
            if (!opt->sim_native.empty()) opt->sim = true;
            return run_bench(*opt);
          }};
}

Command add_bench_child_command(CLI::App& app) {
  auto opt = std::make_shared<ChildOptions>();
  CLI::App* cmd = app.add_subcommand("bench-child", "One native measurement of `pprsim bench` (internal)");
  cmd->group("");  // hidden from --help
  cmd->add_option("--program-fd", opt->program_fd);
  cmd->add_option("--workload", opt->workload);
  cmd->add_option("--threads", opt->threads)->check(CLI::Range(1, 64));
  cmd->add_option("--alloc", opt->alloc)->required();
  cmd->add_option("--repetitions", opt->repetitions)->check(exact_number<int>(1, 1000));
  cmd->add_option("--min-time", opt->min_time)->check(exact_number<double>(0, 60));
  return {cmd, [opt] { return run_child(*opt); }};
}

}  // namespace pprsim
