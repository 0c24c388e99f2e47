// The native worker: one process of a native run (MAIN, a task or the understudy), running the
// allocator under test as native code with the recording runtime, one request from pprsim at a
// time (native/engine/worker_protocol.h). A Fork request makes a child worker, a copy-on-write
// copy of this one, as a fork-based speculative runtime makes its tasks.
//
//     pprsim_native_worker SOCKET CHANNEL BOARD LIBRARY
//
// SOCKET is the socket to pprsim, CHANNEL and BOARD the memory files of native/engine/
// shm_channel.h, LIBRARY the allocator built with its port (native/engine/pprsim_port.h).
// A fatal signal in the allocator is reported on the channel as the process dies;
// pprsim turns it into a finding. Nothing here is built with the project's sanitizers: their
// shadow memory would sit where the allocator's heap must be (wire::kArenaBase).

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "native/engine/elf_symbols.h"
#include "native/engine/pprsim_port.h"
#include "native/engine/record_runtime.h"
#include "native/engine/shm_channel.h"
#include "native/engine/worker_arena.h"
#include "native/engine/worker_protocol.h"

namespace {

using namespace pprsim;

int g_fd = -1;
const struct pprsim_port* g_port = nullptr;
WorkerArena g_arena;  // the heap's regions (native/engine/worker_arena.h)
// Regions the allocator released during the call in progress: unmapped once the call's log is
// taken, since the log holds the bytes the call wrote there before it let them go.
std::vector<std::pair<void*, std::size_t>> g_unmap_after_call;
int g_task = -1;       // pprsim_native_task()
int g_group_size = 0;  // pprsim_native_group_size()

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "pprsim native worker: %s: %s\n", what, std::strerror(errno));
  _exit(3);
}

// ---- The channel to pprsim (native/engine/shm_channel.h) ----

wire::Board* g_board = nullptr;  // which worker pprsim talks to
std::uint64_t g_id = 1;          // this worker's number there
void* g_channel = nullptr;       // this worker's channel, mapped
wire::RingReader g_in;           // requests
wire::RingWriter g_out;          // replies, system-memory requests, a crash report
std::vector<int> g_passed;       // descriptors that came on the socket (a Fork's), not yet taken

// Blocks on the socket until a doorbell or descriptors come. Its end: pprsim let this worker go.
void sleep_on_socket() {
  char bells[64];
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  iovec iov{bells, sizeof bells};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t got = ::recvmsg(g_fd, &msg, 0);
  if (got == 0) _exit(0);
  if (got < 0) {
    if (errno == EINTR) return;
    _exit(0);
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      g_passed.push_back(fd);
    }
  }
}

// A request comes soon only while pprsim talks to this worker: spin then, sleep at once otherwise.
const auto g_wait_request = [](auto&& ready, std::atomic<std::uint32_t>& asleep) {
  wire::wait_until(ready, asleep, [] { return g_board->active.load(std::memory_order_relaxed) == g_id; },
                   sleep_on_socket);
};
const auto g_wait_room = [](auto&& ready, std::atomic<std::uint32_t>& asleep) {
  wire::wait_until(ready, asleep, [] { return true; }, sleep_on_socket);
};

void read_exact(void* to, std::size_t n) { g_in.take(to, n, g_wait_request); }

