// DlHeap: a dlmalloc-style heap on the memory interface of alloc/memory.h: boundary-tagged
// chunks, exact-size small bins and sorted range large bins (best fit), a top chunk grown from
// system memory, coalescing on free, and large requests served by regions of their own. All
// in-band data goes through `Mem`; the bins, the top and the segment list are out-of-band
// state in this object (copied at fork like any process's static data).
//
// The same class also runs as a bounded *arena*: a heap confined to one range that some other
// heap gave it (comalloc's private task heaps). An arena never asks for system memory, never
// reads or writes a byte outside its range, and sets the private bit in every header it writes.
//
// And as a *slice* heap: a growing heap of a speculative task (comalloc's growth heap) whose
// segments and large regions come from that task's own slice of address space
// (Memory::task_sys_alloc), so that growing touches nothing shared. Its chunks are ordinary
// chunks (no private bit); a commit hands them to the base heap whole (adopt).
//
// Chunk layout (every chunk starts 16-byte aligned, its size is a multiple of 16, >= 32):
//   +0  head: magic (bits 56..63) | kind (bits 48..55) | size (bits 4..47) | P | I | C
//       C = this chunk is in use, I = the previous chunk is in use, P = private (arena) chunk
//   +8  in use: kLiveTag (a check against bad and double frees); free: next chunk in its bin
//   +16 in use: payload (usable: size - 16 bytes); free: previous chunk in its bin
//   free chunks only: the last word is the chunk's size (the footer), so that freeing the chunk
//   after it finds its start in O(1).
// A segment (one system region) is a run of chunks ended by a 16-byte fence (an in-use
// pseudo-chunk whose second word is the segment's base). The top chunk, when there is one, is
// the last chunk of the newest segment. Two free chunks are never neighbours.
// A large request gets a region of its own (kind Direct; second word = the distance `lead`
// from the region's base to the chunk, nonzero only for an aligned request, when a Pad header at
// the region's base records it).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <iterator>
#include <set>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include "alloc/census.h"
#include "alloc/malloc_helpers.h"
#include "alloc/memory.h"
#include "alloc/probes.h"

namespace pprsim::co {
class StateWriter;
class StateReader;
}  // namespace pprsim::co

namespace pprsim {

namespace dl {
inline constexpr std::uint64_t kHeader = 16;
inline constexpr std::uint64_t kMinChunk = 32;
inline constexpr std::uint64_t kFence = 16;
inline constexpr std::uint64_t kMaxRequest = std::uint64_t{1} << 40;
inline constexpr std::uint64_t kDirectThreshold = std::uint64_t{256} << 10;
inline constexpr std::uint64_t kGranularity = std::uint64_t{256} << 10;
inline constexpr std::uint64_t kMaxGranularity = std::uint64_t{64} << 20;
// A slice heap's first segment; later ones double up to kGranularity.
inline constexpr std::uint64_t kSliceGrowth = std::uint64_t{4} << 10;

inline constexpr std::uint64_t kCInUse = 1;
inline constexpr std::uint64_t kPInUse = 2;
inline constexpr std::uint64_t kPrivate = 4;
inline constexpr std::uint64_t kFlagMask = 0xF;
inline constexpr std::uint64_t kSizeMask = 0x0000'FFFF'FFFF'FFF0;
inline constexpr std::uint64_t kMagic = std::uint64_t{0xC5} << 56;
inline constexpr std::uint64_t kMagicMask = std::uint64_t{0xFF} << 56;
inline constexpr std::uint64_t kLiveTag = 0x11FE'C0A1'10C8'11FE;

enum class Kind : std::uint64_t { Chunk = 0, Fence = 1, Direct = 2, Pad = 3 };

constexpr std::uint64_t head_word(Kind k, std::uint64_t size, std::uint64_t flags) {
  return kMagic | (static_cast<std::uint64_t>(k) << 48) | size | flags;
}
constexpr bool valid(std::uint64_t h) { return (h & kMagicMask) == kMagic; }
constexpr Kind kind(std::uint64_t h) { return static_cast<Kind>((h >> 48) & 0xFF); }
constexpr std::uint64_t size_of(std::uint64_t h) { return h & kSizeMask; }
constexpr bool in_use(std::uint64_t h) { return (h & kCInUse) != 0; }

// Chunk size for a request of n payload bytes. requires: n <= kMaxRequest.
constexpr std::uint64_t request_to_size(std::uint64_t n) {
  return n + kHeader <= kMinChunk ? kMinChunk : round_up(n + kHeader, 16);
}

// Bins: chunk sizes below kSmallLimit each have a bin of their own (index size / 16);
// above, each doubling of size is split into kLargeSplit bins, kept sorted by size.
inline constexpr std::uint64_t kSmallLimit = 1024;
inline constexpr int kSmallBins = static_cast<int>(kSmallLimit / 16);
inline constexpr int kLargeSplit = 4;
inline constexpr int kLargeBins = (48 - 10) * kLargeSplit;
inline constexpr int kBins = kSmallBins + kLargeBins;

constexpr int bin_index(std::uint64_t size) {
  if (size < kSmallLimit) return static_cast<int>(size >> 4);
  const int lg = 63 - std::countl_zero(size);
  const int sub = static_cast<int>((size >> (lg - 2)) & 3);
  return kSmallBins + (lg - 10) * kLargeSplit + sub;
}
constexpr bool is_small_bin(int i) { return i < kSmallBins; }

static_assert(bin_index(kMinChunk) == 2 && bin_index(1008) == 63 && bin_index(1024) == 64);
static_assert(bin_index(1280) == 65 && bin_index(2047) == 67 && bin_index(2048) == 68);
static_assert(bin_index(kSizeMask) < kBins);
static_assert(request_to_size(0) == 32 && request_to_size(16) == 32 && request_to_size(17) == 48);
}  // namespace dl

template <Memory Mem>
class DlHeap {
 public:
  // A heap that grows from system memory.
  explicit DlHeap(Mem* mem) : mem_(mem) {}

