#include "props/run_case_bytes.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <stdexcept>

namespace pprsim {

namespace {

constexpr std::uint8_t kNextInstance = 7;
constexpr std::uint32_t kMaxFault = FaultPlan::kOne / 3;

struct SizeRange {
  std::uint64_t lo, hi;
};
// Contiguous, so that any size up to the last bound has exactly one encoding.
constexpr std::array<SizeRange, 5> kRanges{{{0, 64}, {65, 2048}, {2049, 65536}, {65537, 262128}, {262129, kMaxCaseSize}}};
// Size-class byte % 8 -> range: small sizes are the common case, as in the generator.
constexpr std::array<std::uint8_t, 8> kRangeOf{0, 0, 0, 1, 1, 2, 3, 4};

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint32_t take(int n) {  // little-endian, n <= 4
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i, ++at_) v |= static_cast<std::uint32_t>(at_ < size_ ? data_[at_] : 0) << (8 * i);
    return v;
  }
  // Little-endian base-128: 7 bits a byte, the high bit says another follows; at most 4 bytes.
  std::uint32_t varint() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t b = take(1);
      v |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) break;
    }
    return v;
  }
  bool more() const { return at_ < size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

void put(std::string& out, std::uint32_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_varint(std::string& out, std::uint32_t v) {
  if (v >= (1u << 28)) throw std::invalid_argument(fmt::format("{} does not fit 28 bits", v));
  do {
    const std::uint32_t low = v & 0x7f;
    v >>= 7;
    out.push_back(static_cast<char>(low | (v != 0 ? 0x80 : 0)));
  } while (v != 0);
}

}  // namespace

RunCase run_case_from_bytes(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const int group_size = 1 + static_cast<int>((in.take(1) + 1) % 8);
  const std::uint64_t seed = 1 + in.take(2) % 1000;
  const auto understudy = static_cast<UnderstudyMode>(in.take(1) % 3);
  const std::uint32_t fault_mask = in.take(1);
  FaultPlan faults;
  const std::array<std::uint32_t FaultPlan::*, 5> kinds{&FaultPlan::task_abort, &FaultPlan::oom, &FaultPlan::fork_fail,
                                                        &FaultPlan::understudy_win, &FaultPlan::pressure};
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    if ((fault_mask >> k & 1) == 0) continue;
    faults.*kinds[k] = in.take(3) % (kMaxFault + 1);
  }
  std::vector<GenOp> prologue;
  std::vector<std::vector<GenOp>> instances;
  while (in.more()) {
    const std::uint32_t head = in.take(1);
    const std::uint32_t kind = head & 7;
    const SizeRange range = kRanges[kRangeOf[(head >> 3) & 7]];
    GenOp op;
    op.kind = static_cast<GenOp::Kind>(kind == kNextInstance ? 0 : kind);
    op.size = range.lo + in.varint() % (range.hi - range.lo + 1);
    op.pick = in.varint();
    op.aux = in.varint();
    if (kind == kNextInstance) {
      instances.emplace_back();
    } else {
      (instances.empty() ? prologue : instances.back()).push_back(op);
    }
  }
  return assemble_run_case(prologue, instances, group_size, seed, understudy, faults);
}