// Takes the `n` descriptors a request said would follow on the socket.
std::vector<int> take_passed(std::size_t n) {
  while (g_passed.size() < n) sleep_on_socket();
  std::vector<int> out(g_passed.begin(), g_passed.begin() + static_cast<std::ptrdiff_t>(n));
  g_passed.erase(g_passed.begin(), g_passed.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

// Maps the channel in `fd` and talks through it from now on.
bool use_channel(int fd) {
  void* at = wire::map_shared_file(fd, wire::kChannelBytes);
  ::close(fd);
  if (at == nullptr) return false;
  if (g_channel != nullptr) ::munmap(g_channel, wire::kChannelBytes);
  g_channel = at;
  auto* control = static_cast<wire::ChannelControl*>(at);
  g_in = wire::RingReader(&control->to_worker, wire::ring_to_worker(at), g_fd);
  g_out = wire::RingWriter(&control->to_pprsim, wire::ring_to_pprsim(at), g_fd);
  return true;
}

wire::Request next_request() {
  wire::Request r;
  read_exact(&r, sizeof r);
  return r;
}

void send(const wire::Message& m) {
  g_out.put(&m, sizeof m, g_wait_room);
  g_out.publish();
}

// Writes every byte of `parts` (empty ones allowed) and publishes them at once.
void write_parts(const iovec* parts, int count) {
  for (int i = 0; i < count; ++i) g_out.put(parts[i].iov_base, parts[i].iov_len, g_wait_room);
  g_out.publish();
}

// Sends `m` (its kind, counts and payload size filled in here) with a call's access log and any
// bytes after it, published at once.
void send_reply(wire::Message m, const pprsim_rec_log* log, const void* extra, std::size_t extra_len) {
  m.kind = wire::Kind::Reply;
  m.reads = log != nullptr ? log->read_count : 0;
  m.writes = log != nullptr ? log->write_count : 0;
  m.payload = (log != nullptr ? log->data_len : 0) + extra_len;
  static std::vector<wire::Span> spans;  // kept between calls: most replies need no allocation
  spans.clear();
  if (log != nullptr) {
    for (std::size_t i = 0; i < log->read_count; ++i) spans.push_back({log->reads[i].addr, log->reads[i].len});
    for (std::size_t i = 0; i < log->write_count; ++i) spans.push_back({log->writes[i].addr, log->writes[i].len});
  }
  iovec parts[] = {{&m, sizeof m},
                   {spans.data(), spans.size() * sizeof(wire::Span)},
                   {log != nullptr ? const_cast<unsigned char*>(log->data) : nullptr, log != nullptr ? log->data_len : 0},
                   {const_cast<void*>(extra), extra_len}};
  write_parts(parts, sizeof parts / sizeof parts[0]);
}

// A reply with the access log of the call that produced `result`.
void reply(std::uint64_t result, const pprsim_rec_log* log, const void* extra = nullptr, std::size_t extra_len = 0) {
  wire::Message m;
  m.gave_up = g_port->gave_up != nullptr && g_port->gave_up() != 0 ? 1 : 0;
  m.result = result;
  send_reply(m, log, extra, extra_len);
}

void unmap_released() {
  for (const auto& [p, n] : g_unmap_after_call) g_arena.unmap(reinterpret_cast<std::uintptr_t>(p), n);
  g_unmap_after_call.clear();
}

// Runs f() with the recording on and replies with its result and log.
template <class F>
void recorded(F&& f) {
  if (pprsim_rec_begin() != PPRSIM_REC_OK) fail("the recording runtime would not start a call");
  const std::uint64_t result = f();
  pprsim_rec_log* log = pprsim_rec_end();
  if (log == nullptr) fail("the recording runtime lost a call's log");
  unmap_released();
  reply(result, log);
  pprsim_rec_log_free(log);
}

std::uint64_t addr_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
void* ptr(std::uint64_t a) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(a)); }

// ---- Fatal signals: told to pprsim, then the process dies of them ----

void on_fatal(int sig, siginfo_t* info, void*) {
  wire::Message m;
  m.kind = wire::Kind::Crash;
  m.a = static_cast<std::uint64_t>(sig);
  const bool has_address = sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
  m.b = has_address && info != nullptr ? addr_of(info->si_addr) : ~std::uint64_t{0};
  // Stores and send(2) only: async-signal-safe. No room (never between calls): pprsim sees only
  // the socket close (and, for MAIN's worker, which is its child, the signal it died of).
  if (g_channel != nullptr && g_out.try_put(&m, sizeof m)) g_out.publish();
  _exit(128 + sig);
}

void install_crash_handlers() {
  // Its own stack, so that a stack overflow in the allocator is reported too.
  static std::vector<char> alt(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  if (sigaltstack(&ss, nullptr) != 0) fail("sigaltstack");
  struct sigaction sa {};
  sa.sa_sigaction = on_fatal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) sigaction(sig, &sa, nullptr);
  // Task workers are this process's children: nobody waits for them, so the kernel reaps them.
  signal(SIGCHLD, SIG_IGN);
}

