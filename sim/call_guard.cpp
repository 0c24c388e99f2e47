#include "sim/call_guard.h"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace pprsim {

namespace call_guard_detail {
thread_local constinit Frame* t_current = nullptr;
}  // namespace call_guard_detail

namespace {

using call_guard_detail::Frame;
using call_guard_detail::t_current;

constexpr std::array kFatalSignals = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
constexpr std::size_t kAltStackBytes = 256 * 1024;

thread_local std::uint64_t t_calls = 0;
thread_local bool t_alt_stack = false;

// What the watchdog watches: the number of the call in progress (0: none) and its thread.
std::atomic<std::uint64_t> g_call{0};
std::atomic<pthread_t> g_caller{};
std::atomic<std::uint64_t> g_limit_ms{static_cast<std::uint64_t>(kDefaultCallTimeLimit * 1000)};
std::atomic<bool> g_watchdog_running{false};
std::mutex g_install;
std::atomic<bool> g_installed{false};
struct sigaction g_old[NSIG];

int watchdog_signal() { return SIGRTMIN + 1; }

void jump_out(Frame& f) {
  if (f.armed == 0) return;  // not yet ready to be jumped to: let the call go on
  siglongjmp(f.env, 1);
}

void on_fatal(int sig, siginfo_t* info, void* uc) {
  Frame* f = t_current;
  if (f == nullptr || f->armed == 0) {
    // Not the allocator's: pprsim's own fault goes where it went before (the default action, a
    // sanitizer's report). A fault the kernel raised is raised again when the instruction
    // re-runs; one sent by a call (abort, raise, kill) is sent again.
    sigaction(sig, &g_old[sig], nullptr);
    if (info == nullptr || info->si_code <= 0) raise(sig);
    (void)uc;
    return;
  }
  f->signal = sig;
  // The faulting address, where the kernel raised the signal; none for abort() and raise().
  const bool from_kernel = info != nullptr && info->si_code > 0;
  f->address = from_kernel ? reinterpret_cast<std::uintptr_t>(info->si_addr) : AllocatorCrash::kNoAddress;
  jump_out(*f);
}

void on_watchdog(int, siginfo_t*, void*) {
  Frame* f = t_current;
  if (f == nullptr) return;  // the call returned meanwhile
  if (f->in_callback != 0) {
    f->hang_pending = 1;
    return;
  }
  f->hung = 1;
  jump_out(*f);
}

void install_handlers() {
  const std::lock_guard lock(g_install);
  if (g_installed) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_fatal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (const int sig : kFatalSignals) sigaction(sig, &sa, &g_old[sig]);
  struct sigaction wd {};
  wd.sa_sigaction = on_watchdog;
  wd.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER;
  sigemptyset(&wd.sa_mask);
  sigaction(watchdog_signal(), &wd, nullptr);
  // A forked child (a fuzz worker) has no watchdog thread: it starts its own when it needs one.
  pthread_atfork(nullptr, nullptr, [] { g_watchdog_running.store(false); });
  g_installed = true;
}

// A stack for the handlers, so that a call that overflowed its stack can still be reported.
void ensure_alt_stack() {
  if (t_alt_stack) return;
  stack_t now{};
  if (sigaltstack(nullptr, &now) == 0 && (now.ss_flags & SS_DISABLE) == 0) {
    t_alt_stack = true;  // one is there already (a sanitizer's): use it
    return;
  }
  // Kept for the thread's life: a handler may run on it any time after this.
  static thread_local std::unique_ptr<char[]> stack(new char[kAltStackBytes]);
  stack_t ss{};
  ss.ss_sp = stack.get();
  ss.ss_size = kAltStackBytes;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, nullptr) == 0) t_alt_stack = true;
}

// Polls the call in progress; signals its thread when one call outlived the limit. Polling,
// not timing each call: the calls themselves pay nothing for it.
void watchdog_loop() {
  std::uint64_t seen = 0;
  auto since = std::chrono::steady_clock::now();
  bool fired = false;
  while (true) {
    const std::uint64_t limit_ms = g_limit_ms.load(std::memory_order_relaxed);
    const auto tick = std::chrono::milliseconds(std::clamp<std::uint64_t>(limit_ms / 20, 1, 50));
    std::this_thread::sleep_for(tick);
    const std::uint64_t call = g_call.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (call != seen) {
      seen = call;
      since = now;
      fired = false;
      continue;
    }
    if (call == 0 || fired || limit_ms == 0) continue;
    if (now - since >= std::chrono::milliseconds(limit_ms)) {
      fired = true;
      pthread_kill(g_caller.load(), watchdog_signal());
    }
  }
}

void ensure_watchdog() {
  if (g_watchdog_running.load(std::memory_order_relaxed) || g_limit_ms.load(std::memory_order_relaxed) == 0) return;
  bool expected = false;
  if (!g_watchdog_running.compare_exchange_strong(expected, true)) return;
  std::thread(watchdog_loop).detach();
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    default: return fmt::format("signal {}", sig);
  }
}

}  // namespace

AllocatorCrash::AllocatorCrash(std::string call, int signal, std::uintptr_t address, double limit_seconds)
    : AllocatorFailure(fmt::format("{} in {}", describe(signal, address, limit_seconds), call)),
      call_(std::move(call)),
      signal_(signal),
      address_(address),
      limit_seconds_(limit_seconds) {}

std::string AllocatorCrash::describe(int signal, std::uintptr_t address, double limit_seconds) {
  if (signal == 0) return fmt::format("no return within {:g} s", limit_seconds);
  std::string text = fmt::format("signal {} ({}, {})", signal, signal_name(signal), ::strsignal(signal));
  const bool has_address = signal == SIGSEGV || signal == SIGBUS || signal == SIGFPE || signal == SIGILL;
  if (has_address && address != kNoAddress) text += fmt::format(" at address {:#x}", address);
  return text;
}

void set_call_time_limit(double seconds) {
  const double ms = std::isfinite(seconds) && seconds > 0 ? std::ceil(seconds * 1000) : 0;
  g_limit_ms.store(static_cast<std::uint64_t>(ms), std::memory_order_relaxed);
}

double call_time_limit() { return static_cast<double>(g_limit_ms.load(std::memory_order_relaxed)) / 1000; }

namespace call_guard_detail {

void enter(Frame& f, const char* call) {
  if (!g_installed) install_handlers();
  ensure_alt_stack();
  ensure_watchdog();
  f.call = call;
  f.outer = t_current;
  f.number = ++t_calls;
  t_current = &f;
  g_caller.store(pthread_self(), std::memory_order_relaxed);
  g_call.store(f.number, std::memory_order_relaxed);
}

void leave(Frame& f) {
  f.armed = 0;
  // Back to the call this one was made from, if any (pprsim code a guarded call called back
  // into may call the allocator again: the outer call stays guarded and watched).
  t_current = f.outer;
  g_call.store(f.outer != nullptr ? f.outer->number : 0, std::memory_order_relaxed);
}

void raise_crash(Frame& f) {
  const std::string call = f.call;
  const int sig = f.hung != 0 ? 0 : static_cast<int>(f.signal);
  const std::uintptr_t address = f.address;
  leave(f);
  throw AllocatorCrash(call, sig, address, call_time_limit());
}

void jump_for_pending_hang(Frame& f) {
  f.hang_pending = 0;
  f.hung = 1;
  jump_out(f);
}

}  // namespace call_guard_detail

}  // namespace pprsim
