// pprsim's end of a native worker process (native/engine/worker_main.cpp): starting one, forking
// it, and one call at a time over its channel (native/engine/worker_protocol.h, the bytes in
// shared memory: native/engine/shm_channel.h), with the
// system-memory requests the allocator makes during a call answered on the way, a crash of the
// allocator or a call that outlives the time limit (sim/call_guard.h) turned into an
// AllocatorCrash, and the worker let go (or killed) with its handle.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "native/engine/shm_channel.h"
#include "native/engine/worker_protocol.h"

namespace pprsim {

class NativeWorker {
 public:
  // What one call returned: the reply, the call's access log and any bytes after it.
  struct Reply {
    wire::Message msg;
    std::vector<wire::Span> reads;
    std::vector<wire::Span> writes;
    std::vector<std::uint8_t> data;   // the written bytes, in the order of `writes`
    std::vector<std::uint8_t> extra;  // what follows them (Hello: the port's name and the globals)
  };
  // Answers a system-memory request of the allocator: the region's address, 0 when refused.
  using SysHandler = std::function<std::uint64_t(const wire::Message&)>;

  // Starts a worker on `library` (an allocator built with its port). Throws std::runtime_error
  // when no worker can be started.
  static std::unique_ptr<NativeWorker> start(const std::string& library);

  NativeWorker(const NativeWorker&) = delete;
  NativeWorker& operator=(const NativeWorker&) = delete;
  ~NativeWorker();

  // A child worker: a copy-on-write fork of this one.
  std::unique_ptr<NativeWorker> fork(const char* call);

  // Sends `r` (and `payload`) and waits for its reply. `call` names the allocator function for a
  // crash's report. Throws AllocatorCrash when the allocator crashed or hung, AllocatorFailure
  // when the worker went away without a word.
  Reply call(const char* call, const wire::Request& r, const void* payload, std::size_t payload_len,
             const SysHandler& sys);

 private:
  struct Mapping;  // a shared mapping, unmapped with its last user
  struct Shared;   // what every worker of one start shares: the board and the next worker's number

  NativeWorker(int fd, int pid, bool child_of_pprsim, std::shared_ptr<Mapping> channel, std::shared_ptr<Shared> shared,
               std::uint64_t id);
  static std::shared_ptr<Mapping> map_file(int fd, std::uint64_t bytes);
  void send(const wire::Request& r, const void* payload, std::size_t payload_len);
  void arm();
  Reply await(const char* call, const SysHandler& sys);
  void receive(const char* call, void* to, std::size_t n);
  // Blocks until the worker rings or goes away (then throws, unless `ready` holds by then).
  template <class Ready>
  void sleep(const char* call, Ready&& ready);
  void kill_now();  // the worker is of no more use: killed, and marked dead
  [[noreturn]] void hung(const char* call);
  [[noreturn]] void lost(const char* call);
  [[noreturn]] void malformed(const char* call);
  static std::int64_t now_ms();

  int fd_;  // the socket: doorbells, descriptors on a fork, and the end of the stream
  int pid_;
  bool child_;        // started by pprsim (reaped here), or forked by another worker
  bool dead_ = false;
  std::int64_t deadline_ms_ = 0;  // the call in progress must end by then (0: no limit)
  std::shared_ptr<Mapping> channel_;
  std::shared_ptr<Shared> shared_;
  std::uint64_t id_;  // this worker's number on the board
  wire::RingWriter out_;
  wire::RingReader in_;
};

}  // namespace pprsim