// ---- The allocator's globals: its writable segments ----

struct Window {
  std::uintptr_t lo = 0;
  std::uintptr_t hi = 0;
};

Window writable_segments(void* handle) {
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) fail("dlinfo");
  struct Search {
    std::uintptr_t base;
    Window w;
  } s{map->l_addr, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_addr != s->base) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) == 0) continue;
          const std::uintptr_t lo = (info->dlpi_addr + ph.p_vaddr) & ~std::uintptr_t{4095};
          const std::uintptr_t hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + 4095) & ~std::uintptr_t{4095};
          if (s->w.hi == 0 || lo < s->w.lo) s->w.lo = lo;
          if (hi > s->w.hi) s->w.hi = hi;
        }
        return 1;
      },
      &s);
  return s.w;
}

Window g_globals;

// The census and verify, which only a port of version 2 or later has room for.
bool has_census() { return g_port->version >= 2 && g_port->walk_region != nullptr && g_port->walk_free != nullptr; }
bool has_verify() { return g_port->version >= 2 && g_port->verify != nullptr; }

// The census walks and verify, outside any recording (what they read is no task's access), each
// answered in one reply.
void walk_region(const wire::Request& r) {
  std::vector<pprsim_port_block> blocks;
  int result = 1;
  if (has_census()) {
    result = g_port->walk_region(
        static_cast<uintptr_t>(r.a), r.b,
        [](void* cookie, const pprsim_port_block* b) { static_cast<std::vector<pprsim_port_block>*>(cookie)->push_back(*b); },
        &blocks);
  }
  reply(static_cast<std::uint64_t>(result), nullptr, blocks.data(), blocks.size() * sizeof(pprsim_port_block));
}

void walk_free(const wire::Request& r) {
  std::vector<wire::FreeSpan> entries;
  if (has_census()) {
    g_port->walk_free(
        r.a,
        [](void* cookie, uintptr_t block, int32_t size_class) {
          static_cast<std::vector<wire::FreeSpan>*>(cookie)->push_back({block, size_class});
        },
        &entries);
  }
  reply(0, nullptr, entries.data(), entries.size() * sizeof(wire::FreeSpan));
}

void verify() {
  char text[512] = "";
  const int broken = has_verify() ? g_port->verify(text, sizeof text) : 0;
  text[sizeof text - 1] = '\0';
  reply(broken != 0 ? 1 : 0, nullptr, text, std::strlen(text) + 1);
}

// The spec's variant=NAME, for the port's init (pprsim_native_variant).
std::string g_variant;

void hello(const std::vector<unsigned char>& payload) {
  g_variant.assign(reinterpret_cast<const char*>(payload.data()), strnlen(reinterpret_cast<const char*>(payload.data()), payload.size()));
  if (pprsim_rec_begin() != PPRSIM_REC_OK) fail("the recording runtime would not start");
  if (g_port->init != nullptr) g_port->init();
  pprsim_rec_log* log = pprsim_rec_end();
  unmap_released();
  const char* name = g_port->name != nullptr ? g_port->name : "native";
  std::vector<unsigned char> extra(name, name + std::strlen(name) + 1);
  extra.insert(extra.end(), reinterpret_cast<const unsigned char*>(g_globals.lo),
               reinterpret_cast<const unsigned char*>(g_globals.hi));
  // The Reply's a and b are the globals' window; result the port's version.
  wire::Message m;
  m.result = g_port->version;
  m.gave_up = (g_port->task_state != nullptr ? wire::kHasTaskState : 0) |
              (g_port->learn_states != nullptr ? wire::kHasLearnStates : 0) |
              (has_census() ? wire::kHasCensus : 0) | (has_verify() ? wire::kHasVerify : 0);
  m.a = g_globals.lo;
  m.b = g_globals.hi;
  send_reply(m, log, extra.data(), extra.size());
  pprsim_rec_log_free(log);
}

