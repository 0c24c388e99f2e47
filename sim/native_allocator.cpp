#include "sim/native_allocator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "native/engine/pprsim_port.h"

namespace pprsim {

std::uint64_t NativeLayout::to_real(Addr a) const {
  if (a >= wire::kGlobalsBase && a - wire::kGlobalsBase < globals_hi - globals_lo) return globals_lo + (a - wire::kGlobalsBase);
  return a;
}

Addr NativeLayout::to_sim(std::uint64_t a) const {
  if (a >= globals_lo && a < globals_hi) return wire::kGlobalsBase + (a - globals_lo);
  return a;
}

bool NativeLayout::in_worker(Addr a) const {
  return (a >= wire::kArenaBase && a - wire::kArenaBase < wire::kArenaBytes) ||
         (a >= wire::kGlobalsBase && a - wire::kGlobalsBase < globals_hi - globals_lo);
}

NativeAllocator::NativeAllocator(std::unique_ptr<NativeWorker> worker, SimMemory& mem,
                                 std::shared_ptr<const NativeLayout> layout, int task)
    : worker_(std::move(worker)), mem_(&mem), layout_(std::move(layout)), task_(task) {}

std::unique_ptr<SimAllocator> NativeAllocator::clone(SimMemory& mem) const {
  auto copy = std::make_unique<NativeAllocator>(worker_->fork("fork"), mem, layout_, task_);
  copy->gave_up_ = gave_up_;
  return copy;
}

std::uint64_t NativeAllocator::answer_sys(const wire::Message& m) {
  if (m.kind == wire::Kind::SysFree) {
    // Released once the call's log is replayed: the log holds the call's accesses to the region
    // before it let it go (its header, read to learn its size).
    releases_.emplace_back(m.a, m.b);
    return 0;
  }
  // Inside a task, the port's system memory comes from the task's own slice (pprsim_port.h),
  // unless it asks for the process's own, as the system's mmap under fork would give it.
  const bool slice = task_ >= 0 && m.kind != wire::Kind::SysAllocShared;
  const Addr a = slice ? mem_->task_sys_alloc(m.a) : mem_->sys_alloc(m.a);
  if (a != 0 && !layout_->in_worker(a + m.a - 1)) {
    mem_->sys_free(a, m.a);
    throw AllocatorFailure(fmt::format("system memory at {:#x} ({} B) lies outside the native heap's addresses", a, m.a));
  }
  return a;
}

NativeWorker::Reply NativeAllocator::call(const char* name, wire::Op op, std::uint64_t a, std::uint64_t b) {
  wire::Request r;
  r.op = op;
  r.a = a;
  r.b = b;
  return call(name, r, {});
}

NativeWorker::Reply NativeAllocator::call(const char* name, wire::Request r, const std::vector<std::uint8_t>& payload) {
  r.payload = payload.size();
  releases_.clear();
  NativeWorker::Reply rep = worker_->call(name, r, payload.data(), payload.size(),
                                          [this](const wire::Message& m) { return answer_sys(m); });
  gave_up_ = rep.msg.gave_up != 0;
  replay(rep);
  for (const auto& [base, size] : releases_) mem_->sys_free(base, size);
  releases_.clear();
  return rep;
}

void NativeAllocator::replay(const NativeWorker::Reply& r) {
  // Reads first: each was a read of a byte the call had not written yet, so the access log sees
  // it before the call's own writes, as it happened.
  std::vector<std::uint8_t> scratch;
  for (const wire::Span& s : r.reads) {
    scratch.resize(s.len);
    mem_->read(layout_->to_sim(s.addr), scratch.data(), s.len);
  }
  std::uint64_t off = 0;
  for (const wire::Span& s : r.writes) {
    mem_->write(layout_->to_sim(s.addr), r.data.data() + off, s.len);
    off += s.len;
  }
}

Addr NativeAllocator::malloc(std::uint64_t n) { return result(call("malloc", wire::Op::Malloc, n)); }

Addr NativeAllocator::calloc(std::uint64_t count, std::uint64_t size) {
  return result(call("calloc", wire::Op::Calloc, count, size));
}

Addr NativeAllocator::memalign(std::uint64_t align, std::uint64_t n) {
  return result(call("memalign", wire::Op::Memalign, align, n));
}

Addr NativeAllocator::realloc(Addr p, std::uint64_t n) {
  if (p != 0) {
    // The worker has the allocator's bytes but not the program's: what the program wrote into
    // the block goes there first, so that the allocator copies what the simulator holds.
    // Flag 1: not recorded, pprsim asking and not the program.
    const std::uint64_t usable =
        control("malloc_usable_size", wire::Op::UsableSize, layout_->to_real(p), 0, {}, 1).msg.result;
    if (usable != 0 && usable < (std::uint64_t{1} << 34)) {
      Pokes program;
      program.spans.push_back({p, usable});
      program.data.resize(usable);
      mem_->peek(p, program.data.data(), usable);
      poke(program);
    }
  }
  return result(call("realloc", wire::Op::Realloc, layout_->to_real(p), n));
}

void NativeAllocator::free(Addr p) { call("free", wire::Op::Free, layout_->to_real(p)); }

std::uint64_t NativeAllocator::usable_size(Addr p) {
  return call("malloc_usable_size", wire::Op::UsableSize, layout_->to_real(p)).msg.result;
}

bool NativeAllocator::group_init(int g) {
  return call("group_init", wire::Op::GroupInit, static_cast<std::uint64_t>(g)).msg.result != 0;
}

void NativeAllocator::task_init(int k) {
  task_ = k;
  call("task_init", wire::Op::TaskInit, static_cast<std::uint64_t>(k));
}

void NativeAllocator::understudy_init() {
  task_ = -1;
  call("understudy_init", wire::Op::UnderstudyInit);
}

std::vector<std::uint8_t> NativeAllocator::task_state() const {
  if (!layout_->keeps_state) return {};
  try {
    return control("task_state", wire::Op::TaskState).extra;
  } catch (const AllocatorFailure&) {
    return {};  // a task whose worker is gone (it crashed) has no state to give
  }
}

namespace {

// Every task's state (empty where the port keeps none), their sizes first.
std::vector<std::uint8_t> states_of(std::span<const SimAllocator* const> tasks) {
  std::vector<std::uint8_t> payload(tasks.size() * sizeof(std::uint64_t));
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    const std::vector<std::uint8_t> state = static_cast<const NativeAllocator*>(tasks[k])->task_state();
    const std::uint64_t n = state.size();
    std::memcpy(payload.data() + k * sizeof n, &n, sizeof n);
    payload.insert(payload.end(), state.begin(), state.end());
  }
  return payload;
}

}  // namespace

