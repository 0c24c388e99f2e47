#include "tools/native_replay.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

namespace pprsim {

// Reads a "Name:   N kB" line of /proc/self/status without allocating; 0 when absent.
std::uint64_t status_kib(const char* key) {
  char buf[4096];
  const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = std::strstr(buf, key);
  if (p == nullptr) return 0;
  p += std::strlen(key);
  while (*p == ' ' || *p == '\t' || *p == ':') ++p;
  std::uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<std::uint64_t>(*p++ - '0');
  return v;
}

namespace {

constexpr std::uint64_t kProgramMagic = 0x3148434E45425050ull;  // "PPBENCH1"

struct ProgramHeader {
  std::uint64_t magic;
  std::uint64_t n_ops;
  std::uint64_t slots;
};

// The byte written at both ends of a block of slot s.
unsigned char mark(std::uint32_t slot) { return static_cast<unsigned char>(slot * 31u + 7u); }

// Resets the resident-set high-water mark (Linux: "5" into clear_refs); false when refused.
bool reset_peak_rss() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return ok;
}

class Runner {
 public:
  Runner(const NativeOp* ops, std::size_t n, std::uint32_t slots, const MallocFunctions& a)
      : ops_(ops), n_(n), slots_(slots), a_(a) {}

  bool init(std::string& error) {
    bytes_ = std::max<std::size_t>(1, slots_) * sizeof(Slot);
    void* m = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      error = "cannot map the slot table";
      return false;
    }
    table_ = static_cast<Slot*>(m);
    std::memset(table_, 0, bytes_);  // resident before the footprint baseline
    return true;
  }
  ~Runner() {
    if (table_ != nullptr) ::munmap(table_, bytes_);
  }

  // One pass over the trace, then frees what is still live (after a failure too, so that a
  // failed run leaks nothing). Returns false on a failure.
  bool pass(std::string& error) {
    const bool ok = run_ops(error);
    final_frees_ = 0;
    for (std::uint32_t s = 0; s < slots_; ++s) {
      if (table_[s].p == nullptr) continue;
      a_.free(table_[s].p);
      table_[s] = {};
      ++final_frees_;
    }
    return ok;
  }

  std::uint64_t final_frees() const { return final_frees_; }

 private:
  bool run_ops(std::string& error) {
    for (std::size_t i = 0; i < n_; ++i) {
      const NativeOp& o = ops_[i];
      switch (o.kind) {
        case NativeOpKind::Malloc:
          if (!place(o.slot, a_.malloc(o.a), o.a, i, error)) return false;
          break;
        case NativeOpKind::Calloc:
          if (!place(o.slot, a_.calloc(o.a, o.b), o.a * o.b, i, error)) return false;
          break;
        case NativeOpKind::Memalign: {
          void* p = a_.memalign(o.a, o.b);
          if (p != nullptr && (reinterpret_cast<std::uintptr_t>(p) & (o.a - 1)) != 0) {
            error = fmt::format("operation {}: memalign({}, {}) returned a misaligned pointer", i, o.a, o.b);
            return false;
          }
          if (!place(o.slot, p, o.b, i, error)) return false;
          break;
        }
        case NativeOpKind::Realloc: {
          Slot& s = table_[o.slot];
          if (s.p != nullptr && !check(o.slot, i, error)) return false;
          const bool had = s.p != nullptr && s.size > 0;
          void* q = a_.realloc(s.p, o.a);
          if (o.a == 0) {
            s.p = q;  // glibc frees and returns NULL; others hand out a minimal block
            s.size = 0;
            break;
          }
          if (q == nullptr) {
            error = fmt::format("operation {}: realloc to {} bytes returned NULL", i, o.a);
            return false;
          }
          const bool lost = had && static_cast<unsigned char*>(q)[0] != mark(o.slot);
          s.p = q;
          s.size = o.a;
          if (lost) {
            error = fmt::format("operation {}: realloc lost the object's first byte", i);
            return false;
          }
          touch(o.slot);
          break;
        }
        case NativeOpKind::Free:
          if (o.slot == kNoSlot) {
            a_.free(nullptr);
            break;
          }
          if (!check(o.slot, i, error)) return false;
          a_.free(table_[o.slot].p);
          table_[o.slot] = {};
          break;
        case NativeOpKind::Write: {
          Slot& s = table_[o.slot];
          if (s.p != nullptr) std::memset(static_cast<char*>(s.p) + o.a, mark(o.slot), o.b);
          break;
        }
        case NativeOpKind::Use: {
          const Slot& s = table_[o.slot];
          if (s.p == nullptr) break;
          const auto* c = static_cast<const unsigned char*>(s.p) + o.a;
          unsigned sum = 0;
          for (std::uint64_t k = 0; k < o.b; ++k) sum += c[k];
          sink_ = sink_ + sum;
          break;
        }
      }
    }
    return true;
  }