// r.a: the child's number on the board; its socket and its channel follow on the socket.
void fork_worker(const wire::Request& r) {
  const std::vector<int> passed = take_passed(2);
  const int child_fd = passed[0];
  // The recording's shadow of every heap byte this worker touched stays resident, all zero,
  // and fork would copy its page tables (native/engine/record_runtime.h).
  if (pprsim_rec_trim() != PPRSIM_REC_OK) fail("trimming the recording's shadow before a fork");
  const pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    close(g_fd);
    g_fd = child_fd;
    g_id = r.a;
    g_passed.clear();
    if (!use_channel(passed[1])) fail("mapping a forked worker's channel");
    if (!g_arena.detach_after_fork()) fail("mapping the heap copy-on-write in a forked worker");
    return;  // the child serves its own channel from now on
  }
  close(child_fd);
  close(passed[1]);
  reply(static_cast<std::uint64_t>(pid), nullptr);
}

std::uint64_t calloc_call(std::uint64_t count, std::uint64_t size) {
  if (g_port->calloc != nullptr) return addr_of(g_port->calloc(count, size));
  if (size != 0 && count > SIZE_MAX / size) return 0;
  void* p = g_port->malloc(count * size);
  if (p != nullptr) pprsim_shim_memset(p, 0, count * size);
  return addr_of(p);
}

// The tasks' states pprsim collected for Merge and Learn: r.a sizes, then the bytes.
struct States {
  std::vector<std::size_t> sizes;
  std::vector<const void*> states;
};

States states_of(const wire::Request& r, const std::vector<unsigned char>& payload) {
  States out{std::vector<std::size_t>(r.a), std::vector<const void*>(r.a, nullptr)};
  std::size_t off = r.a * sizeof(std::uint64_t);
  if (off > payload.size()) fail("a short list of task states");
  for (std::size_t k = 0; k < r.a; ++k) {
    std::uint64_t n = 0;
    std::memcpy(&n, payload.data() + k * sizeof n, sizeof n);
    if (n > payload.size() - off) fail("a short list of task states");
    out.sizes[k] = n;
    if (n != 0) out.states[k] = payload.data() + off;
    off += n;
  }
  return out;
}

// The port's merge, or its merge_states with the tasks' states.
void merge(const wire::Request& r, const std::vector<unsigned char>& payload) {
  const int ntasks = static_cast<int>(r.a);
  const int committed = static_cast<int>(r.b);
  if (g_port->merge_states == nullptr) {
    recorded([&] {
      if (g_port->merge != nullptr) g_port->merge(ntasks, committed);
      return std::uint64_t{0};
    });
    return;
  }
  const States s = states_of(r, payload);
  recorded([&] {
    g_port->merge_states(s.states.data(), s.sizes.data(), ntasks, committed);
    return std::uint64_t{0};
  });
}

void learn(const wire::Request& r, const std::vector<unsigned char>& payload) {
  const States s = states_of(r, payload);
  recorded([&] {
    if (g_port->learn_states != nullptr) g_port->learn_states(s.states.data(), s.sizes.data(), static_cast<int>(r.a));
    return std::uint64_t{0};
  });
}

// "global NAME+OFFSET" for an address in the allocator's globals: the exported symbol dladdr
// finds, else the library's full symbol table, which names static data too (a C allocator's
// free-list heads usually are); "" when no symbol holds it.
std::string global_named(std::uint64_t a) {
  Dl_info info{};
  if (dladdr(ptr(a), &info) == 0) return "";
  char text[256] = "";
  if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
    std::snprintf(text, sizeof text, "global %s+%#llx", info.dli_sname,
                  static_cast<unsigned long long>(a - addr_of(info.dli_saddr)));
    return text;
  }
  static const std::vector<pprsim::ElfSymbol> objects =
      info.dli_fname != nullptr ? pprsim::elf_symbols(info.dli_fname, STT_OBJECT) : std::vector<pprsim::ElfSymbol>();
  const std::uint64_t at = a - addr_of(info.dli_fbase);
  for (const pprsim::ElfSymbol& s : objects) {
    if (at >= s.start && at - s.start < std::max<std::uint64_t>(s.size, 1)) {
      std::snprintf(text, sizeof text, "global %s+%#llx", s.name.c_str(), static_cast<unsigned long long>(at - s.start));
      return text;
    }
  }
  return "";
}