void NativeAllocator::learn(std::span<const SimAllocator* const> tasks) {
  if (!layout_->learns || tasks.empty()) return;
  wire::Request r;
  r.op = wire::Op::Learn;
  r.a = tasks.size();
  call("learn", r, states_of(tasks));
}

void NativeAllocator::merge(std::span<const SimAllocator* const> tasks, std::size_t committed) {
  task_ = -1;
  const std::vector<std::uint8_t> payload = layout_->keeps_state ? states_of(tasks) : std::vector<std::uint8_t>();
  wire::Request r;
  r.op = wire::Op::Merge;
  r.a = tasks.size();
  r.b = committed;
  call("merge", r, payload);
}

std::string NativeAllocator::describe(Addr, std::uint64_t, Addr a) { return fmt::format("heap memory at {:#x}", a); }

std::string NativeAllocator::describe_outside(Addr a) {
  const std::uint64_t globals = layout_->globals_hi - layout_->globals_lo;
  if (a < wire::kGlobalsBase || a - wire::kGlobalsBase >= globals) return "";
  try {
    const NativeWorker::Reply r = control("describe", wire::Op::Describe, layout_->to_real(a));
    const auto* text = reinterpret_cast<const char*>(r.extra.data());
    const std::string named(text, strnlen(text, r.extra.size()));
    if (!named.empty()) return fmt::format("allocator {}", named);
  } catch (const AllocatorFailure&) {
    // A worker that is gone names nothing; the offset says where.
  }
  return fmt::format("allocator globals at offset {:#x}", a - wire::kGlobalsBase);
}

