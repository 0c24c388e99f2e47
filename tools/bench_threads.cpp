#include "tools/bench_threads.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

namespace pprsim {

namespace {

// Work per run, split among the threads.
constexpr std::uint64_t kServerObjects = 400000;
constexpr std::size_t kServerSlots = 8192;
constexpr std::uint64_t kMessages = 400000;
constexpr std::size_t kQueue = 1024;
constexpr std::uint64_t kShareObjects = 400000;
constexpr int kShareWindow = 8;
constexpr int kShareWrites = 32;

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Object sizes of a server: mostly small, some medium, a few large.
std::size_t server_size(Rng& r) {
  const std::uint64_t x = r.next();
  const std::uint64_t pick = x % 1000;
  if (pick < 800) return 16 + (x >> 12) % 240;
  if (pick < 970) return 256 + (x >> 12) % 3840;
  if (pick < 997) return 4096 + (x >> 12) % 28672;
  return 65536 + (x >> 12) % (448 * 1024);
}

// An object's first and last byte carry a mark derived from its size; checked before free.
struct Obj {
  unsigned char* p;
  std::size_t n;
};
unsigned char mark_of(std::size_t n) { return static_cast<unsigned char>(n * 131 + 17); }

Obj make(const MallocFunctions& a, std::size_t n) {
  auto* p = static_cast<unsigned char*>(a.malloc(n));
  if (p != nullptr) {
    p[0] = mark_of(n);
    p[n - 1] = mark_of(n);
  }
  return {p, n};
}

// False when the object was damaged.
bool release(const MallocFunctions& a, Obj o) {
  if (o.p == nullptr) return true;
  const bool ok = o.p[0] == mark_of(o.n) && o.p[o.n - 1] == mark_of(o.n);
  a.free(o.p);
  return ok;
}

// Runs body(t) on `threads` threads started together; the wall-clock seconds until all ended.
template <class Body>
double run_threads(int threads, Body body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Outcome {
  std::atomic<bool> ok{true};
  std::atomic<std::uint64_t> calls{0};
};

void server(const MallocFunctions& a, int threads, Outcome& out, double& seconds) {
  // Each slot holds a packed object (pointer and size) behind a spin flag of its own.
  struct Slot {
    std::atomic<bool> busy{false};
    Obj obj{nullptr, 0};
  };
  auto slots = std::make_unique<Slot[]>(kServerSlots);
  const std::uint64_t per = kServerObjects / static_cast<std::uint64_t>(threads);
  seconds = run_threads(threads, [&](int t) {
    Rng r{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(t + 1)};
    std::uint64_t calls = 0;
    bool ok = true;
    for (std::uint64_t i = 0; i < per; ++i) {
      const Obj o = make(a, server_size(r));
      ok = ok && o.p != nullptr;
      Slot& s = slots[r.next() % kServerSlots];
      while (s.busy.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
      const Obj old = s.obj;
      s.obj = o;
      s.busy.store(false, std::memory_order_release);
      ok = release(a, old) && ok;
      calls += old.p != nullptr ? 2 : 1;
    }
    out.calls += calls;
    if (!ok) out.ok = false;
  });
  for (std::size_t i = 0; i < kServerSlots; ++i) {
    if (!release(a, slots[i].obj)) out.ok = false;
  }
}

// A bounded single-producer single-consumer queue.
struct Queue {
  alignas(64) std::atomic<std::uint64_t> head{0};
  alignas(64) std::atomic<std::uint64_t> tail{0};
  Obj items[kQueue];
};

void prodcons(const MallocFunctions& a, int threads, Outcome& out, double& seconds) {
  if (threads == 1) {
    seconds = run_threads(1, [&](int) {
      Rng r{12345};
      Obj batch[64];
      bool ok = true;
      for (std::uint64_t i = 0; i < kMessages; i += 64) {
        for (Obj& o : batch) o = make(a, 32 + r.next() % 992);
        for (Obj& o : batch) ok = release(a, o) && ok;
      }
      out.calls += 2 * ((kMessages + 63) / 64) * 64;
      if (!ok) out.ok = false;
    });
    return;
  }
  const int pairs = threads / 2;
  auto queues = std::make_unique<Queue[]>(static_cast<std::size_t>(pairs));
  const std::uint64_t per = kMessages / static_cast<std::uint64_t>(pairs);
  // An odd thread out (3, 5, ...) idles: only pairs run.
  seconds = run_threads(2 * pairs, [&](int t) {
    Queue& q = queues[static_cast<std::size_t>(t / 2)];
    bool ok = true;
    if (t % 2 == 0) {
      Rng r{0xA5A5A5A5ull + static_cast<std::uint64_t>(t)};
      for (std::uint64_t i = 0; i < per; ++i) {
        const Obj o = make(a, 32 + r.next() % 992);
        ok = ok && o.p != nullptr;
        const std::uint64_t h = q.head.load(std::memory_order_relaxed);
        while (h - q.tail.load(std::memory_order_acquire) == kQueue) std::this_thread::yield();
        q.items[h % kQueue] = o;
        q.head.store(h + 1, std::memory_order_release);
      }
    } else {
      for (std::uint64_t i = 0; i < per; ++i) {
        const std::uint64_t tl = q.tail.load(std::memory_order_relaxed);
        while (q.head.load(std::memory_order_acquire) == tl) std::this_thread::yield();
        const Obj o = q.items[tl % kQueue];
        q.tail.store(tl + 1, std::memory_order_release);
        ok = release(a, o) && ok;
      }
    }
    out.calls += per;
    if (!ok) out.ok = false;
  });
}

void falseshare(const MallocFunctions& a, int threads, Outcome& out, double& seconds) {
  const std::uint64_t per = kShareObjects / static_cast<std::uint64_t>(threads);
  seconds = run_threads(threads, [&](int t) {
    Rng r{0x51ED2701ull * static_cast<std::uint64_t>(t + 1)};
    Obj window[kShareWindow] = {};
    bool ok = true;
    std::uint64_t calls = 0;
    for (std::uint64_t i = 0; i < per; ++i) {
      Obj& w = window[i % kShareWindow];
      ok = release(a, w) && ok;
      calls += w.p != nullptr ? 2 : 1;
      w = make(a, 16 + r.next() % 48);
      ok = ok && w.p != nullptr;
      for (Obj& o : window) {
        if (o.p == nullptr) continue;
        for (int k = 0; k < kShareWrites / kShareWindow; ++k) {
          volatile unsigned char* b = o.p + 1 + static_cast<std::size_t>(k) % (o.n - 2);
          *b = static_cast<unsigned char>(*b + 1);
        }
      }
    }
    for (Obj& o : window) ok = release(a, o) && ok;
    out.calls += calls + kShareWindow;
    if (!ok) out.ok = false;
  });
}

}  // namespace

const std::vector<std::string>& thread_workload_names() {
  static const std::vector<std::string> names{"server", "prodcons", "falseshare"};
  return names;
}

ThreadRun run_thread_workload(std::string_view name, int threads, int repetitions, const MallocFunctions& a) {
  ThreadRun run;
  for (int rep = 0; rep < repetitions && run.ok; ++rep) {
    Outcome out;
    double seconds = 0;
    if (name == "server") {
      server(a, threads, out, seconds);
    } else if (name == "prodcons") {
      prodcons(a, threads, out, seconds);
    } else if (name == "falseshare") {
      falseshare(a, threads, out, seconds);
    } else {
      run.ok = false;
      run.failure = fmt::format("unknown workload '{}'", name);
      return run;
    }
    if (!out.ok) {
      run.ok = false;
      run.failure = fmt::format("{}: an object came back damaged or an allocation failed", name);
    }
    run.calls = out.calls;
    run.seconds.push_back(seconds);
  }
  return run;
}

}  // namespace pprsim
