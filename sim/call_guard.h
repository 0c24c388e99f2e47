// Containment of the allocator under test. A call into code pprsim does not trust (a plugin's
// functions) runs under guarded(): a fatal signal raised in it (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
// SIGABRT from abort() or a failed assert, SIGTRAP, SIGSYS) or a call that does not return
// within the time limit ends the call with an AllocatorCrash instead of ending pprsim. The run
// then stops as FAILED, naming the call, the trace line, the task and the signal.
//
// How: a per-thread jump buffer set before the call, signal handlers on an alternate stack
// (so that a stack overflow is caught too) that jump back to it, and one watchdog thread that
// watches a call counter; when the same call has been running longer than the limit it signals
// the calling thread, which jumps back as for a crash. A call costs two relaxed atomic stores
// and a sigsetjmp; nothing is timed per call.
//
// What it cannot contain: a plugin that writes through a wild pointer into pprsim's own memory
// (it shares the process), or that calls exit(). A signal raised outside any guarded call is
// pprsim's own and goes to the handler that was there before (the default, or a sanitizer's).
#pragma once

#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <string>
#include <type_traits>

#include "sim/sim_allocator.h"

namespace pprsim {

// The allocator crashed or hung inside a call. An AllocatorFailure, so that code that copes with
// a failed allocator (a heap map that cannot be walked) copes with this one too.
class AllocatorCrash : public AllocatorFailure {
 public:
  AllocatorCrash(std::string call, int signal, std::uintptr_t address, double limit_seconds);
  const std::string& call() const { return call_; }
  int signal() const { return signal_; }  // 0: it hung
  bool hung() const { return signal_ == 0; }
  // "signal 11 (SIGSEGV, segmentation fault) at address 0x10" or "no return within 10 s".
  std::string reason() const { return describe(signal_, address_, limit_seconds_); }
  static std::string describe(int signal, std::uintptr_t address, double limit_seconds);
  static constexpr std::uintptr_t kNoAddress = ~std::uintptr_t{0};  // a signal sent, not a fault

 private:
  std::string call_;
  int signal_;
  std::uintptr_t address_;
  double limit_seconds_;
};

// The longest a guarded call may take before it counts as hung; 0: no limit. Process-wide.
void set_call_time_limit(double seconds);
double call_time_limit();
inline constexpr double kDefaultCallTimeLimit = 10;

namespace call_guard_detail {

struct Frame {
  sigjmp_buf env;
  const char* call = nullptr;
  volatile std::sig_atomic_t signal = 0;
  volatile std::uintptr_t address = 0;
  volatile std::sig_atomic_t hung = 0;
  // pprsim's own code runs inside the call (a memory callback): a hang noticed now is acted on
  // when the callback returns to the plugin, never by jumping over pprsim's frames.
  volatile std::sig_atomic_t in_callback = 0;
  volatile std::sig_atomic_t hang_pending = 0;
  volatile std::sig_atomic_t armed = 0;  // env is set: a handler may jump to it
  Frame* outer = nullptr;                 // the guarded call this one was made from, if any
  std::uint64_t number = 0;               // this call's number, for the watchdog
};

// The guarded call in progress on this thread (null: none).
extern thread_local constinit Frame* t_current;

void enter(Frame& f, const char* call);
void jump_for_pending_hang(Frame& f);  // returns only when f is not armed yet
void leave(Frame& f);
[[noreturn]] void raise_crash(Frame& f);

}  // namespace call_guard_detail

// Runs f() under the guard; throws AllocatorCrash if it crashed or hung. `call` names the
// allocator function for reports (a string literal). Calls nest: one made from pprsim code that
// a guarded call called back (a census visitor) is guarded on its own, and the outer one again
// once it returns.
template <class F>
auto guarded(const char* call, F&& f) -> decltype(f()) {
  call_guard_detail::Frame frame;
  call_guard_detail::enter(frame, call);
  // No signal mask saved (that is a system call per call): the handlers run with SA_NODEFER and
  // an empty mask, so jumping out of one leaves the mask as the call found it.
  if (sigsetjmp(frame.env, 0) != 0) call_guard_detail::raise_crash(frame);
  frame.armed = 1;
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      call_guard_detail::leave(frame);
    } else {
      auto r = f();
      call_guard_detail::leave(frame);
      return r;
    }
  } catch (...) {
    call_guard_detail::leave(frame);
    throw;
  }
}

// Around pprsim code that a guarded call calls back (the plugin's memory callbacks): marks the
// frame, and on the way back out, jumps if the watchdog fired meanwhile. Inline: a plugin makes
// several callbacks per call.
class CallbackScope {
 public:
  CallbackScope() : frame_(call_guard_detail::t_current) {
    if (frame_ != nullptr) frame_->in_callback = 1;
  }
  ~CallbackScope() {
    if (frame_ != nullptr) frame_->in_callback = 0;
  }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  // Call after the scope ended, from the C entry point (no C++ object with a destructor live):
  // jumps out of the guarded call if the watchdog fired while pprsim's code ran.
  static void act_on_pending_hang() {
    call_guard_detail::Frame* f = call_guard_detail::t_current;
    if (f != nullptr && f->hang_pending != 0) call_guard_detail::jump_for_pending_hang(*f);
  }

 private:
  call_guard_detail::Frame* frame_;
};

}  // namespace pprsim