void serve(const wire::Request& r, const std::vector<unsigned char>& payload) {
  const struct pprsim_port& port = *g_port;
  switch (r.op) {
    case wire::Op::Hello: hello(payload); break;
    case wire::Op::Malloc: recorded([&] { return addr_of(port.malloc(r.a)); }); break;
    case wire::Op::Calloc: recorded([&] { return calloc_call(r.a, r.b); }); break;
    case wire::Op::Memalign:
      recorded([&] { return port.memalign != nullptr ? addr_of(port.memalign(r.a, r.b)) : 0; });
      break;
    case wire::Op::Realloc: recorded([&] { return addr_of(port.realloc(ptr(r.a), r.b)); }); break;
    case wire::Op::Free:
      recorded([&] {
        port.free(ptr(r.a));
        return std::uint64_t{0};
      });
      break;
    case wire::Op::UsableSize:
      // flags 1: pprsim asking (before it copies the program's bytes in), not the program.
      if (r.flags == 1) {
        reply(port.usable_size(ptr(r.a)), nullptr);
      } else {
        recorded([&] { return std::uint64_t(port.usable_size(ptr(r.a))); });
      }
      break;
    case wire::Op::GroupInit:
      g_group_size = static_cast<int>(r.a);
      // No hook: an allocator that knows nothing of groups lets them run (and meets what it meets).
      recorded([&] { return port.group_init != nullptr ? std::uint64_t(port.group_init(static_cast<int>(r.a)) != 0) : 1; });
      break;
    case wire::Op::TaskInit:
      g_task = static_cast<int>(r.a);
      recorded([&] {
        if (port.task_init != nullptr) port.task_init(static_cast<int>(r.a));
        return std::uint64_t{0};
      });
      break;
    case wire::Op::UnderstudyInit:
      g_task = -1;
      recorded([&] {
        if (port.understudy_init != nullptr) port.understudy_init();
        return std::uint64_t{0};
      });
      break;
    case wire::Op::Merge:
      g_task = -1;
      merge(r, payload);
      break;
    case wire::Op::Learn: learn(r, payload); break;
    case wire::Op::TaskState: {
      std::vector<unsigned char> state;
      if (port.task_state != nullptr) {
        for (std::size_t need = port.task_state(nullptr, 0); need > state.size();) {
          state.resize(need);
          need = port.task_state(state.data(), state.size());
        }
      }
      reply(0, nullptr, state.data(), state.size());
      break;
    }
    case wire::Op::Fork: fork_worker(r); break;
    case wire::Op::Poke: {
      // r.a spans, then their bytes one after another.
      const std::size_t head = r.a * sizeof(wire::Span);
      if (head > payload.size()) fail("a short poke");
      std::size_t off = head;
      for (std::uint64_t i = 0; i < r.a; ++i) {
        wire::Span s;
        std::memcpy(&s, payload.data() + i * sizeof s, sizeof s);
        if (s.len > payload.size() - off) fail("a short poke");
        std::memcpy(ptr(s.addr), payload.data() + off, s.len);
        off += s.len;
      }
      reply(0, nullptr);
      break;
    }
    case wire::Op::Map:
      if (!g_arena.map(r.a, r.b, true)) fail("mapping an adopted region");
      reply(0, nullptr);
      break;
    case wire::Op::Unmap:
      g_arena.unmap(r.a, r.b);
      reply(0, nullptr);
      break;
    case wire::Op::Adopt:
      if (!g_arena.adopt()) fail("making the understudy's heap MAIN's");
      reply(0, nullptr);
      break;
    case wire::Op::Describe: {
      const std::string text = global_named(r.a);
      reply(0, nullptr, text.c_str(), text.size() + 1);
      break;
    }
    case wire::Op::WalkRegion: walk_region(r); break;
    case wire::Op::WalkFree: walk_free(r); break;
    case wire::Op::Verify: verify(); break;
    case wire::Op::SysAnswer: fail("an answer nobody asked for");
  }
}

