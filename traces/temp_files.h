// The temporary files this process has made and not yet renamed or removed, so that SIGINT,
// SIGTERM or SIGHUP never leaves one behind: the handler installed by
// install_signal_cleanup() removes every registered file and ends the process with exit status
// 128 + the signal's number. Registration is async-signal-safe to read: a fixed table, no
// allocation in the handler.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <string>

namespace pprsim {

// Installs the handler for SIGINT, SIGTERM and SIGHUP (once per process; later calls do nothing).
void install_signal_cleanup();

// A registered temporary file: removed by the signal handler until release() (or destruction).
// It does not remove the file itself; its owner does that, or renames it, then releases it.
class TempFileGuard {
 public:
  TempFileGuard() = default;
  explicit TempFileGuard(const std::string& path);
  ~TempFileGuard() { release(); }
  TempFileGuard(TempFileGuard&& other) noexcept : slot_(other.slot_) { other.slot_ = -1; }
  TempFileGuard& operator=(TempFileGuard&& other) noexcept;
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

  // Stops removing the file on a signal (call after it has been renamed or removed).
  void release();

 private:
  int slot_ = -1;
};

// While alive, SIGINT, SIGTERM and SIGHUP wait: for creating a temporary file and registering it
// as one step, so that a signal never sees one without the other.
class CleanupSignalsBlocked {
 public:
  CleanupSignalsBlocked();
  ~CleanupSignalsBlocked();
  CleanupSignalsBlocked(const CleanupSignalsBlocked&) = delete;
  CleanupSignalsBlocked& operator=(const CleanupSignalsBlocked&) = delete;

 private:
  sigset_t old_{};
};

// A child process the handler passes the signal on to before exiting (0: none), such as the
// program `pprsim record` runs.
void set_signal_forward_pid(pid_t pid);

}  // namespace pprsim
