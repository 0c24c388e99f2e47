#include "traces/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <queue>
#include <utility>
#include <vector>

#include "traces/prng.h"
#include "traces/trace_validator.h"

namespace pprsim {
namespace {

__extension__ using Wide = unsigned __int128;

constexpr std::uint64_t kMaxLiveLimit = std::uint64_t{1} << 27;
constexpr std::uint64_t kMaxPerAllocation = 1000 * kMillion;  // writes, reads, reallocs
constexpr std::uint64_t kMaxAccessBytes = 64;
constexpr std::uint64_t kMaxRun = 1000;

// Which live objects an operation may take (see generator.h).
enum Pool : std::uint8_t {
  kSeq = 0,      // allocated in SEQ
  kEarlier = 1,  // allocated by an instance that has ended
  kCurrent = 2,  // allocated by the instance running now
  kPools = 3,
  kDead = 255,
};

struct Object {
  std::uint64_t bytes = 0;
  std::uint32_t pos = 0;  // index in its pool
  Pool pool = kDead;
};

class Generator {
 public:
  Generator(const GenOptions& opt, const std::function<void(const Event&)>& emit)
      : opt_(opt),
        emit_(emit),
        layout_(Prng::derive(opt.seed, "layout")),
        action_(Prng::derive(opt.seed, "action")),
        target_(Prng::derive(opt.seed, "target")),
        size_(Prng::derive(opt.seed, "size")) {}

  void run() {
    const std::uint64_t n = opt_.events;
    const std::uint64_t len = opt_.ppr_length;
    std::uint64_t ppr_ops = 0;
    if (opt_.ppr_is_count)
      ppr_ops = opt_.ppr_count > n / len ? n : opt_.ppr_count * len;
    else
      ppr_ops = static_cast<std::uint64_t>(static_cast<Wide>(n) * opt_.ppr_share / kMillion);
    std::uint64_t seq_left = n - ppr_ops;
    std::uint64_t instances_left = (ppr_ops + len - 1) / len;
    std::uint64_t ppr_ops_left = ppr_ops;
    const std::uint64_t run_max = opt_.ppr_run;
    while (instances_left > 0) {
      // Spread the SEQ operations evenly over the gaps before the runs still to come (a run
      // has (1 + run_max) / 2 instances on average) and the gap after the last one.
      const std::uint64_t runs_left = (2 * instances_left + run_max) / (run_max + 1);
      const std::uint64_t stretch = seq_left / (runs_left + 1);
      sequential(stretch);
      seq_left -= stretch;
      const std::uint64_t run = std::min(instances_left, layout_.between(1, run_max));
      for (std::uint64_t i = 0; i < run; ++i) {
        const std::uint64_t ops = std::min(len, ppr_ops_left);
        instance(ops);
        ppr_ops_left -= ops;
        --instances_left;
      }
      // The run is over: the ids its instances freed may be taken again.
      for (const std::int64_t id : quarantine_) free_ids_.push(id);
      quarantine_.clear();
    }
    sequential(seq_left);
  }

 private:
  // ---- Layout ----

  void sequential(std::uint64_t ops) {
    in_instance_ = false;
    for (std::uint64_t i = 0; i < ops; ++i) step();
  }

  void instance(std::uint64_t ops) {
    marker(Op::PprBegin);
    in_instance_ = true;
    for (std::uint64_t i = 0; i < ops; ++i) step();
    in_instance_ = false;
    // Its objects now belong to an earlier instance.
    for (const std::int64_t id : pools_[kCurrent]) {
      Object& o = objects_[static_cast<std::size_t>(id)];
      o.pool = kEarlier;
      o.pos = static_cast<std::uint32_t>(pools_[kEarlier].size());
      pools_[kEarlier].push_back(id);
    }
    pools_[kCurrent].clear();
    marker(Op::PprEnd);
  }

  // ---- One operation ----

  void step() {
    const std::uint64_t live = live_count();
    if (live >= opt_.max_live || (live > 0 && action_.chance(live, opt_.lifetime))) {
      if (free_one()) return;
    }
    const std::uint64_t total = kMillion + opt_.realloc + opt_.writes + opt_.reads;
    std::uint64_t r = action_.below(total);
    if (r >= kMillion) {
      r -= kMillion;
      if (r < opt_.realloc) {
        if (reallocate()) return;
      } else if (r - opt_.realloc < opt_.writes) {
        if (access(Op::Write)) return;
      } else {
        if (access(Op::Use)) return;
      }
    }
    if (live < opt_.max_live) {
      allocate();
    } else if (!free_one()) {
      // Every live object is out of this instance's reach: free any of them.
      free_object(pick(kSeq, kEarlier, kCurrent));
    }
  }