// A system-memory request to pprsim, answered with the region's address (0: refused).
std::uint64_t ask(wire::Kind kind, std::uint64_t a, std::uint64_t b) {
  wire::Message m;
  m.kind = kind;
  m.a = a;
  m.b = b;
  send(m);
  const wire::Request answer = next_request();
  if (answer.op != wire::Op::SysAnswer) fail("a request while system memory was asked for");
  return answer.a;
}

}  // namespace

extern "C" int pprsim_native_task(void) { return g_task; }
extern "C" int pprsim_native_group_size(void) { return g_group_size; }
extern "C" const char* pprsim_native_variant(void) { return g_variant.c_str(); }

namespace {
// A region pprsim placed (`kind` says where), mapped here at its address; nullptr when refused.
void* sys_region(wire::Kind kind, std::size_t n) {
  n = (n + 4095) & ~std::size_t{4095};
  if (n == 0) return nullptr;
  const std::uint64_t a = ask(kind, n, 0);
  if (a == 0) return nullptr;
  if (!g_arena.map(a, n, false)) fail("mapping system memory where pprsim placed it");
  return ptr(a);
}
}  // namespace

extern "C" void* pprsim_native_sys_alloc(std::size_t n) { return sys_region(wire::Kind::SysAlloc, n); }
extern "C" void* pprsim_native_sys_alloc_shared(std::size_t n) { return sys_region(wire::Kind::SysAllocShared, n); }

extern "C" void pprsim_native_sys_free(void* p, std::size_t n) {
  n = (n + 4095) & ~std::size_t{4095};
  if (p == nullptr || n == 0) return;
  ask(wire::Kind::SysFree, addr_of(p), n);
  g_unmap_after_call.emplace_back(p, n);
}

// ---- The shims the build renames the allocator's library calls to (native/engine/
// symbol_rules.h): the calls themselves, with what they read and write told to the recording
// runtime, and system memory from pprsim. ----

extern "C" void __tsan_read_range(void* p, unsigned long n);
extern "C" void __tsan_write_range(void* p, unsigned long n);

namespace {
void reads(const void* p, std::size_t n) { __tsan_read_range(const_cast<void*>(p), n); }
void writes(void* p, std::size_t n) { __tsan_write_range(p, n); }
}  // namespace

extern "C" void pprsim_shim_bzero(void* p, std::size_t n) { pprsim_shim_memset(p, 0, n); }

extern "C" int pprsim_shim_memcmp(const void* a, const void* b, std::size_t n) {
  reads(a, n);
  reads(b, n);
  return std::memcmp(a, b, n);
}

extern "C" std::size_t pprsim_shim_strlen(const char* s) {
  const std::size_t n = std::strlen(s);
  reads(s, n + 1);
  return n;
}

extern "C" int pprsim_shim_strcmp(const char* a, const char* b) {
  reads(a, std::strlen(a) + 1);
  reads(b, std::strlen(b) + 1);
  return std::strcmp(a, b);
}

extern "C" char* pprsim_shim_strcpy(char* to, const char* from) {
  const std::size_t n = std::strlen(from) + 1;
  reads(from, n);
  writes(to, n);
  return static_cast<char*>(std::memcpy(to, from, n));
}

extern "C" char* pprsim_shim_strncpy(char* to, const char* from, std::size_t n) {
  const std::size_t len = strnlen(from, n);
  reads(from, len < n ? len + 1 : n);
  writes(to, n);
  return std::strncpy(to, from, n);
}

// Debug prints of the allocator (renamed from printf, puts, putchar): to standard error,
// unbuffered, so no forked process prints another's buffer again. What they print is read
// unrecorded: messages, not the allocator's behaviour.
extern "C" int pprsim_shim_printf(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  const int n = std::vfprintf(stderr, format, ap);
  va_end(ap);
  return n;
}
extern "C" int pprsim_shim_vprintf(const char* format, va_list ap) { return std::vfprintf(stderr, format, ap); }
extern "C" int pprsim_shim_puts(const char* s) { return std::fprintf(stderr, "%s\n", s); }
// What the allocator's code calls stdout (the build renames it): standard error, set in main.
extern "C" {
FILE* pprsim_shim_stdout = nullptr;
}
extern "C" int pprsim_shim_putchar(int c) { return std::fputc(c, stderr); }