  // A bounded heap over [start, start + size), whose whole range is one free chunk (with the
  // private bit) at `start` in memory already. requires: start 16-aligned, size >= kMinChunk,
  // a multiple of 16.
  static DlHeap arena(Mem* mem, Addr start, std::uint64_t size) {
    DlHeap h(mem);
    h.arena_ = true;
    h.private_ = dl::kPrivate;
    h.start_ = start;
    h.limit_ = start + size;
    h.top_ = start;
    h.top_size_ = size;
    return h;
  }

  // A heap that grows from a speculative task's slice: its segments start small and double
  // (a task that needs a little more gets a little more), and it keeps the list of its large
  // regions, so that it can tell its blocks by address (holds).
  static DlHeap slice(Mem* mem) {
    DlHeap h(mem);
    h.slice_ = true;
    return h;
  }

  void bind(Mem* mem) { mem_ = mem; }

  // ---- The C API. ----

  Addr malloc(std::uint64_t n) {
    if (n > dl::kMaxRequest) return 0;
    if (!arena_ && n >= dl::kDirectThreshold) return direct_alloc(n, 16);
    const Addr c = alloc_chunk(dl::request_to_size(n));
    if (c == 0) return 0;
    mem_->store64(c + 8, dl::kLiveTag);
    return c + dl::kHeader;
  }

  Addr calloc(std::uint64_t count, std::uint64_t size) { return zeroed_malloc(*this, *mem_, count, size, dl::kMaxRequest); }

  // requires: align is a power of two (else 0 is returned).
  Addr memalign(std::uint64_t align, std::uint64_t n) {
    if (!valid_alignment(align)) return 0;
    if (align <= 16) return malloc(n);
    if (n > dl::kMaxRequest || align > dl::kMaxRequest) return 0;
    if (!arena_ && n + align >= dl::kDirectThreshold) return direct_alloc(n, align);
    const std::uint64_t nb = dl::request_to_size(n);
    Addr c = alloc_chunk(nb + align + dl::kMinChunk);
    if (c == 0) return 0;
    std::uint64_t size = dl::size_of(head(c));
    Addr p = round_up(c + dl::kHeader, align);
    if (p != c + dl::kHeader) {
      probe(mem_, DlProbe::AlignLead);
      if (p - dl::kHeader - c < dl::kMinChunk) p += align;
      const std::uint64_t lead = p - dl::kHeader - c;
      const Addr c2 = c + lead;
      set_head(c2, chunk_head(size - lead, dl::kCInUse | dl::kPInUse));
      set_head(c, chunk_head(lead, dl::kCInUse | (head(c) & dl::kPInUse)));
      mem_->store64(c + 8, dl::kLiveTag);
      release(c);  // marks c2's previous neighbour free
      c = c2;
      size -= lead;
    }
    trim(c, size, nb);
    mem_->store64(c + 8, dl::kLiveTag);
    return c + dl::kHeader;
  }

  // realloc(0, n) = malloc(n); realloc(p, 0) = free(p), returns 0. On failure p is untouched.
  Addr realloc(Addr p, std::uint64_t n) {
    if (p == 0) return malloc(n);
    if (n == 0) {
      free(p);
      return 0;
    }
    const Addr c = chunk_of(p);
    if (c == 0) {
      ++invalid_frees_;
      return 0;
    }
    if (n > dl::kMaxRequest) return 0;
    const std::uint64_t h = head(c);
    if (dl::kind(h) == dl::Kind::Direct) {
      const std::uint64_t usable = c + dl::size_of(h) - p;
      probe(mem_, DlProbe::ReallocDirect);
      if (n <= usable) return p;
      // Grow with headroom, so that a growing object is not copied at every page.
      const Addr q = malloc(std::min(dl::kMaxRequest, n + n / 8));
      if (q == 0) return 0;
      mem_->copy(q, p, usable);
      free(p);
      return q;
    }
    const std::uint64_t nb = dl::request_to_size(n);
    const std::uint64_t size = dl::size_of(h);
    if (nb <= size) {
      probe(mem_, DlProbe::ReallocShrink);
      trim(c, size, nb);
      return p;
    }
    const Addr next = c + size;
    if (next == top_ && size + top_size_ >= nb + dl::kMinChunk) {
      probe(mem_, DlProbe::ReallocIntoTop);
      set_head(c, chunk_head(nb, dl::kCInUse | (h & dl::kPInUse)));
      add_live(nb - size);
      top_size_ -= nb - size;
      top_ = c + nb;
      set_head(top_, chunk_head(top_size_, dl::kPInUse));
      note_top();
      return p;
    }
    if (next != limit_ && next != top_) {
      const std::uint64_t nh = head(next);
      if (is_free_chunk(nh) && size + dl::size_of(nh) >= nb) {
        probe(mem_, DlProbe::ReallocIntoNext);
        unlink(next, dl::size_of(nh));
        add_live(dl::size_of(nh));
        set_head(c, chunk_head(size + dl::size_of(nh), h & (dl::kCInUse | dl::kPInUse)));
        mark_next_in_use(c + size + dl::size_of(nh));
        trim(c, size + dl::size_of(nh), nb);
        return p;
      }
    }
    const Addr q = malloc(n);
    if (q == 0) return 0;
    probe(mem_, DlProbe::ReallocMove);
    mem_->copy(q, p, size - dl::kHeader);
    free(p);
    return q;
  }