  void allocate() {
    Event ev;
    ev.id = take_id();
    const std::uint64_t kind = action_.below(kMillion);
    if (kind < opt_.calloc) {
      const std::uint64_t total = draw_size();
      ev.op = Op::Calloc;
      ev.size = std::uint64_t{1} << size_.below(5);  // element size 1 .. 16
      ev.count = std::max<std::uint64_t>(1, total / ev.size);
    } else if (kind - opt_.calloc < opt_.memalign) {
      ev.op = Op::Memalign;
      ev.align = std::uint64_t{1} << size_.between(3, 12);  // 8 .. 4096
      ev.size = draw_size();
    } else {
      ev.op = Op::Malloc;
      ev.size = draw_size();
    }
    const Pool pool = in_instance_ ? kCurrent : kSeq;
    const auto i = static_cast<std::size_t>(ev.id);
    if (objects_.size() <= i) objects_.resize(i + 1);
    objects_[i].bytes = requested_bytes(ev);
    insert(ev.id, pool);
    emit_(ev);
  }

  bool free_one() {
    std::int64_t id = -1;
    if (!in_instance_) {
      id = pick(kSeq, kEarlier, kEarlier);
    } else if (target_.chance(opt_.cross_free, kMillion) && !pools_[kEarlier].empty()) {
      id = pick(kEarlier, kEarlier, kEarlier);
    } else if (!pools_[kCurrent].empty() && (pools_[kSeq].empty() || target_.chance(1, 2))) {
      id = pick(kCurrent, kCurrent, kCurrent);
    } else {
      id = pick(kSeq, kSeq, kSeq);
    }
    if (id < 0) return false;
    free_object(id);
    return true;
  }

  void free_object(std::int64_t id) {
    Event ev;
    ev.op = Op::Free;
    ev.id = id;
    remove(id);
    if (in_instance_)
      quarantine_.push_back(id);
    else
      free_ids_.push(id);
    emit_(ev);
  }

  bool reallocate() {
    const std::int64_t id = shared_or_own(false);
    if (id < 0) return false;
    Event ev;
    ev.op = Op::Realloc;
    ev.id = id;
    ev.size = draw_size();
    objects_[static_cast<std::size_t>(id)].bytes = ev.size;
    emit_(ev);
    return true;
  }

  bool access(Op op) {
    const std::int64_t id = shared_or_own(op == Op::Use);
    if (id < 0) return false;
    const std::uint64_t bytes = objects_[static_cast<std::size_t>(id)].bytes;
    Event ev;
    ev.op = op;
    ev.id = id;
    ev.offset = target_.below(bytes);
    ev.size = target_.between(1, std::min(bytes - ev.offset, kMaxAccessBytes));
    emit_(ev);
    return true;
  }

  // The object a write, use or realloc takes; -1 when there is none in reach.
  std::int64_t shared_or_own(bool reading) {
    if (!in_instance_) return pick(kSeq, kEarlier, kEarlier);
    if (target_.chance(opt_.sharing, kMillion) && !pools_[kEarlier].empty())
      return pick(kEarlier, kEarlier, kEarlier);
    if (reading && !pools_[kSeq].empty() && (pools_[kCurrent].empty() || target_.chance(1, 4)))
      return pick(kSeq, kSeq, kSeq);
    return pick(kCurrent, kCurrent, kCurrent);
  }

  // ---- Live objects ----

  std::uint64_t live_count() const {
    return pools_[kSeq].size() + pools_[kEarlier].size() + pools_[kCurrent].size();
  }

  // A uniformly chosen object of the union of the pools a, b, c (repeats allowed: pick(a, a, a)
  // is pool a); -1 when they are empty.
  std::int64_t pick(Pool a, Pool b, Pool c) {
    std::array<Pool, 3> list{a, b, c};
    std::sort(list.begin(), list.end());
    const auto last = std::unique(list.begin(), list.end());
    std::uint64_t total = 0;
    for (auto p = list.begin(); p != last; ++p) total += pools_[*p].size();
    if (total == 0) return -1;
    std::uint64_t k = target_.below(total);
    for (auto p = list.begin(); p != last; ++p) {
      if (k < pools_[*p].size()) return pools_[*p][static_cast<std::size_t>(k)];
      k -= pools_[*p].size();
    }
    return -1;  // not reached
  }