// Anonymous private memory only, anywhere pprsim places it (MAP_FIXED refused): what an allocator
// asks the system for. Everything else is no memory an allocator under test should have.
extern "C" void* pprsim_shim_mmap(void* addr, std::size_t n, int prot, int flags, int fd, off_t off) {
  (void)prot;
  if ((flags & MAP_ANONYMOUS) == 0 || fd != -1 || off != 0 || (flags & MAP_FIXED) != 0 ||
      (addr != nullptr && (flags & MAP_FIXED_NOREPLACE) != 0)) {
    errno = ENOSYS;
    return MAP_FAILED;
  }
  void* p = pprsim_native_sys_alloc(n);
  if (p == nullptr) {
    errno = ENOMEM;
    return MAP_FAILED;
  }
  return p;
}

extern "C" int pprsim_shim_munmap(void* p, std::size_t n) {
  pprsim_native_sys_free(p, n);
  return 0;
}

// Regions do not grow in place here: an allocator that asks falls back to a new one.
extern "C" void* pprsim_shim_mremap(void*, std::size_t, std::size_t, int, ...) {
  errno = ENOMEM;
  return MAP_FAILED;
}

// The pages given back read as zero afterwards: a write, recorded as one.
extern "C" int pprsim_shim_madvise(void* p, std::size_t n, int advice) {
  if (advice == MADV_DONTNEED) pprsim_shim_memset(p, 0, n);
  return 0;
}

// No program break: the heap's regions come from pprsim at its addresses, which a contiguous
// break cannot follow. Allocators that try sbrk first (dlmalloc does) fall back to mmap.
extern "C" void* pprsim_shim_sbrk(std::intptr_t) {
  errno = ENOMEM;
  return reinterpret_cast<void*>(-1);
}

extern "C" int pprsim_shim_brk(void*) {
  errno = ENOMEM;
  return -1;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: pprsim_native_worker SOCKET CHANNEL BOARD LIBRARY (started by pprsim, not by hand)\n");
    return 2;
  }
  g_fd = std::atoi(argv[1]);
  g_board = static_cast<wire::Board*>(wire::map_shared_file(std::atoi(argv[3]), wire::kBoardBytes));
  ::close(std::atoi(argv[3]));
  if (g_board == nullptr || !use_channel(std::atoi(argv[2]))) {
    std::fprintf(stderr, "pprsim native worker: cannot map the channel to pprsim: %s\n", std::strerror(errno));
    return 3;
  }
  pprsim_shim_stdout = stderr;
  install_crash_handlers();
  void* handle = dlopen(argv[4], RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "pprsim native worker: %s\n", dlerror());
    return 3;
  }
  using PortFn = const struct pprsim_port* (*)();
  auto fn = reinterpret_cast<PortFn>(dlsym(handle, "pprsim_port"));
  g_port = fn != nullptr ? fn() : nullptr;
  if (g_port == nullptr || g_port->malloc == nullptr || g_port->free == nullptr || g_port->realloc == nullptr ||
      g_port->usable_size == nullptr) {
    std::fprintf(stderr, "pprsim native worker: %s has no complete pprsim_port()\n", argv[4]);
    return 3;
  }
  g_globals = writable_segments(handle);
  if (pprsim_rec_track(ptr(wire::kArenaBase), ptr(wire::kArenaBase + wire::kArenaBytes)) != PPRSIM_REC_OK) {
    fail("tracking the heap's addresses");
  }
  g_arena.open();
  if (g_globals.hi > g_globals.lo &&
      pprsim_rec_track(reinterpret_cast<void*>(g_globals.lo), reinterpret_cast<void*>(g_globals.hi)) != PPRSIM_REC_OK) {
    fail("tracking the allocator's globals");
  }
  std::vector<unsigned char> payload;
  for (;;) {
    const wire::Request r = next_request();
    payload.resize(r.payload);
    if (r.payload != 0) read_exact(payload.data(), payload.size());
    serve(r, payload);
  }
}
