#include "sim/process.h"

#include <algorithm>
#include <memory>

#include "sim/sim_allocator.h"

namespace pprsim {

std::uint64_t SimMemory::load64(Addr a) {
  if (p_->log) p_->log->on_read(a, 8);
  return p_->space.load64(a);
}

void SimMemory::store64(Addr a, std::uint64_t v) {
  if (p_->log) p_->log->on_write(a, 8);
  p_->space.store64(a, v);
}

void SimMemory::read(Addr a, void* out, std::uint64_t n) {
  if (p_->log) p_->log->on_read(a, n);
  p_->space.read(a, out, n);
}

void SimMemory::peek(Addr a, void* out, std::uint64_t n) { p_->space.read(a, out, n); }

void SimMemory::write(Addr a, const void* in, std::uint64_t n) {
  if (p_->log) p_->log->on_write(a, n);
  p_->space.write(a, in, n);
}

void SimMemory::zero(Addr a, std::uint64_t n) {
  if (p_->log) p_->log->on_write(a, n);
  p_->space.zero(a, n);
}

void SimMemory::copy(Addr dst, Addr src, std::uint64_t n) {
  // Uninitialised: every byte is read into before it is written out (a zeroed vector here was
  // a memset of up to 64 KiB per realloc that moves).
  const std::uint64_t size = std::min<std::uint64_t>(n, 1u << 16);
  const auto buf = std::make_unique_for_overwrite<std::uint8_t[]>(size);
  while (n > 0) {
    const std::uint64_t chunk = std::min<std::uint64_t>(n, size);
    read(src, buf.get(), chunk);
    write(dst, buf.get(), chunk);
    src += chunk;
    dst += chunk;
    n -= chunk;
  }
}

void SimMemory::fill_pattern(Addr a, std::uint64_t n, std::int64_t id, std::uint32_t stamp, Addr base) {
  if (p_->log) p_->log->on_write(a, n);
  p_->space.fill_pattern(a, n, id, stamp, base);
}

Addr SimMemory::sys_alloc(std::uint64_t n) {
  const Addr a = p_->sys.alloc(n);
  if (a != 0) p_->space.map(a, n);
  return a;
}

Addr SimMemory::task_sys_alloc(std::uint64_t n) {
  const Addr a = p_->sys.alloc_in_slice(n);
  if (a != 0) p_->space.map(a, n);
  return a;
}

void SimMemory::sys_free(Addr a, std::uint64_t n) {
  if (p_->sys.free(a, n)) p_->space.unmap(a, n);
}

Addr SimMemory::sys_grow(Addr a, std::uint64_t n, std::uint64_t v) {
  const Addr b = sys_alloc(v);
  if (b == 0) return 0;
  copy(b, a, n);
  sys_free(a, n);
  return b;
}

Process::Process(std::uint64_t memory_limit) : sys(memory_limit) {}

Process::~Process() = default;

std::unique_ptr<Process> Process::fork(std::unique_ptr<Process> into) {
  std::unique_ptr<Process> child = into ? std::move(into) : std::make_unique<Process>(sys.limit());
  child->space.fork_from(space);
  child->sys = sys.fork();
  child->mem.set_coverage(mem.coverage());
  child->alloc = alloc ? alloc->clone(child->mem) : nullptr;
  child->objects.reset(&objects);
  return child;
}

void Process::recycle() {
  // Nothing of another process stays referenced: a page or region map still shared with MAIN
  // would make MAIN copy it at its next write.
  space.clear();
  sys = SystemMemory(sys.limit());
  alloc.reset();
  objects.reset(nullptr);
  if (log) {
    log->reset();
    spare_log_ = std::move(log);
  }
}

void Process::become(Process& other) {
  space = std::move(other.space);
  sys = other.sys;
  alloc = other.alloc->clone(mem);
  objects.apply(other.objects);
  log.reset();
}

}  // namespace pprsim