  void free(Addr p) {
    if (p == 0) return;
    const Addr c = chunk_of(p);
    if (c == 0) {
      ++invalid_frees_;
      return;
    }
    const std::uint64_t h = head(c);
    if (dl::kind(h) == dl::Kind::Direct) {
      probe(mem_, DlProbe::FreeDirect);
      const std::uint64_t lead = mem_->load64(c + 8);
      mem_->sys_free(c - lead, dl::size_of(h) + lead);
      footprint_ -= dl::size_of(h) + lead;
      if (slice_) erase_region(directs_, c - lead);
      return;
    }
    release(c);
  }

  // 0 for 0 and for an address that is no live block of this heap.
  std::uint64_t usable_size(Addr p) {
    const Addr c = chunk_of(p);
    if (c == 0) return 0;
    const std::uint64_t h = head(c);
    return c + dl::size_of(h) - p;
  }

  // True when p is the payload of a live chunk (or large region) of this heap's kind: for an
  // arena, a private chunk inside its range; otherwise a chunk without the private bit.
  bool owns(Addr p) { return chunk_of(p) != 0; }

  // ---- Chunk-level access, for an allocator built on this heap (comalloc). ----

  // An in-use chunk of at least `nb` bytes (nb a multiple of 16, >= kMinChunk) taken best-fit
  // from the bins or the top, growing from system memory if needed; 0 when refused. Its second
  // word is not written.
  Addr take_chunk(std::uint64_t nb) { return alloc_chunk(nb); }

  std::uint64_t chunk_size(Addr c) { return dl::size_of(head(c)); }

  // Frees the in-use chunk c (no private bit, not Direct): coalesces it with free neighbours,
  // into the top or into a bin.
  void release_chunk(Addr c) { release(c); }

  // Takes over the slice heap g of a committed task, whose memory is now this heap's (this heap
  // is bound to the committed memory): its segments join this heap's, its free chunks and its
  // top go into this heap's bins, its large chunks become this heap's (they are freed like any).
  // Only g's own lists are read and its free chunks re-linked: the cost is what the task grew.
  // requires: this heap grows from system memory (neither an arena nor a slice heap).
  void adopt(const DlHeap& g) {
    if (!g.segments_.empty() || !g.directs_.empty()) probe(mem_, DlProbe::Adopt);
    for (const Segment& s : g.segments_) insert_region(segments_, s);
    footprint_ += g.footprint_;
    for (int i = 0; i < dl::kBins; ++i) {
      // g's links are in the committed memory, read through this heap's; each is read before
      // insert rewrites it.
      for (Addr c = g.bins_[bi(i)]; c != 0;) {
        const Addr next = mem_->load64(c + 8);
        insert(c, dl::size_of(head(c)));
        c = next;
      }
    }
    if (g.top_ != 0) {
      set_free(g.top_, g.top_size_);
      insert(g.top_, g.top_size_);
    }
  }

  // ---- Observation. ----

  std::uint64_t invalid_frees() const { return invalid_frees_; }
  // System memory held: segments and large regions.
  std::uint64_t footprint() const { return footprint_; }
  Addr top() const { return top_; }
  std::uint64_t top_size() const { return top_size_; }
  // Arena: the bytes below the top now, and the most there ever were. Slice heap: the bytes of
  // its in-use chunks in its segments (large chunks, which have regions of their own, are not
  // counted), and the most there ever were. The base heap does not count (0).
  std::uint64_t used() const {
    if (slice_) return live_;
    return arena_ ? (top_ != 0 ? top_ : limit_) - start_ : 0;
  }
  std::uint64_t peak_used() const { return peak_used_; }
  // System memory this heap obtained itself, ever (segments and large regions, what it gave
  // back included; not what it adopted).
  std::uint64_t obtained_bytes() const { return obtained_; }

  // Whether address a lies in one of this slice heap's segments or large regions:
  // O(log regions). Always false for other heaps.
  bool holds(Addr a) const { return slice_ && (in_regions(segments_, a) || in_regions(directs_, a)); }
  Addr arena_start() const { return start_; }
  Addr arena_limit() const { return limit_; }

  // Calls f(base, size) for each segment (not for large chunks' regions), in address order.
  template <class F>
  void for_each_segment(F&& f) const {
    for (const Segment& s : segments_) f(s.base, s.size);
  }

