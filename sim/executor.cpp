#include "sim/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "sim/pattern.h"
#include "sim/sim_allocator.h"

namespace pprsim {

namespace {

constexpr std::uint64_t kReadChunk = 1u << 16;

void fill(Process& p, Addr addr, std::int64_t id, std::uint32_t stamp, std::uint64_t offset,
          std::uint64_t len) {
  p.mem.fill_pattern(addr + offset, len, id, stamp, addr);
}

// Why an address the allocator returned cannot be a block of `size` bytes aligned to `align`
// ("" when it can): aligned as promised, above program data, in memory the process mapped.
std::string implausible(Process& p, Addr a, std::uint64_t size, std::uint64_t align) {
  const std::uint64_t want = align < 16 ? 16 : align;
  if (a % want != 0) return fmt::format("not {}-byte aligned", want);
  if (a < kHeapBase) return fmt::format("below the heap ({:#x}), where pprsim keeps the program's data", kHeapBase);
  const Addr last = a + (size == 0 ? 0 : size - 1);
  if (last < a) return fmt::format("{} bytes from there run past the end of the address space", size);
  if (!p.space.is_mapped(a / kPageSize * kPageSize) || !p.space.is_mapped(last / kPageSize * kPageSize)) {
    return "in memory the allocator never obtained from system memory";
  }
  return "";
}

// A call that returned 0 or an impossible address. `refused_before`: system-memory refusals
// before the call, to tell an exhausted system memory from an allocator that gave NULL itself.
StepOutcome failed(Process& p, const Event& e, Addr result, std::uint64_t refused_before, std::string why = "") {
  if (p.alloc->gave_up()) return {StepStatus::GaveUp, {}};
  const std::string call = fmt::format("{} of {} bytes at line {}", call_name(e.op), requested_bytes(e), e.line);
  if (result == 0 && p.sys.refusals() > refused_before) {
    return {StepStatus::OutOfMemory,
            fmt::format("{} failed: system memory exhausted ({} of {} bytes in use)", call, p.sys.in_use(),
                        p.sys.limit())};
  }
  if (result == 0) {
    return {StepStatus::OutOfMemory,
            fmt::format("{} returned NULL though system memory refused no request ({} of {} bytes in use)", call,
                        p.sys.in_use(), p.sys.limit())};
  }
  return {StepStatus::BadResult, fmt::format("{} returned {:#x}: {}", call, result, why)};
}

// What the allocator reports as usable at a, asked outside the program's tracked accesses.
std::uint64_t usable_at(Process& p, Addr a) {
  const Process::Untracked quiet(p);
  return p.alloc->usable_size(a);
}

StepOutcome created(Process& p, const Event& e, Addr a, std::uint64_t size, bool patterned,
                    std::uint64_t refused_before) {
  if (std::string why = implausible(p, a, size, e.op == Op::Memalign ? e.align : 16); !why.empty()) {
    return failed(p, e, a, refused_before, std::move(why));
  }
  p.mem.store64(handle_addr(e.id), a);
  if (patterned) fill(p, a, e.id, e.line, 0, size);
  p.objects.set(e.id, Object{a, size, e.line, usable_at(p, a)});
  return {};
}

}  // namespace

void ensure_handle(Process& p, std::int64_t id) {
  const Addr page = handle_addr(id) / kPageSize * kPageSize;
  if (!p.space.is_mapped(page)) p.space.map(page, kPageSize);
}

StepOutcome execute(Process& p, const Event& e) {
  if (p.log) p.log->set_line(e.line);
  SimAllocator& alloc = *p.alloc;
  const std::uint64_t refused = p.sys.refusals();
  switch (e.op) {
    case Op::PprBegin:
    case Op::PprEnd:
      return {};
    case Op::Malloc: {
      const Addr a = alloc.malloc(e.size);
      if (a == 0) return failed(p, e, a, refused);
      return created(p, e, a, e.size, true, refused);
    }
    case Op::Calloc: {
      const Addr a = alloc.calloc(e.count, e.size);
      if (a == 0) return failed(p, e, a, refused);
      return created(p, e, a, e.count * e.size, false, refused);
    }
    case Op::Memalign: {
      const Addr a = alloc.memalign(e.align, e.size);
      if (a == 0) return failed(p, e, a, refused);
      return created(p, e, a, e.size, true, refused);
    }
    case Op::Realloc: {
      const Object* o = p.objects.find(e.id);
      const Addr old = p.mem.load64(handle_addr(e.id));
      if (o == nullptr) {
        if (old != 0) return {StepStatus::Stale, {}};
        const Addr a = alloc.realloc(0, e.size);
        if (a == 0) return failed(p, e, a, refused);
        return created(p, e, a, e.size, true, refused);
      }
      if (old != o->addr) return {StepStatus::Stale, {}};
      const Object before = *o;
      if (e.size == 0) {
        alloc.realloc(before.addr, 0);
        p.mem.store64(handle_addr(e.id), 0);
        p.objects.erase(e.id);
        return {};
      }
      const Addr a = alloc.realloc(before.addr, e.size);
      if (a == 0) return failed(p, e, a, refused);
      if (std::string why = implausible(p, a, e.size, 16); !why.empty()) return failed(p, e, a, refused, std::move(why));
      p.mem.store64(handle_addr(e.id), a);
      if (e.size > before.size) fill(p, a, e.id, e.line, before.size, e.size - before.size);
      p.objects.set(e.id, Object{a, e.size, a == before.addr ? before.born_line : e.line, usable_at(p, a)});
      return {};
    }
    case Op::Free: {
      if (e.id < 0) {
        alloc.free(0);
        return {};
      }
      const Object* o = p.objects.find(e.id);
      const Addr a = p.mem.load64(handle_addr(e.id));
      if (o == nullptr || a != o->addr) return {StepStatus::Stale, {}};
      alloc.free(a);
      p.mem.store64(handle_addr(e.id), 0);
      p.objects.erase(e.id);
      return {};
    }
    case Op::Write:
    case Op::Use: {
      const Object* o = p.objects.find(e.id);
      const Addr a = p.mem.load64(handle_addr(e.id));
      if (o == nullptr || a != o->addr || e.offset + e.size > o->size) return {StepStatus::Stale, {}};
      if (e.op == Op::Write) {
        fill(p, a, e.id, e.line, e.offset, e.size);
      } else {
        // The program reads the bytes (a bounded buffer, however large the range).
        std::vector<std::uint8_t> buf(std::min<std::uint64_t>(e.size, kReadChunk));
        for (std::uint64_t off = 0; off < e.size; off += buf.size()) {
          p.mem.read(a + e.offset + off, buf.data(), std::min<std::uint64_t>(buf.size(), e.size - off));
        }
      }
      return {};
    }
  }
  return {};
}

}  // namespace pprsim