  void insert(std::int64_t id, Pool pool) {
    Object& o = objects_[static_cast<std::size_t>(id)];
    o.pool = pool;
    o.pos = static_cast<std::uint32_t>(pools_[pool].size());
    pools_[pool].push_back(id);
  }

  void remove(std::int64_t id) {
    Object& o = objects_[static_cast<std::size_t>(id)];
    std::vector<std::int64_t>& pool = pools_[o.pool];
    const std::int64_t moved = pool.back();
    pool[o.pos] = moved;
    objects_[static_cast<std::size_t>(moved)].pos = o.pos;
    pool.pop_back();
    o.pool = kDead;
  }

  std::int64_t take_id() {
    if (free_ids_.empty() && next_id_ > kMaxObjectId) {
      // Out of fresh ids: take the quarantined ones now (validity over independence).
      for (const std::int64_t id : quarantine_) free_ids_.push(id);
      quarantine_.clear();
    }
    if (!free_ids_.empty()) {
      const std::int64_t id = free_ids_.top();
      free_ids_.pop();
      return id;
    }
    return next_id_++;
  }

  // ---- Sizes ----

  std::uint64_t draw_size() {
    if (opt_.large_share > 0) {
      if (size_.chance(opt_.large_share, kMillion))
        return size_.between(kLargeObjectBytes + 1,
                             std::max<std::uint64_t>(opt_.max_size, kLargeObjectBytes * 4));
      return regular_size(std::min(opt_.max_size, kLargeObjectBytes));
    }
    return regular_size(opt_.max_size);
  }

  // A size in 1 .. max. requires: max >= 1.
  std::uint64_t regular_size(std::uint64_t max) {
    const int top = static_cast<int>(std::bit_width(max - 1));  // 2^top >= max
    int k = 0;
    switch (opt_.sizes) {
      case SizeDistribution::Uniform:
        return size_.between(1, max);
      case SizeDistribution::Small:
        k = static_cast<int>(size_.between(0, static_cast<std::uint64_t>(std::min(top, 9))));
        break;
      case SizeDistribution::PowerLaw:
        k = std::min(top, 3);
        while (k < top && size_.chance(707107, kMillion)) ++k;
        break;
    }
    // The power-of-two range (2^(k-1), 2^k], cut at max.
    const std::uint64_t hi = std::min(std::uint64_t{1} << k, max);
    const std::uint64_t lo = k == 0 ? 1 : std::min((std::uint64_t{1} << (k - 1)) + 1, hi);
    return size_.between(lo, hi);
  }

  void marker(Op op) {
    Event ev;
    ev.op = op;
    emit_(ev);
  }

  const GenOptions& opt_;
  const std::function<void(const Event&)>& emit_;
  Prng layout_;  // runs of instances
  Prng action_;  // what each step does
  Prng target_;  // which object it takes, offsets and lengths
  Prng size_;    // sizes, alignments, calloc element sizes