  // Walks the chunks of one system region in address order. A segment's fence is counted in
  // the block before it. Stops at the first invalid header (one Corrupt piece up to the
  // region's end) and returns false then.
  template <class Visit>
  bool walk_region(Addr base, std::uint64_t size, Visit&& visit) {
    const Addr end = base + size;
    const std::uint64_t h0 = head(base);
    if (dl::valid(h0) && (dl::kind(h0) == dl::Kind::Pad || dl::kind(h0) == dl::Kind::Direct)) {
      const std::uint64_t lead = dl::kind(h0) == dl::Kind::Pad ? dl::size_of(h0) : 0;
      if (lead >= size) return corrupt(base, size, visit);
      const std::uint64_t hc = head(base + lead);
      if (!dl::valid(hc) || dl::kind(hc) != dl::Kind::Direct || !dl::in_use(hc) ||
          dl::size_of(hc) + lead != size || mem_->load64(base + lead + 8) != lead) {
        return corrupt(base, size, visit);
      }
      const Addr payload = base + lead + dl::kHeader;
      visit(BlockInfo{base, size, BlockInfo::Kind::Live, payload, end - payload, -1});
      return true;
    }
    BlockInfo pending;
    bool have = false;
    Addr a = base;
    while (a < end) {
      const std::uint64_t h = head(a);
      if (dl::valid(h) && dl::kind(h) == dl::Kind::Fence && have && a + dl::kFence == end &&
          mem_->load64(a + 8) == base) {
        pending.size += dl::kFence;
        visit(pending);
        return true;
      }
      const std::uint64_t sz = dl::size_of(h);
      if (!dl::valid(h) || dl::kind(h) != dl::Kind::Chunk || sz < dl::kMinChunk ||
          sz > end - a || end - a - sz < dl::kFence) {
        if (have) visit(pending);
        return corrupt(a, end - a, visit);
      }
      if (have) visit(pending);
      have = true;
      pending = dl::in_use(h)
                    ? BlockInfo{a, sz, BlockInfo::Kind::Live, a + dl::kHeader, sz - dl::kHeader, -1}
                    : BlockInfo{a, sz, BlockInfo::Kind::Free, 0, 0, dl::bin_index(sz)};
      a += sz;
    }
    if (have) visit(pending);
    return corrupt(a, 0, visit);
  }

  // Visits every chunk the bins reach (at most `max_steps` links per bin) and the top.
  template <class Visit>
  void walk_free(std::uint64_t max_steps, Visit&& visit) {
    for (int i = 0; i < dl::kBins; ++i) {
      Addr c = bins_[bi(i)];
      for (std::uint64_t s = 0; c != 0 && s < max_steps; ++s) {
        visit(FreeEntry{c, i});
        c = mem_->load64(c + 8);
      }
    }
    if (top_ != 0) visit(FreeEntry{top_, -1});
  }

  // The chunk of region [base, base + size) that holds `a`: its start and head word; start 0
  // when the walk does not reach it. A fence is returned as a chunk of its own.
  std::pair<Addr, std::uint64_t> find_chunk(Addr base, std::uint64_t size, Addr a) {
    const Addr end = base + size;
    const std::uint64_t h0 = head(base);
    if (dl::valid(h0) && dl::kind(h0) == dl::Kind::Pad) {
      if (a < base + dl::size_of(h0)) return {base, h0};
      return {base + dl::size_of(h0), head(base + dl::size_of(h0))};
    }
    Addr c = base;
    while (c < end) {
      const std::uint64_t h = head(c);
      const std::uint64_t sz = dl::kind(h) == dl::Kind::Fence ? dl::kFence : dl::size_of(h);
      if (!dl::valid(h) || sz < 16 || sz > end - c) return {0, 0};
      if (a < c + sz) return {c, h};
      c += sz;
    }
    return {0, 0};
  }

  // What part of the chunk at c (head word h) holds address a, e.g. "forward bin link of free
  // chunk at 0x.. (48 B) in bin 3".
  std::string describe_chunk(Addr c, std::uint64_t h, Addr a) {
    const std::uint64_t off = a - c;
    const std::uint64_t sz = dl::size_of(h);
    switch (dl::kind(h)) {
      case dl::Kind::Fence:
        return fmt::format("fence at the end of the segment at {:#x}", mem_->load64(c + 8));
      case dl::Kind::Pad:
        return fmt::format("alignment pad before a large chunk at {:#x}", c + sz);
      case dl::Kind::Direct:
        return off < dl::kHeader ? fmt::format("header of large chunk at {:#x} ({} B)", c, sz)
                                 : fmt::format("payload of large chunk at {:#x} ({} B)", c, sz);
      case dl::Kind::Chunk: break;
    }
    if (dl::in_use(h)) {
      if (off < 8) return fmt::format("size/flags word of in-use chunk at {:#x} ({} B)", c, sz);
      if (off < 16) return fmt::format("in-use tag of chunk at {:#x} ({} B)", c, sz);
      return fmt::format("payload of in-use chunk at {:#x} ({} B)", c, sz);
    }
    const std::string where =
        c == top_ ? std::string("the top chunk")
                  : fmt::format("free chunk at {:#x} ({} B) in bin {}", c, sz, dl::bin_index(sz));
    if (off < 8) return fmt::format("size/flags word of {}", where);
    if (c == top_) return fmt::format("unused bytes of the top chunk at {:#x} ({} B)", c, sz);
    if (off < 16) return fmt::format("forward bin link of {}", where);
    if (off < 24) return fmt::format("backward bin link of {}", where);
    if (off >= sz - 8) return fmt::format("footer (size) of {}", where);
    return fmt::format("unused bytes of {}", where);
  }