void NativeAllocator::poke(const Pokes& pokes) {
  if (pokes.spans.empty()) return;
  std::vector<std::uint8_t> payload(pokes.spans.size() * sizeof(wire::Span));
  for (std::size_t i = 0; i < pokes.spans.size(); ++i) {
    const wire::Span s{layout_->to_real(pokes.spans[i].addr), pokes.spans[i].len};
    std::memcpy(payload.data() + i * sizeof s, &s, sizeof s);
  }
  payload.insert(payload.end(), pokes.data.begin(), pokes.data.end());
  control("commit", wire::Op::Poke, pokes.spans.size(), 0, payload);
}

void NativeAllocator::map(Addr a, std::uint64_t n) { control("commit", wire::Op::Map, a, n); }

void NativeAllocator::unmap(Addr a, std::uint64_t n) { control("commit", wire::Op::Unmap, a, n); }

void NativeAllocator::adopt() { control("adopt", wire::Op::Adopt); }

bool NativeAllocator::walk_region(Addr base, std::uint64_t size, const BlockVisit& visit) {
  if (!layout_->census) return true;
  const NativeWorker::Reply r = control("walk_region", wire::Op::WalkRegion, base, size);
  for (std::size_t at = 0; at + sizeof(pprsim_port_block) <= r.extra.size(); at += sizeof(pprsim_port_block)) {
    pprsim_port_block b;
    std::memcpy(&b, r.extra.data() + at, sizeof b);
    BlockInfo info;
    info.start = b.start;
    info.size = b.size;
    info.kind = b.kind == PPRSIM_PORT_LIVE   ? BlockInfo::Kind::Live
                : b.kind == PPRSIM_PORT_FREE ? BlockInfo::Kind::Free
                                             : BlockInfo::Kind::Corrupt;
    info.payload = b.payload;
    info.usable = b.usable;
    info.size_class = b.size_class;
    visit(info);
  }
  return r.msg.result != 0;
}

void NativeAllocator::walk_free(std::uint64_t max_steps, const FreeVisit& visit) {
  if (!layout_->census) return;
  const NativeWorker::Reply r = control("walk_free", wire::Op::WalkFree, max_steps);
  for (std::size_t at = 0; at + sizeof(wire::FreeSpan) <= r.extra.size(); at += sizeof(wire::FreeSpan)) {
    wire::FreeSpan f;
    std::memcpy(&f, r.extra.data() + at, sizeof f);
    visit(FreeEntry{f.block, static_cast<int>(f.size_class)});
  }
}

std::string NativeAllocator::verify() {
  if (!layout_->verifies) return "";
  const NativeWorker::Reply r = control("verify", wire::Op::Verify);
  if (r.msg.result == 0) return "";
  const auto* text = reinterpret_cast<const char*>(r.extra.data());
  const std::string broken(text, strnlen(text, r.extra.size()));
  return broken.empty() ? "the port's verify() failed without saying why" : broken;
}

NativeWorker::Reply NativeAllocator::control(const char* name, wire::Op op, std::uint64_t a, std::uint64_t b,
                                             const std::vector<std::uint8_t>& payload, std::uint32_t flags) const {
  wire::Request q;
  q.op = op;
  q.flags = flags;
  q.a = a;
  q.b = b;
  q.payload = payload.size();
  return worker_->call(name, q, payload.data(), payload.size(), nullptr);
}

}  // namespace pprsim