  struct Slot {
    void* p;
    std::uint64_t size;
  };

  bool place(std::uint32_t slot, void* p, std::uint64_t size, std::size_t i, std::string& error) {
    if (p == nullptr) {
      error = fmt::format("operation {}: allocation of {} bytes returned NULL", i, size);
      return false;
    }
    Slot& s = table_[slot];
    if (s.p != nullptr) a_.free(s.p);  // an id reallocated while live: the trace dropped a free
    s.p = p;
    s.size = size;
    touch(slot);
    return true;
  }

  void touch(std::uint32_t slot) {
    const Slot& s = table_[slot];
    if (s.size == 0) return;
    auto* c = static_cast<unsigned char*>(s.p);
    c[0] = mark(slot);
    c[s.size - 1] = mark(slot);
  }

  bool check(std::uint32_t slot, std::size_t i, std::string& error) {
    const Slot& s = table_[slot];
    if (s.p == nullptr || s.size == 0) return true;
    const auto* c = static_cast<const unsigned char*>(s.p);
    if (c[0] != mark(slot) || c[s.size - 1] != mark(slot)) {
      error = fmt::format("operation {}: an object's bytes changed while it was live", i);
      return false;
    }
    return true;
  }

  const NativeOp* ops_;
  std::size_t n_;
  std::uint32_t slots_;
  MallocFunctions a_;
  Slot* table_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint64_t final_frees_ = 0;
  volatile unsigned sink_ = 0;
};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

NativeProgram compile_native(TraceReader& reader) {
  NativeProgram p;
  std::unordered_map<std::int64_t, std::uint32_t> slot_of;
  std::vector<std::uint64_t> live_size;
  std::uint64_t live = 0;
  auto slot = [&](std::int64_t id) {
    auto [it, fresh] = slot_of.try_emplace(id, static_cast<std::uint32_t>(slot_of.size()));
    if (fresh) live_size.push_back(0);
    return it->second;
  };
  auto set_live = [&](std::uint32_t s, std::uint64_t size) {
    live -= live_size[s];
    live_size[s] = size;
    live += size;
    p.peak_live_bytes = std::max(p.peak_live_bytes, live);
  };
  Event ev;
  while (reader.next(ev)) {
    ++p.events;
    switch (ev.op) {
      case Op::PprBegin:
      case Op::PprEnd:
        break;
      case Op::Malloc: {
        const std::uint32_t s = slot(ev.id);
        p.ops.push_back({NativeOpKind::Malloc, s, ev.size, 0});
        set_live(s, ev.size);
        break;
      }
      case Op::Calloc: {
        const std::uint32_t s = slot(ev.id);
        p.ops.push_back({NativeOpKind::Calloc, s, ev.count, ev.size});
        set_live(s, ev.count * ev.size);
        break;
      }
      case Op::Memalign: {
        const std::uint32_t s = slot(ev.id);
        p.ops.push_back({NativeOpKind::Memalign, s, ev.align, ev.size});
        set_live(s, ev.size);
        break;
      }
      case Op::Realloc: {
        const std::uint32_t s = slot(ev.id);
        p.ops.push_back({NativeOpKind::Realloc, s, ev.size, 0});
        set_live(s, ev.size);
        break;
      }
      case Op::Free: {
        if (ev.id < 0) {
          p.ops.push_back({NativeOpKind::Free, kNoSlot, 0, 0});
          break;
        }
        const std::uint32_t s = slot(ev.id);
        p.ops.push_back({NativeOpKind::Free, s, 0, 0});
        set_live(s, 0);
        break;
      }
      case Op::Write:
      case Op::Use: {
        const std::uint32_t s = slot(ev.id);
        p.ops.push_back({ev.op == Op::Write ? NativeOpKind::Write : NativeOpKind::Use, s, ev.offset, ev.size});
        break;
      }
    }
    if (is_allocator_op(ev.op)) ++p.allocator_calls;
  }
  if (slot_of.size() >= kNoSlot) throw TraceError(reader.name(), 0, "too many distinct object ids for a native replay");
  p.slots = static_cast<std::uint32_t>(slot_of.size());
  return p;
}