  // Checks every invariant of the heap: the segments tile into valid chunks ended by their
  // fence, in-use bits of neighbours agree, footers match, no two free chunks are neighbours,
  // every free chunk but the top is in the right bin exactly once, bins are well linked and
  // large bins sorted, the bitmap matches the bins. Returns "" or the first violation.
  // `given` lists ranges this heap gave away whole (comalloc's private heaps, sorted by start):
  // each is a chunk of the walk that starts with a header carrying the private bit, and is
  // skipped whole as in use; no other chunk with the private bit may be outside this heap.
  std::string verify(std::span<const std::pair<Addr, std::uint64_t>> given = {}) {
    std::set<Addr> binned;
    for (int i = 0; i < dl::kBins; ++i) {
      Addr c = bins_[bi(i)];
      const bool marked = (bitmap_[bi(i) / 64] >> (i % 64) & 1) != 0;
      if ((c != 0) != marked) return fmt::format("bin {}: bitmap says {}", i, marked);
      Addr prev = 0;
      std::uint64_t last = 0;
      for (std::uint64_t s = 0; c != 0; ++s) {
        if (s > 10'000'000) return fmt::format("bin {}: cycle", i);
        const std::uint64_t h = head(c);
        if (!dl::valid(h) || dl::kind(h) != dl::Kind::Chunk || dl::in_use(h) ||
            (h & dl::kPrivate) != private_) {
          return fmt::format("bin {}: {:#x} is no free chunk", i, c);
        }
        if (dl::bin_index(dl::size_of(h)) != i) return fmt::format("bin {}: {:#x} in the wrong bin", i, c);
        if (dl::size_of(h) < last) return fmt::format("bin {}: not sorted at {:#x}", i, c);
        last = dl::size_of(h);
        if (mem_->load64(c + 16) != prev) return fmt::format("bin {}: bad back link at {:#x}", i, c);
        if (!binned.insert(c).second) return fmt::format("bin {}: {:#x} twice", i, c);
        prev = c;
        c = mem_->load64(c + 8);
      }
    }
    std::uint64_t seen_binned = 0;
    bool seen_top = top_ == 0;
    auto check_range = [&](Addr base, Addr end, bool fenced) -> std::string {
      Addr c = base;
      bool prev_in_use = true;
      while (c < end) {
        const std::uint64_t h = head(c);
        if (!dl::valid(h)) return fmt::format("bad head at {:#x}", c);
        const auto g = std::lower_bound(given.begin(), given.end(), c,
                                        [](const std::pair<Addr, std::uint64_t>& r, Addr a) { return r.first < a; });
        if (g != given.end() && g->first == c) {
          if (dl::kind(h) != dl::Kind::Chunk || (h & dl::kPrivate) == 0 || g->second > end - c) {
            return fmt::format("the range given away at {:#x} has no private chunk header", c);
          }
          prev_in_use = true;
          c += g->second;
          continue;
        }
        if (dl::kind(h) == dl::Kind::Fence) {
          if (!fenced || c + dl::kFence != end) return fmt::format("misplaced fence at {:#x}", c);
          if (mem_->load64(c + 8) != base) return fmt::format("fence at {:#x} names another base", c);
          if (((h & dl::kPInUse) != 0) != prev_in_use) return fmt::format("fence at {:#x}: prev bit", c);
          return "";
        }
        const std::uint64_t sz = dl::size_of(h);
        if (dl::kind(h) != dl::Kind::Chunk || sz < dl::kMinChunk || sz > end - c) {
          return fmt::format("bad chunk at {:#x}", c);
        }
        if ((h & dl::kPrivate) != private_) return fmt::format("private bit at {:#x}", c);
        if (((h & dl::kPInUse) != 0) != prev_in_use) return fmt::format("prev-in-use bit of {:#x}", c);
        if (dl::in_use(h)) {
          if (mem_->load64(c + 8) != dl::kLiveTag) return fmt::format("no live tag at {:#x}", c);
        } else {
          if (!prev_in_use) return fmt::format("free neighbours before {:#x}", c);
          if (c == top_) {
            if (sz != top_size_) return fmt::format("top size {} != {}", sz, top_size_);
            if (c + sz != (fenced ? end - dl::kFence : end)) return "top is not last";
            seen_top = true;
          } else {
            if (mem_->load64(c + sz - 8) != sz) return fmt::format("footer of {:#x}", c);
            if (binned.count(c) == 0) return fmt::format("free chunk {:#x} in no bin", c);
            ++seen_binned;
          }
        }
        prev_in_use = dl::in_use(h);
        c += sz;
      }
      return fenced ? fmt::format("segment at {:#x} has no fence", base) : "";
    };
    if (arena_) {
      std::string e = check_range(start_, limit_, false);
      if (!e.empty()) return e;
    } else {
      for (const Segment& s : segments_) {
        std::string e = check_range(s.base, s.base + s.size, true);
        if (!e.empty()) return e;
      }
    }
    if (!seen_top) return "the top is in no segment";
    if (seen_binned != binned.size()) return "a bin holds a chunk outside the segments";
    for (const Segment& d : directs_) {
      const std::uint64_t h0 = head(d.base);
      const std::uint64_t lead = dl::valid(h0) && dl::kind(h0) == dl::Kind::Pad ? dl::size_of(h0) : 0;
      const std::uint64_t h = lead < d.size ? head(d.base + lead) : 0;
      if (!dl::valid(h) || dl::kind(h) != dl::Kind::Direct || !dl::in_use(h) ||
          dl::size_of(h) + lead != d.size || mem_->load64(d.base + lead + 8) != lead) {
        return fmt::format("large region at {:#x} ({} B) holds no large chunk", d.base, d.size);
      }
    }
    return "";
  }