  bool in_instance_ = false;
  std::vector<Object> objects_;  // by id
  std::array<std::vector<std::int64_t>, kPools> pools_;
  std::priority_queue<std::int64_t, std::vector<std::int64_t>, std::greater<>> free_ids_;
  std::vector<std::int64_t> quarantine_;  // freed in the current run of instances
  std::int64_t next_id_ = 0;
};

std::string check_share(const char* flag, std::uint64_t value) {
  return value > kMillion ? fmt::format("{}: {} is more than 1", flag, format_millionths(value))
                          : std::string();
}

// A share as "--ppr" reads it back: with a '.', since a bare integer is a count of instances.
std::string share_text(std::uint64_t value) {
  std::string s = format_millionths(value);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string validate(const GenOptions& o) {
  if (o.ppr_length == 0) return "--ppr-length: must be at least 1";
  if (o.ppr_run == 0 || o.ppr_run > kMaxRun)
    return fmt::format("--ppr-run: must be between 1 and {}", kMaxRun);
  if (o.max_size == 0 || o.max_size > kMaxObjectBytes)
    return "--max-size: must be between 1 and 2^40";
  if (o.lifetime == 0) return "--lifetime: must be at least 1";
  if (o.max_live == 0 || o.max_live > kMaxLiveLimit)
    return fmt::format("--max-live: must be between 1 and {}", kMaxLiveLimit);
  for (const auto& [flag, value] :
       {std::pair{"--ppr", o.ppr_is_count ? 0 : o.ppr_share},
        std::pair{"--large-share", o.large_share}, std::pair{"--cross-free", o.cross_free},
        std::pair{"--calloc", o.calloc}, std::pair{"--memalign", o.memalign},
        std::pair{"--sharing", o.sharing}}) {
    if (std::string e = check_share(flag, value); !e.empty()) return e;
  }
  if (o.calloc + o.memalign > kMillion)
    return "--calloc, --memalign: their shares add up to more than 1";
  for (const auto& [flag, value] :
       {std::pair{"--realloc", o.realloc}, std::pair{"--writes", o.writes},
        std::pair{"--reads", o.reads}}) {
    if (value > kMaxPerAllocation)
      return fmt::format("{}: at most {} per allocation", flag, kMaxPerAllocation / kMillion);
  }
  return {};
}

std::string describe(const GenOptions& o) {
  return fmt::format(
      "pprsim gen --seed {} --events {} --ppr {} --ppr-length {} --ppr-run {} --sizes {} "
      "--max-size {} --large-share {} --lifetime {} --cross-free {} --realloc {} --calloc {} "
      "--memalign {} --writes {} --reads {} --sharing {} --max-live {}",
      o.seed, o.events, o.ppr_is_count ? std::to_string(o.ppr_count) : share_text(o.ppr_share),
      o.ppr_length, o.ppr_run, size_distribution_name(o.sizes), o.max_size,
      format_millionths(o.large_share), o.lifetime, format_millionths(o.cross_free),
      format_millionths(o.realloc), format_millionths(o.calloc), format_millionths(o.memalign),
      format_millionths(o.writes), format_millionths(o.reads), format_millionths(o.sharing),
      o.max_live);
}

void generate(const GenOptions& opt, const std::function<void(const Event&)>& emit) {
  Generator(opt, emit).run();
}

void generate(const GenOptions& opt, TraceWriter& out) {
  generate(opt, [&out](const Event& ev) { out.write(ev); });
}

bool parse_millionths(std::string_view text, std::uint64_t max, std::uint64_t& out,
                      std::string& error) {
  const std::string_view original = text;
  bool percent = false;
  if (!text.empty() && text.back() == '%') {
    percent = true;
    text.remove_suffix(1);
  }
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const int decimals = percent ? 4 : 6;  // "12.3456%" is 0.123456
  if ((whole.empty() && frac.empty()) || !digits(whole) || !digits(frac) ||
      (dot != std::string_view::npos && frac.empty() && whole.empty())) {
    error = fmt::format("expected a number such as 0.25, 25% or 3, got '{}'", original);
    return false;
  }
  if (frac.size() > static_cast<std::size_t>(decimals)) {
    error = fmt::format("'{}' has more than {} decimals", original, decimals);
    return false;
  }
  const std::uint64_t unit = percent ? kMillion / 100 : kMillion;
  std::uint64_t value = 0;
  for (const char c : whole) {
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > max / unit + 1) {
      error = fmt::format("'{}' is too large (at most {})", original, format_millionths(max));
      return false;
    }
  }
  value *= unit;
  std::uint64_t scale = unit;
  for (const char c : frac) {
    scale /= 10;
    value += static_cast<std::uint64_t>(c - '0') * scale;
  }
  if (value > max) {
    error = fmt::format("'{}' is too large (at most {})", original, format_millionths(max));
    return false;
  }
  out = value;
  return true;
}

std::string format_millionths(std::uint64_t value) {
  std::string s = std::to_string(value / kMillion);
  std::uint64_t frac = value % kMillion;
  if (frac == 0) return s;
  std::string digits = fmt::format("{:06}", frac);
  while (digits.back() == '0') digits.pop_back();
  return s + "." + digits;
}

std::string_view size_distribution_name(SizeDistribution d) {
  switch (d) {
    case SizeDistribution::Small:
      return "small";
    case SizeDistribution::PowerLaw:
      return "power-law";
    case SizeDistribution::Uniform:
      return "uniform";
  }
  return "?";
}

}  // namespace pprsim
