// Seeded random traces: a pure function of GenOptions (seed included) that streams its events
// out one at a time, so that a trace of any length never sits in memory (what it keeps is
// bounded by max_live). Integer-only: the same options give the same bytes on every machine.
//
// Shape of a trace: SEQ stretches alternating with runs of consecutive PPR instances (a run of
// 1..ppr_run instances; consecutive instances form the replay's groups). Every step is one
// operation: a free with probability live/lifetime (Little's law: objects then live `lifetime`
// events on average), otherwise an allocation, realloc, write or use in the ratio
// 1 : realloc : writes : reads. In SEQ, targets are any live object. Inside an instance:
//  - a free takes, with probability cross_free, an object allocated by an earlier instance;
//    otherwise one allocated in this instance or in SEQ;
//  - a write, use or realloc takes, with probability sharing, an object allocated by an earlier
//    instance; otherwise one of this instance's own objects (a use may also read an object
//    allocated in SEQ, which no instance writes). With cross_free and sharing 0 the instances are
//    independent: replaying them in parallel has no true dependence between them.
// Ids are reused smallest first from the ids of freed objects, so they stay below max_live
// plus the frees of one run of instances (an id freed inside an instance is reused only after
// its run, so that no two instances of a group share a handle slot through it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "traces/event.h"
#include "traces/trace_writer.h"

namespace pprsim {

// Fractions and per-allocation means are fixed point: kMillion = 1.
inline constexpr std::uint64_t kMillion = 1'000'000;
// Objects above this size are "large" (--large-share).
inline constexpr std::uint64_t kLargeObjectBytes = std::uint64_t{256} << 10;

enum class SizeDistribution : std::uint8_t {
  Small,     // mostly 1..512 bytes, each power-of-two range equally likely
  PowerLaw,  // from 5 bytes up to max_size, each power-of-two range 1/sqrt(2) as likely as the one
             // below
  Uniform,   // uniform in 1..max_size
};

struct GenOptions {
  std::uint64_t seed = 1;
  std::uint64_t events = 10000;  // operations (a c m r f w u); the ppr/end markers come on top
  // PPR instances: a share of the operations (ppr_share, in millionths), or a count of
  // instances (ppr_count) when ppr_is_count.
  bool ppr_is_count = false;
  std::uint64_t ppr_share = kMillion / 2;
  std::uint64_t ppr_count = 0;
  std::uint64_t ppr_length = 50;  // operations per instance
  std::uint64_t ppr_run = 8;      // most instances in a row

  SizeDistribution sizes = SizeDistribution::PowerLaw;
  std::uint64_t max_size = 65536;  // largest request of the distribution
  std::uint64_t large_share =
      0;  // millionths of allocations above 256 KiB (up to max(max_size, 1 MiB))

  std::uint64_t lifetime = 200;  // mean events an object lives
  std::uint64_t cross_free =
      0;  // millionths of frees in an instance that free an earlier instance's object
  std::uint64_t realloc = kMillion / 20;   // reallocs per allocation, in millionths
  std::uint64_t calloc = kMillion / 20;    // millionths of allocations that are calloc
  std::uint64_t memalign = kMillion / 50;  // millionths of allocations that are memalign
  std::uint64_t writes = kMillion;         // w events per allocation, in millionths
  std::uint64_t reads = kMillion;          // u events per allocation, in millionths
  std::uint64_t sharing = 0;  // millionths of an instance's accesses to earlier instances' objects
  std::uint64_t max_live = 100000;  // most live objects (1 .. 2^27)
};

// What is wrong with `opt`, as "--flag: reason"; empty when the options are usable.
std::string validate(const GenOptions& opt);

// The options as the pprsim gen flags that reproduce them, for a trace's header comment.
std::string describe(const GenOptions& opt);

// Generates the trace. requires: validate(opt) is empty.
void generate(const GenOptions& opt, const std::function<void(const Event&)>& emit);
// Generates the trace into `out` (the header is already written).
void generate(const GenOptions& opt, TraceWriter& out);

// Parses a fraction or a mean: "0.25", "25%", "3", "1.5" into millionths ("0.25" -> 250000).
// At most 6 decimals. False (with `error` set) when `text` is not such a number or exceeds `max`.
bool parse_millionths(std::string_view text, std::uint64_t max, std::uint64_t& out,
                      std::string& error);

// "0.25" for 250000, "1" for 1000000: the shortest text parse_millionths reads back.
std::string format_millionths(std::uint64_t value);

std::string_view size_distribution_name(SizeDistribution d);

}  // namespace pprsim