  struct Stats {
    std::uint64_t segments = 0;
    std::uint64_t free_chunks = 0;  // the top included
    std::uint64_t free_bytes = 0;
    std::uint64_t used_chunks = 0;
    std::uint64_t largest_free = 0;
  };
  // requires: verify() holds.
  Stats stats() {
    Stats st;
    auto scan = [&](Addr c, Addr end) {
      while (c < end) {
        const std::uint64_t h = head(c);
        if (dl::kind(h) == dl::Kind::Fence) return;
        const std::uint64_t sz = dl::size_of(h);
        if (dl::in_use(h)) {
          ++st.used_chunks;
        } else {
          ++st.free_chunks;
          st.free_bytes += sz;
          st.largest_free = std::max(st.largest_free, sz);
        }
        c += sz;
      }
    };
    if (arena_) {
      st.segments = 1;
      scan(start_, limit_);
    } else {
      st.segments = segments_.size();
      for (const Segment& s : segments_) scan(s.base, s.base + s.size);
    }
    return st;
  }

  // Its bookkeeping as bytes and back (alloc/co/task_state.h): a task's heaps handed to the
  // process that merges when tasks are separate processes.
  void export_state(co::StateWriter& w) const;
  bool import_state(co::StateReader& r);

 private:
  struct Segment {
    Addr base;
    std::uint64_t size;
  };

  static constexpr std::size_t bi(int i) { return static_cast<std::size_t>(i); }

  // Regions sorted by base: whether a lies in one; insert; erase the one at base.
  static bool in_regions(const std::vector<Segment>& rs, Addr a) {
    const auto it = std::upper_bound(rs.begin(), rs.end(), a, [](Addr v, const Segment& s) { return v < s.base; });
    return it != rs.begin() && a - std::prev(it)->base < std::prev(it)->size;
  }
  static void insert_region(std::vector<Segment>& rs, Segment r) {
    rs.insert(std::upper_bound(rs.begin(), rs.end(), r.base, [](Addr v, const Segment& s) { return v < s.base; }), r);
  }
  static void erase_region(std::vector<Segment>& rs, Addr base) {
    const auto it = std::lower_bound(rs.begin(), rs.end(), base, [](const Segment& s, Addr a) { return s.base < a; });
    if (it != rs.end() && it->base == base) rs.erase(it);
  }

  // System memory for a segment or a large region: a slice heap's from the task's slice.
  Addr sys_alloc(std::uint64_t size) {
    const Addr r = slice_ ? mem_->task_sys_alloc(size) : mem_->sys_alloc(size);
    if (r != 0) {
      footprint_ += size;
      obtained_ += size;
    }
    return r;
  }

  // A slice heap counts the bytes of its in-use chunks (for the demand comalloc learns).
  void add_live(std::uint64_t n) {
    if (!slice_) return;
    live_ += n;
    peak_used_ = std::max(peak_used_, live_);
  }
  void sub_live(std::uint64_t n) {
    if (slice_) live_ -= n;
  }

  std::uint64_t head(Addr c) { return mem_->load64(c); }
  void set_head(Addr c, std::uint64_t h) { mem_->store64(c, h); }
  std::uint64_t chunk_head(std::uint64_t size, std::uint64_t flags) const {
    return dl::head_word(dl::Kind::Chunk, size, flags | private_);
  }
  // A free chunk of this heap (not a fence, a large chunk, or another heap's chunk).
  bool is_free_chunk(std::uint64_t h) const {
    return dl::valid(h) && dl::kind(h) == dl::Kind::Chunk && !dl::in_use(h) &&
           (h & dl::kPrivate) == private_;
  }

  // The chunk of payload p when p is a live block of this heap, else 0.
  Addr chunk_of(Addr p) {
    if (p < dl::kHeader || (p & 15) != 0) return 0;
    const Addr c = p - dl::kHeader;
    if (arena_ && (c < start_ || p >= limit_)) return 0;
    const std::uint64_t h = head(c);
    if (!dl::valid(h) || !dl::in_use(h) || (h & dl::kPrivate) != private_) return 0;
    if (dl::kind(h) == dl::Kind::Direct) return arena_ ? 0 : c;
    if (dl::kind(h) != dl::Kind::Chunk || mem_->load64(c + 8) != dl::kLiveTag) return 0;
    return c;
  }

  void set_free(Addr c, std::uint64_t size) {
    set_head(c, chunk_head(size, dl::kPInUse));
    mem_->store64(c + size - 8, size);
  }

  void mark_next_in_use(Addr next) {
    if (next != limit_) set_head(next, head(next) | dl::kPInUse);
  }

  void note_top() { peak_used_ = std::max(peak_used_, used()); }

  // ---- Bins ----