std::string run_case_to_bytes(const RunCase& c) {
  if (c.group_size < 1 || c.group_size > 8 || c.seed < 1 || c.seed > 1000) {
    throw std::invalid_argument(fmt::format("group size {} or seed {} out of range", c.group_size, c.seed));
  }
  std::string out;
  put(out, static_cast<std::uint32_t>(c.group_size + 6) % 8, 1);
  put(out, static_cast<std::uint32_t>(c.seed - 1), 2);
  put(out, static_cast<std::uint32_t>(c.understudy), 1);
  const std::array<std::uint32_t, 5> p{c.faults.task_abort, c.faults.oom, c.faults.fork_fail, c.faults.understudy_win,
                                       c.faults.pressure};
  std::uint32_t mask = 0;
  for (int k = 0; k < 5; ++k) {
    if (p[static_cast<std::size_t>(k)] > kMaxFault) throw std::invalid_argument("fault probability above 1/3");
    if (p[static_cast<std::size_t>(k)] != 0) mask |= 1u << k;
  }
  put(out, mask, 1);
  for (const std::uint32_t q : p) {
    if (q != 0) put(out, q, 3);
  }
  // Events after the last instance are the final frees, which decoding makes again.
  std::size_t end = c.trace.size();
  const auto last_end = std::find_if(c.trace.rbegin(), c.trace.rend(), [](const Event& e) { return e.op == Op::PprEnd; });
  if (last_end != c.trace.rend()) end = static_cast<std::size_t>(c.trace.rend() - last_end);
  std::vector<std::pair<std::int64_t, std::uint64_t>> live;  // as the interpreter keeps them
  auto position = [&](std::int64_t id) -> std::uint32_t {
    for (std::size_t i = 0; i < live.size(); ++i) {
      if (live[i].first == id) return static_cast<std::uint32_t>(i);
    }
    throw std::invalid_argument(fmt::format("object {} is not live", id));
  };
  auto record = [&](std::uint8_t kind, std::uint64_t size, std::uint32_t pick, std::uint32_t aux) {
    std::size_t r = 0;
    while (r + 1 < kRanges.size() && size > kRanges[r].hi) ++r;
    if (size > kRanges[r].hi) throw std::invalid_argument(fmt::format("size {} not expressible", size));
    const auto sel = static_cast<std::uint32_t>(std::find(kRangeOf.begin(), kRangeOf.end(), r) - kRangeOf.begin());
    put(out, kind | sel << 3, 1);
    put_varint(out, static_cast<std::uint32_t>(size - kRanges[r].lo));
    put_varint(out, pick);
    put_varint(out, aux);
  };
  for (std::size_t i = 0; i < end; ++i) {
    const Event& e = c.trace[i];
    switch (e.op) {
      case Op::PprBegin:
        record(kNextInstance, 0, 0, 0);
        break;
      case Op::PprEnd:
        break;
      case Op::Malloc:
        record(GenOp::Malloc, e.size, 0, 0);
        live.emplace_back(e.id, e.size);
        break;
      case Op::Calloc:
        if (e.count < 1 || e.count > 8) throw std::invalid_argument("calloc count outside 1..8");
        record(GenOp::Calloc, e.count * e.size, 0, static_cast<std::uint32_t>(e.count - 1));
        live.emplace_back(e.id, e.count * e.size);
        break;
      case Op::Memalign:
        if (!std::has_single_bit(e.align) || e.align > 4096) throw std::invalid_argument("alignment outside 1..4096");
        record(GenOp::Memalign, e.size, 0, static_cast<std::uint32_t>(std::countr_zero(e.align)));
        live.emplace_back(e.id, e.size);
        break;
      case Op::Realloc:
        if (live.empty()) {
          record(GenOp::Realloc, e.size, 0, 0);
          live.emplace_back(e.id, e.size);
        } else {
          const std::uint32_t p = position(e.id);
          record(GenOp::Realloc, e.size, p, 1);  // aux 1: the size as it is, not grown past the end
          if (e.size == 0) {
            live.erase(live.begin() + p);
          } else {
            live[p].second = e.size;
          }
        }
        break;
      case Op::Free:
        if (e.id < 0) {
          if (!live.empty()) throw std::invalid_argument("free(NULL) with objects live");
          record(GenOp::Free, 0, 0, 0);
        } else {
          const std::uint32_t p = position(e.id);
          record(GenOp::Free, 0, p, 0);
          live.erase(live.begin() + p);
        }
        break;
      case Op::Write:
      case Op::Use:
        if (e.size < 1) throw std::invalid_argument("empty write or use");
        record(e.op == Op::Write ? GenOp::Write : GenOp::Use, e.size - 1, position(e.id),
               static_cast<std::uint32_t>(e.offset));
        break;
    }
  }
  return out;
}

}  // namespace pprsim
