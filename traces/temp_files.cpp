#include "traces/temp_files.h"

#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace pprsim {
namespace {

// A slot is free (0), being filled or emptied (1), or holds a path the handler removes (2).
constexpr int kSlots = 64;
struct Slot {
  std::atomic<int> state{0};
  char path[PATH_MAX] = {};
};
Slot g_slots[kSlots];
std::atomic<pid_t> g_owner{0};    // the process that registered the files (not a forked child)
std::atomic<pid_t> g_forward{0};  // a child to pass the signal on to
std::atomic<bool> g_installed{false};

extern "C" void remove_temp_files_and_exit(int sig) {
  if (::getpid() == g_owner.load()) {
    if (const pid_t child = g_forward.load(); child > 0) ::kill(child, sig);
    for (Slot& s : g_slots) {
      if (s.state.load(std::memory_order_acquire) == 2) ::unlink(s.path);
    }
  }
  ::_exit(128 + sig);
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

}  // namespace

void install_signal_cleanup() {
  if (g_installed.exchange(true)) return;
  g_owner.store(::getpid());
  struct sigaction sa {};
  sa.sa_handler = remove_temp_files_and_exit;
  ::sigemptyset(&sa.sa_mask);
  for (const int sig : kSignals) ::sigaddset(&sa.sa_mask, sig);
  for (const int sig : kSignals) {
    struct sigaction old {};
    ::sigaction(sig, nullptr, &old);
    // A signal ignored when pprsim started (nohup, a shell's background job) stays ignored.
    if (old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &sa, nullptr);
  }
}

TempFileGuard::TempFileGuard(const std::string& path) {
  if (path.size() >= PATH_MAX) return;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_slots[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].state.store(2, std::memory_order_release);
    slot_ = i;
    return;
  }
}

TempFileGuard& TempFileGuard::operator=(TempFileGuard&& other) noexcept {
  if (this != &other) {
    release();
    slot_ = other.slot_;
    other.slot_ = -1;
  }
  return *this;
}

void TempFileGuard::release() {
  if (slot_ < 0) return;
  g_slots[slot_].state.store(0, std::memory_order_release);
  slot_ = -1;
}

CleanupSignalsBlocked::CleanupSignalsBlocked() {
  sigset_t block;
  ::sigemptyset(&block);
  for (const int sig : kSignals) ::sigaddset(&block, sig);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_);
}

CleanupSignalsBlocked::~CleanupSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

void set_signal_forward_pid(pid_t pid) { g_forward.store(pid); }

}  // namespace pprsim