  void mark(int i) { bitmap_[bi(i) / 64] |= std::uint64_t{1} << (i % 64); }
  void unmark(int i) { bitmap_[bi(i) / 64] &= ~(std::uint64_t{1} << (i % 64)); }

  // The first non-empty bin at or after i; kBins when none.
  int next_bin(int i) const {
    while (i < dl::kBins) {
      const std::uint64_t w = bitmap_[bi(i) / 64] >> (i % 64);
      if (w != 0) return i + std::countr_zero(w);
      i = (i / 64 + 1) * 64;
    }
    return dl::kBins;
  }

  // Puts the free chunk c (head and footer written) into its bin: small bins at the front,
  // large bins in ascending size order.
  void insert(Addr c, std::uint64_t size) {
    const int i = dl::bin_index(size);
    Addr prev = 0;
    Addr cur = bins_[bi(i)];
    if (!dl::is_small_bin(i)) {
      while (cur != 0 && dl::size_of(head(cur)) < size) {
        prev = cur;
        cur = mem_->load64(cur + 8);
      }
    }
    mem_->store64(c + 8, cur);
    mem_->store64(c + 16, prev);
    if (cur != 0) mem_->store64(cur + 16, c);
    if (prev != 0) {
      mem_->store64(prev + 8, c);
    } else {
      bins_[bi(i)] = c;
    }
    mark(i);
  }

  void unlink(Addr c, std::uint64_t size) {
    const int i = dl::bin_index(size);
    const Addr fd = mem_->load64(c + 8);
    const Addr bk = mem_->load64(c + 16);
    if (bk != 0) {
      mem_->store64(bk + 8, fd);
    } else {
      bins_[bi(i)] = fd;
      if (fd == 0) unmark(i);
    }
    if (fd != 0) mem_->store64(fd + 16, bk);
  }

  // The best-fitting binned chunk of at least nb bytes, unlinked; 0 when none.
  Addr take_from_bins(std::uint64_t nb) {
    const int i = dl::bin_index(nb);
    Addr c = 0;
    if (!dl::is_small_bin(i)) {
      for (Addr x = bins_[bi(i)]; x != 0; x = mem_->load64(x + 8)) {
        if (dl::size_of(head(x)) >= nb) {
          c = x;
          break;
        }
      }
    } else {
      c = bins_[bi(i)];
    }
    if (c == 0) {
      const int j = next_bin(i + 1);
      if (j == dl::kBins) return 0;
      c = bins_[bi(j)];  // the smallest chunk of the smallest larger bin
    }
    unlink(c, dl::size_of(head(c)));
    return c;
  }

  // ---- Allocation ----

  // An in-use chunk of at least nb bytes, its head written, its second word not.
  Addr alloc_chunk(std::uint64_t nb) {
    const Addr c = get_chunk(nb);
    if (c != 0 && slice_) add_live(dl::size_of(head(c)));
    return c;
  }

  Addr get_chunk(std::uint64_t nb) {
    Addr c = take_from_bins(nb);
    if (c != 0) {
      const std::uint64_t size = dl::size_of(head(c));
      if (size - nb >= dl::kMinChunk) {
        probe(mem_, DlProbe::BinSplit);
        set_head(c, chunk_head(nb, dl::kCInUse | dl::kPInUse));
        set_free(c + nb, size - nb);
        insert(c + nb, size - nb);
      } else {
        probe(mem_, DlProbe::BinExact);
        set_head(c, chunk_head(size, dl::kCInUse | dl::kPInUse));
        mark_next_in_use(c + size);
      }
      return c;
    }
    c = from_top(nb);
    if (c != 0 || arena_) return c;
    if (!grow(nb)) return 0;
    return from_top(nb);
  }

  Addr from_top(std::uint64_t nb) {
    if (top_ == 0 || top_size_ < nb) return 0;
    const Addr c = top_;
    if (top_size_ >= nb + dl::kMinChunk) {
      probe(mem_, DlProbe::TopCut);
      set_head(c, chunk_head(nb, dl::kCInUse | dl::kPInUse));
      top_ += nb;
      top_size_ -= nb;
      set_head(top_, chunk_head(top_size_, dl::kPInUse));
    } else {
      probe(mem_, DlProbe::TopExhaust);
      set_head(c, chunk_head(top_size_, dl::kCInUse | dl::kPInUse));
      mark_next_in_use(c + top_size_);
      top_ = 0;
      top_size_ = 0;
    }
    note_top();
    return c;
  }

  // A new segment becomes the top; the old top goes to its bin. A slice heap's segments double
  // from dl::kSliceGrowth up to the granularity of the others.
  bool grow(std::uint64_t nb) {
    const std::uint64_t gran =
        slice_ ? slice_growth_ : std::min(dl::kMaxGranularity, std::max(dl::kGranularity, footprint_ / 4));
    const std::uint64_t size = round_up(std::max(nb + dl::kMinChunk + dl::kFence, gran), kPageSize);
    const Addr r = sys_alloc(size);
    if (r == 0) return false;
    probe(mem_, DlProbe::Grow);
    if (slice_) slice_growth_ = std::min(2 * slice_growth_, dl::kGranularity);
    insert_region(segments_, Segment{r, size});
    if (top_ != 0) {
      set_free(top_, top_size_);
      insert(top_, top_size_);
    }
    top_ = r;
    top_size_ = size - dl::kFence;
    set_head(top_, chunk_head(top_size_, dl::kPInUse));
    const Addr fence = r + size - dl::kFence;
    set_head(fence, dl::head_word(dl::Kind::Fence, dl::kFence, dl::kCInUse));
    mem_->store64(fence + 8, r);
    return true;
  }