NativeRun run_native(const NativeOp* ops, std::size_t n_ops, std::uint32_t slots, const MallocFunctions& alloc,
                     int repetitions, double min_seconds) {
  NativeRun r;
  Runner runner(ops, n_ops, slots, alloc);
  if (!runner.init(r.failure)) {
    r.ok = false;
    return r;
  }
  // The untimed first pass: warms the allocator up and measures the resident-set growth.
  const std::uint64_t base_kib = status_kib("VmRSS");
  const bool reset = reset_peak_rss();
  if (!runner.pass(r.failure)) {
    r.ok = false;
    return r;
  }
  const std::uint64_t peak_kib = status_kib(reset ? "VmHWM" : "VmRSS");
  r.footprint_bytes = peak_kib > base_kib ? (peak_kib - base_kib) * 1024 : 0;
  std::uint64_t calls = 0;
  for (std::size_t i = 0; i < n_ops; ++i) {
    if (ops[i].kind != NativeOpKind::Write && ops[i].kind != NativeOpKind::Use) ++calls;
  }
  r.calls_per_pass = calls + runner.final_frees();

  // Calibrate: double the passes until one repetition lasts min_seconds.
  std::uint64_t passes = 1;
  for (;;) {
    const double t0 = now_seconds();
    for (std::uint64_t k = 0; k < passes; ++k) {
      if (!runner.pass(r.failure)) {
        r.ok = false;
        return r;
      }
    }
    const double dt = now_seconds() - t0;
    if (dt >= min_seconds || passes >= (std::uint64_t{1} << 30)) break;
    passes = dt <= 0 ? passes * 16 : std::max(passes * 2, static_cast<std::uint64_t>(passes * min_seconds * 1.2 / dt));
  }
  r.passes = passes;
  for (int rep = 0; rep < repetitions; ++rep) {
    const double t0 = now_seconds();
    for (std::uint64_t k = 0; k < passes; ++k) {
      if (!runner.pass(r.failure)) {
        r.ok = false;
        return r;
      }
    }
    r.seconds.push_back(now_seconds() - t0);
  }
  return r;
}

int program_to_memfd(const NativeProgram& p) {
  const int fd = ::memfd_create("pprsim-bench-program", MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  const ProgramHeader h{kProgramMagic, p.ops.size(), p.slots};
  auto put = [&](const void* data, std::size_t n) {
    const char* c = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd, c, n);
      if (w <= 0) return false;
      c += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  };
  if (!put(&h, sizeof h) || !put(p.ops.data(), p.ops.size() * sizeof(NativeOp)) ||
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool map_program(int fd, MappedProgram& out, std::string& error) {
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < static_cast<off_t>(sizeof(ProgramHeader))) {
    error = fmt::format("descriptor {} holds no bench program", fd);
    return false;
  }
  void* m = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) {
    error = fmt::format("cannot map descriptor {}", fd);
    return false;
  }
  const auto* h = static_cast<const ProgramHeader*>(m);
  if (h->magic != kProgramMagic || h->slots >= kNoSlot ||
      static_cast<std::uint64_t>(size) != sizeof(ProgramHeader) + h->n_ops * sizeof(NativeOp)) {
    ::munmap(m, static_cast<std::size_t>(size));
    error = fmt::format("descriptor {} holds no bench program", fd);
    return false;
  }
  out.ops = reinterpret_cast<const NativeOp*>(static_cast<const char*>(m) + sizeof(ProgramHeader));
  out.n_ops = h->n_ops;
  out.slots = static_cast<std::uint32_t>(h->slots);
  return true;
}

}  // namespace pprsim
