#include "props/fuzz_workers.h"

#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace pprsim {

namespace {

static_assert(std::is_trivially_copyable_v<Event> && std::is_trivially_copyable_v<FaultPlan> &&
              std::is_trivially_copyable_v<Coverage>);

// --- The result message a worker sends for one run. Worker and parent are the same program
// (a fork), so plain values travel as their bytes.

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Cursor {
  const std::string& in;
  std::size_t at = 0;
  template <class T>
  T get() {
    T v;
    if (in.size() - at < sizeof v) throw std::runtime_error("short message");
    std::memcpy(&v, in.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string bytes(std::size_t n) {
    if (in.size() - at < n) throw std::runtime_error("short message");
    std::string s = in.substr(at, n);
    at += n;
    return s;
  }
};

std::string encode(int index, const std::optional<Counterexample>& c, const Coverage& covered) {
  std::string out;
  put(out, static_cast<std::int32_t>(index));
  put(out, covered);
  put(out, static_cast<std::uint8_t>(c ? 1 : 0));
  if (c) {
    const RunCase& rc = c->shrunk;
    put(out, static_cast<std::int32_t>(rc.group_size));
    put(out, rc.seed);
    put(out, rc.understudy);
    put(out, rc.faults);
    put(out, c->events_before_minimizing);
    put(out, static_cast<std::uint64_t>(rc.trace.size()));
    for (const Event& e : rc.trace) put(out, e);
    put(out, static_cast<std::uint64_t>(c->violated.size()));
    for (const std::string& v : c->violated) {
      put(out, static_cast<std::uint64_t>(v.size()));
      out += v;
    }
  }
  return out;
}

std::pair<int, std::optional<Counterexample>> decode(const std::string& msg, Coverage& covered) {
  Cursor in{msg};
  const int index = in.get<std::int32_t>();
  covered = in.get<Coverage>();
  if (in.get<std::uint8_t>() == 0) return {index, std::nullopt};
  Counterexample c;
  c.run = index;
  c.shrunk.group_size = in.get<std::int32_t>();
  c.shrunk.seed = in.get<std::uint64_t>();
  c.shrunk.understudy = in.get<UnderstudyMode>();
  c.shrunk.faults = in.get<FaultPlan>();
  c.events_before_minimizing = in.get<std::uint64_t>();
  const auto events = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < events; ++i) c.shrunk.trace.push_back(in.get<Event>());
  const auto lines = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < lines; ++i) c.violated.push_back(in.bytes(in.get<std::uint64_t>()));
  return {index, std::move(c)};
}

// Reads exactly n bytes; false at end of file or on an error (the writer is gone).
bool read_full(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_full(int fd, const void* buf, std::size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t r = ::write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

using Clock = std::chrono::steady_clock;

struct Worker {
  pid_t pid = -1;
  int to = -1;    // run indices, parent to worker
  int from = -1;  // results and signs of progress, worker to parent
  int run = -1;   // the index it is checking, -1 when idle
  Clock::time_point progress;  // when its run last showed progress (it started, a replay returned)
};

// Between worker and parent, each message is its length (8 bytes) and its bytes; length 0 is a
// sign of progress: a replay returned (sent at most every kBeat).
constexpr auto kBeat = std::chrono::milliseconds(50);

[[noreturn]] void worker_main(const FuzzOptions& opt, int in, int out, pid_t parent) {
  // Die with the parent, whatever ends it; take signals as a plain process does (the parent's
  // handlers, such as the removal of its temporary files, are the parent's business).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(sig, SIG_DFL);
  FuzzOptions mine = opt;
  Clock::time_point beat = Clock::now();
  mine.heartbeat = [&] {
    const Clock::time_point now = Clock::now();
    if (now - beat < kBeat) return;
    beat = now;
    const std::uint64_t zero = 0;
    if (!write_full(out, &zero, sizeof zero)) ::_exit(1);
  };
  std::int32_t index = 0;
  while (read_full(in, &index, sizeof index)) {
    beat = Clock::now();
    Coverage covered;
    std::optional<Counterexample> result = check_run(mine, index, &covered);
    const std::string msg = encode(index, result, covered);
    const auto len = static_cast<std::uint64_t>(msg.size());
    if (!write_full(out, &len, sizeof len) || !write_full(out, msg.data(), msg.size())) ::_exit(1);
  }
  ::_exit(0);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

class Pool {
 public:
  Pool(const FuzzOptions& opt, int jobs)
      : opt_(opt),
        jobs_(jobs),
        hung_after_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.hung_after_seconds()))) {}
  ~Pool() { stop_all(); }

  FuzzSession run() {
    // The selected indices are first, first + stride, ... below runs: counted, not listed (a
    // campaign of 10^8 runs would take a second to list).
    count_ = opt_.runs > opt_.first ? static_cast<std::size_t>((opt_.runs - opt_.first - 1) / opt_.stride) + 1 : 0;
    workers_.resize(static_cast<std::size_t>(std::min<std::size_t>(static_cast<std::size_t>(jobs_), count_)));
    start_ = Clock::now();
    if (opt_.max_seconds > 0) {
      deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.max_seconds));
    }
    while (!stop_ && reported_ < count_) {
      if (out_of_time()) {
        stop_at_limit();
        break;
      }
      assign();
      wait();
      take_results();
    }
    return std::move(session_);
  }

 private:
  std::size_t position_of(int index) const { return static_cast<std::size_t>((index - opt_.first) / opt_.stride); }
  int run_at(std::size_t position) const { return opt_.first + static_cast<int>(position) * opt_.stride; }

  bool out_of_time() const { return deadline_ && Clock::now() >= *deadline_; }

  // Hands the next indices to the idle workers (starting those not running).
  void assign() {
    for (Worker& w : workers_) {
      if (next_ >= count_) return;
      if (w.run >= 0) continue;
      if (w.pid < 0) start(w);
      const auto index = static_cast<std::int32_t>(opt_.first + static_cast<long long>(next_++) * opt_.stride);
      w.run = index;
      w.progress = Clock::now();
      // A worker gone meanwhile is noticed when its result pipe ends.
      write_full(w.to, &index, sizeof index);
    }
  }

  // How long poll may wait: until the time limit or until the first busy run would hang.
  int poll_timeout() const {
    std::optional<Clock::time_point> until = deadline_;
    for (const Worker& w : workers_) {
      if (w.run >= 0 && (!until || w.progress + hung_after_ < *until)) until = w.progress + hung_after_;
    }
    if (!until) return -1;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*until - Clock::now()).count() + 1;
    return static_cast<int>(std::clamp<long long>(ms, 0, 1000000));
  }

  // Waits for results and signs of progress; a run without progress for too long is stopped
  // and its result is that it hung.
  void wait() {
    std::vector<pollfd> fds;
    std::vector<Worker*> busy;
    for (Worker& w : workers_) {
      if (w.run < 0) continue;
      fds.push_back({w.from, POLLIN, 0});
      busy.push_back(&w);
    }
    if (busy.empty()) return;
    if (::poll(fds.data(), fds.size(), poll_timeout()) < 0) {
      if (errno == EINTR) return;
      throw std::runtime_error(fmt::format("cannot wait for the worker processes: {}", std::strerror(errno)));
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Worker& w = *busy[k];
      const int index = w.run;
      std::optional<Counterexample> result;
      Coverage covered;
      if (receive(w, result, covered)) {
        done_[position_of(index)] = std::move(result);
        covered_[position_of(index)] = covered;
        w.run = -1;
      } else {
        w.progress = Clock::now();
      }
    }
    const Clock::time_point now = Clock::now();
    for (Worker& w : workers_) {
      if (w.run >= 0 && now - w.progress >= hung_after_) stop_hung(w);
    }
  }

  void stop_hung(Worker& w) {
    const int index = w.run;
    end_of(w);
    w.run = -1;
    Counterexample c;
    c.run = index;
    c.shrunk = generated_case(opt_, index);  // not shrunk: every candidate might hang as long
    c.violated.push_back(hung_violation(opt_.hung_after_seconds()));
    done_[position_of(index)] = std::move(c);
  }

  // The results that follow the ones taken, in index order.
  void take_results() {
    for (auto it = done_.find(reported_); !stop_ && it != done_.end(); it = done_.find(reported_)) {
      ++session_.runs;
      if (const auto cov = covered_.find(reported_); cov != covered_.end()) {
        session_.coverage.merge(cov->second);
        if (opt_.keep_run_coverage) session_.run_coverage.emplace_back(it->second ? it->second->run : run_at(reported_), cov->second);
        covered_.erase(cov);
      } else if (opt_.keep_run_coverage) {
        session_.run_coverage.emplace_back(run_at(reported_), Coverage{});  // hung: nothing reported
      }
      const bool failed = it->second.has_value();
      if (failed) session_.found.push_back(std::move(*it->second));
      done_.erase(it);
      ++reported_;
      if (opt_.progress && !opt_.progress(session_)) stop_ = true;
      if (failed && !opt_.keep_going) stop_ = true;
    }
  }

  // The time is up: every busy worker is stopped now. A run that already went without progress
  // for too long hung; the others are cut, with every run after the first one cut.
  void stop_at_limit() {
    const Clock::time_point now = Clock::now();
    for (Worker& w : workers_) {
      if (w.run < 0) continue;
      if (now - w.progress >= hung_after_) {
        stop_hung(w);
      } else {
        end_of(w);
        w.run = -1;
      }
    }
    take_results();
    if (!stop_) {
      session_.cut = static_cast<int>(next_ - reported_);
      session_.time_limited = true;
    }
    stop_ = true;
  }

  void start(Worker& w) {
    int to[2], from[2];
    if (::pipe(to) != 0) throw std::runtime_error(fmt::format("cannot start a worker process: {}", std::strerror(errno)));
    if (::pipe(from) != 0) {
      ::close(to[0]);
      ::close(to[1]);
      throw std::runtime_error(fmt::format("cannot start a worker process: {}", std::strerror(errno)));
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      for (const int fd : {to[0], to[1], from[0], from[1]}) ::close(fd);
      throw std::runtime_error(fmt::format("cannot start a worker process: {}", std::strerror(err)));
    }
    if (pid == 0) {
      // Only its own pipe ends: a sibling's task pipe held open here would never end.
      for (Worker& other : workers_) {
        close_fd(other.to);
        close_fd(other.from);
      }
      ::close(to[1]);
      ::close(from[0]);
      worker_main(opt_, to[0], from[1], parent);
    }
    ::close(to[0]);
    ::close(from[1]);
    w.pid = pid;
    w.to = to[1];
    w.from = from[0];
  }

  // False for a sign of progress. Else true with the result of w's run; when the worker died
  // instead, a failure made of the generated case and how it ended (and w is reset, to be
  // started again when there is work).
  bool receive(Worker& w, std::optional<Counterexample>& result, Coverage& covered) {
    std::uint64_t len = 0;
    if (read_full(w.from, &len, sizeof len) && len < (std::uint64_t{1} << 40)) {
      if (len == 0) return false;
      std::string msg(len, '\0');
      if (read_full(w.from, msg.data(), msg.size())) {
        auto [index, got] = decode(msg, covered);
        if (index == w.run) {
          result = std::move(got);
          return true;
        }
      }
    }
    Counterexample c;
    c.run = w.run;
    c.shrunk = generated_case(opt_, w.run);
    c.violated.push_back(fmt::format("the run crashed: its worker process {}", end_of(w)));
    result = std::move(c);
    return true;
  }

  // Reaps a dead (or misbehaving) worker and says how it ended.
  std::string end_of(Worker& w) {
    close_fd(w.to);
    close_fd(w.from);
    int status = 0;
    pid_t r;
    ::kill(w.pid, SIGKILL);  // a worker that sent garbage is ended too
    while ((r = ::waitpid(w.pid, &status, 0)) < 0 && errno == EINTR) {
    }
    w.pid = -1;
    if (r < 0) return "ended";
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      const char* name = ::sigdescr_np(sig);
      return fmt::format("was killed by signal {} ({})", sig, name ? name : "unknown");
    }
    if (WIFEXITED(status)) return fmt::format("exited with status {} before reporting", WEXITSTATUS(status));
    return "ended";
  }

  void stop_all() {
    for (Worker& w : workers_) {
      if (w.pid < 0) continue;
      close_fd(w.to);  // an idle worker ends at the end of its task pipe
      if (w.run >= 0) ::kill(w.pid, SIGKILL);  // a busy one's result is no longer wanted
    }
    for (Worker& w : workers_) {
      if (w.pid < 0) continue;
      int status = 0;
      while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
      }
      close_fd(w.from);
      w.pid = -1;
    }
  }

  const FuzzOptions& opt_;
  int jobs_;
  Clock::duration hung_after_;
  std::vector<Worker> workers_;
  std::size_t count_ = 0;  // indices selected
  Clock::time_point start_;
  std::optional<Clock::time_point> deadline_;
  std::size_t next_ = 0;      // position of the next index to hand out
  std::size_t reported_ = 0;  // position of the next result to take
  std::map<std::size_t, std::optional<Counterexample>> done_;  // results not yet taken, by position
  std::map<std::size_t, Coverage> covered_;  // their runs' coverage (none for a hung or crashed run)
  FuzzSession session_;
  bool stop_ = false;
};

// SIGPIPE ignored while the pool runs: a write to a worker that died is an error to handle,
// not the end of pprsim.
class SigpipeIgnored {
 public:
  SigpipeIgnored() { old_ = std::signal(SIGPIPE, SIG_IGN); }
  ~SigpipeIgnored() { std::signal(SIGPIPE, old_); }
  SigpipeIgnored(const SigpipeIgnored&) = delete;
  SigpipeIgnored& operator=(const SigpipeIgnored&) = delete;

 private:
  void (*old_)(int) = SIG_DFL;
};

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

FuzzSession fuzz_in_workers(const FuzzOptions& opt, int jobs) {
  quiet_rapidcheck_banner();
  SigpipeIgnored sigpipe;
  Pool pool(opt, std::max(1, jobs));
  return pool.run();
}

}  // namespace pprsim