  Addr direct_alloc(std::uint64_t n, std::uint64_t align) {
    const std::uint64_t size = round_up(n + dl::kHeader + (align > 16 ? align : 0), kPageSize);
    const Addr r = sys_alloc(size);
    if (r == 0) return 0;
    probe(mem_, DlProbe::Direct);
    if (slice_) insert_region(directs_, Segment{r, size});
    const Addr p = round_up(r + dl::kHeader, align);
    const Addr c = p - dl::kHeader;
    const std::uint64_t lead = c - r;
    if (lead != 0) set_head(r, dl::head_word(dl::Kind::Pad, lead, dl::kCInUse));
    set_head(c, dl::head_word(dl::Kind::Direct, size - lead, dl::kCInUse | dl::kPInUse));
    mem_->store64(c + 8, lead);
    return p;
  }

  // Cuts the in-use chunk c of `size` bytes down to nb bytes when the rest makes a chunk,
  // and frees the rest.
  void trim(Addr c, std::uint64_t size, std::uint64_t nb) {
    if (size - nb < dl::kMinChunk) return;
    set_head(c, chunk_head(nb, dl::kCInUse | (head(c) & dl::kPInUse)));
    const Addr r = c + nb;
    set_head(r, chunk_head(size - nb, dl::kCInUse | dl::kPInUse));
    release(r);
  }

  // ---- Freeing ----

  // Frees the in-use chunk c: coalesces with a free previous and next neighbour, joins the top
  // or goes to its bin. A segment that becomes wholly free goes back to the system (the top's
  // only when there are others).
  void release(Addr c) {
    const std::uint64_t h = head(c);
    std::uint64_t size = dl::size_of(h);
    sub_live(size);
    const Addr next = c + size;
    if ((h & dl::kPInUse) == 0) {
      probe(mem_, DlProbe::CoalescePrev);
      const std::uint64_t prev_size = mem_->load64(c - 8);
      c -= prev_size;
      size += prev_size;
      unlink(c, prev_size);
    }
    if (next == top_) {
      top_ = c;
      top_size_ += size;
      if (!arena_ && segments_.size() > 1 && mem_->load64(top_ + top_size_ + 8) == top_) {
        // The top's segment is wholly free and there are others: give it back.
        probe(mem_, DlProbe::ReleaseSegment);
        release_segment(top_, top_size_ + dl::kFence);
        top_ = 0;
        top_size_ = 0;
        return;
      }
      probe(mem_, DlProbe::JoinTop);
      set_head(top_, chunk_head(top_size_, dl::kPInUse));
      return;
    }
    if (next != limit_) {
      const std::uint64_t nh = head(next);
      if (is_free_chunk(nh)) {
        probe(mem_, DlProbe::CoalesceNext);
        unlink(next, dl::size_of(nh));
        size += dl::size_of(nh);
      } else {
        set_head(next, nh & ~dl::kPInUse);
      }
    }
    const Addr after = c + size;
    const bool last = arena_ ? after == limit_ : dl::kind(head(after)) == dl::Kind::Fence;
    if (last && !arena_ && mem_->load64(after + 8) == c) {
      probe(mem_, DlProbe::ReleaseSegment);
      release_segment(c, size + dl::kFence);
      return;
    }
    if (last && top_ == 0) {  // the last chunk of a segment (or the arena) may be the top
      probe(mem_, DlProbe::LastBecomesTop);
      top_ = c;
      top_size_ = size;
      set_head(top_, chunk_head(top_size_, dl::kPInUse));
      return;
    }
    probe(mem_, DlProbe::Bin);
    set_free(c, size);
    insert(c, size);
  }

  void release_segment(Addr base, std::uint64_t size) {
    mem_->sys_free(base, size);
    footprint_ -= size;
    erase_region(segments_, base);
  }

  template <class Visit>
  static bool corrupt(Addr a, std::uint64_t n, Visit& visit) {
    if (n != 0) visit(BlockInfo{a, n, BlockInfo::Kind::Corrupt, 0, 0, -1});
    return false;
  }

  Mem* mem_;
  bool arena_ = false;
  std::uint64_t private_ = 0;  // kPrivate in an arena
  Addr start_ = 0;             // arena range
  Addr limit_ = 0;
  Addr top_ = 0;
  std::uint64_t top_size_ = 0;
  std::array<Addr, dl::kBins> bins_{};
  std::array<std::uint64_t, (dl::kBins + 63) / 64> bitmap_{};
  std::vector<Segment> segments_;  // sorted by base
  std::uint64_t footprint_ = 0;
  std::uint64_t obtained_ = 0;
  std::uint64_t peak_used_ = 0;
  // Slice heap: grows from task_sys_alloc, keeps its large regions and its in-use bytes.
  bool slice_ = false;
  std::uint64_t slice_growth_ = dl::kSliceGrowth;  // its next segment
  std::vector<Segment> directs_;                   // sorted by base
  std::uint64_t live_ = 0;
  std::uint64_t invalid_frees_ = 0;
};

}  // namespace pprsim
