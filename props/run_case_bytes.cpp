#include "props/run_case_bytes.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <stdexcept>

namespace pprsim {

namespace {

constexpr std::size_t kHeader = 20;
constexpr std::size_t kRecord = 9;
constexpr std::uint8_t kNextInstance = 7;
constexpr std::uint32_t kMaxFault = FaultPlan::kOne / 3;

struct SizeRange {
  std::uint64_t lo, hi;
};
// Contiguous, so that any size up to the last bound has exactly one encoding.
constexpr std::array<SizeRange, 5> kRanges{{{0, 64}, {65, 2048}, {2049, 65536}, {65537, 262128}, {262129, 1 << 22}}};
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
  bool more() const { return at_ < size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

void put(std::string& out, std::uint32_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t decode_fault(Bytes& in) {
  const bool on = in.take(1) % 4 == 0;
  const std::uint32_t v = in.take(3) % (kMaxFault + 1);
  return on ? v : 0;
}

void encode_fault(std::string& out, std::uint32_t p) {
  if (p > kMaxFault) throw std::invalid_argument(fmt::format("fault probability {} ppm above 1/3", p));
  put(out, p == 0 ? 1 : 0, 1);
  put(out, p, 3);
}

}  // namespace

RunCase run_case_from_bytes(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const int group_size = 1 + static_cast<int>(in.take(1) % 8);
  const std::uint64_t seed = 1 + in.take(2) % 1000;
  const auto understudy = static_cast<UnderstudyMode>(in.take(1) % 3);
  FaultPlan faults;
  faults.task_abort = decode_fault(in);
  faults.oom = decode_fault(in);
  faults.fork_fail = decode_fault(in);
  faults.understudy_win = decode_fault(in);
  std::vector<GenOp> prologue;
  std::vector<std::vector<GenOp>> instances;
  while (in.more()) {
    const std::uint32_t kind = in.take(1) % 8;
    const SizeRange range = kRanges[kRangeOf[in.take(1) % 8]];
    const std::uint64_t size = range.lo + in.take(3) % (range.hi - range.lo + 1);
    GenOp op;
    op.kind = static_cast<GenOp::Kind>(kind == kNextInstance ? 0 : kind);
    op.size = size;
    op.pick = in.take(2);
    op.aux = in.take(3);
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
  put(out, static_cast<std::uint32_t>(c.group_size - 1), 1);
  put(out, static_cast<std::uint32_t>(c.seed - 1), 2);
  put(out, static_cast<std::uint32_t>(c.understudy), 1);
  for (const std::uint32_t p : {c.faults.task_abort, c.faults.oom, c.faults.fork_fail, c.faults.understudy_win}) {
    encode_fault(out, p);
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
    if (size > kRanges[r].hi || pick > 0xffff || aux > 0xffffff) {
      throw std::invalid_argument(fmt::format("size {}, pick {} or aux {} not expressible", size, pick, aux));
    }
    const auto sel = static_cast<std::uint32_t>(std::find(kRangeOf.begin(), kRangeOf.end(), r) - kRangeOf.begin());
    put(out, kind, 1);
    put(out, sel, 1);
    put(out, static_cast<std::uint32_t>(size - kRanges[r].lo), 3);
    put(out, pick, 2);
    put(out, aux, 3);
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
