#include "sim/access_log.h"

#include <algorithm>
#include <memory>
#include <type_traits>

#include "sim/resident.h"

namespace pprsim {

static_assert(std::is_trivially_destructible_v<AccessLog::PageLog>, "page logs are reused in place");

namespace {

// Bits [lo, hi) of a mask word. requires: lo < hi <= 64.
std::uint64_t bit_range(std::size_t lo, std::size_t hi) {
  return (hi - lo == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << (hi - lo)) - 1) << lo;
}

// Bits [from, to) of a chunk's mask words set (or cleared).
void set_bits(std::array<std::uint64_t, AccessLog::Lines::kChunk / 64>& has, std::size_t from, std::size_t to,
              bool on) {
  while (from < to) {
    const std::size_t w = from / 64;
    const std::size_t lo = from % 64;
    const std::size_t hi = std::min<std::size_t>(64, lo + (to - from));
    const std::uint64_t bits = bit_range(lo, hi);
    has[w] = on ? has[w] | bits : has[w] & ~bits;
    from += hi - lo;
  }
}

// Gives the exposed bytes among [lo, hi) of page word `w` (neither read before, by the read
// chunk's mask, nor written before, by `written`: the write mask of that word) the line `line`.
// requires: lo < hi <= 64, `r` the read chunk that holds word `w`.
void mark_exposed(AccessLog::Lines::Chunk& r, std::size_t w, std::size_t lo, std::size_t hi, std::uint64_t written,
                  std::uint32_t line) {
  constexpr std::size_t kWordsPerChunk = AccessLog::Lines::kChunk / 64;
  std::uint64_t& has = r.has[w % kWordsPerChunk];
  std::uint64_t fresh = bit_range(lo, hi) & ~has & ~written;
  has |= fresh;
  const std::size_t base = 64 * (w % kWordsPerChunk);
  for (; fresh != 0; fresh &= fresh - 1) r.line[base + static_cast<std::size_t>(std::countr_zero(fresh))] = line;
}

// What one touched page costs besides its per-byte arrays (PageLog and its hash slot).
constexpr std::uint64_t kPageLogCost = sizeof(AccessLog::PageLog) + 32;
}  // namespace

AccessLog::Lines::Chunk& AccessLog::Lines::chunk(std::size_t i, AccessLog& log) {
  Chunk*& c = chunks_[i];
  if (c == nullptr) {
    const bool uniform = covered(i);  // one line for every byte so far
    c = log.take_chunk();
    if (uniform) c->line.fill(uniform_[i]);  // else no byte has a line: the lines are not read
    c->has.fill(uniform ? ~std::uint64_t{0} : 0);
  }
  page_line_ = 0;
  return *c;
}

void AccessLog::Lines::set(std::size_t i, std::size_t from, std::size_t to, std::uint32_t line, AccessLog& log) {
  if (to - from == kChunk) {
    chunks_[i] = nullptr;  // its storage stays in the log's slabs until the log goes
    uniform_[i] = line;
    if (page_line_ != line) page_line_ = 0;
  } else {
    Chunk& c = chunk(i, log);
    std::fill(c.line.begin() + static_cast<std::ptrdiff_t>(from), c.line.begin() + static_cast<std::ptrdiff_t>(to),
              line);
    set_bits(c.has, from, to, line != 0);
  }
  touched_ |= std::uint32_t{1} << i;
}

AccessLog::Lines::Chunk* AccessLog::take_chunk() {
  if (slab_used_ == kSlab) {
    if (slabs_in_use_ == slabs_.size()) {
      ResidentMeter::current().take(kSlab * sizeof(Lines::Chunk));
      slabs_.push_back(std::make_unique_for_overwrite<Lines::Chunk[]>(kSlab));
    }
    ++slabs_in_use_;
    slab_used_ = 0;
  }
  return &slabs_[slabs_in_use_ - 1][slab_used_++];  // chunk() initialises it
}

void AccessLog::reset() {
  slabs_in_use_ = 0;
  slab_used_ = kSlab;
  page_slabs_in_use_ = 0;
  page_slab_used_ = kPageSlab;
  by_page_.clear();
  sorted_.clear();
  sorted_size_ = 0;
  line_ = 1;
  last_pn_ = ~std::uint64_t{0};
  last_ = nullptr;
}

void AccessLog::Lines::set_all(std::uint32_t line) {
  chunks_ = {};
  uniform_.fill(line);
  touched_ = line != 0 ? (kChunks == 32 ? ~std::uint32_t{0} : (std::uint32_t{1} << kChunks) - 1) : 0;
  page_line_ = line;
}

AccessLog::~AccessLog() {
  ResidentMeter::current().give(page_slabs_.size() * kPageSlab * kPageLogCost +
                                slabs_.size() * kSlab * sizeof(Lines::Chunk));
}

AccessLog::PageLog& AccessLog::page_for(std::uint64_t pn) {
  if (pn == last_pn_) return *last_;
  const auto key = static_cast<std::int64_t>(pn);  // page numbers have 52 bits
  PageLog** found = by_page_.find(key);
  if (found == nullptr) {
    if (page_slab_used_ == kPageSlab) {
      if (page_slabs_in_use_ == page_slabs_.size()) {
        ResidentMeter::current().take(kPageSlab * kPageLogCost);
        try {
          page_slabs_.push_back(std::make_unique<PageLog[]>(kPageSlab));
        } catch (...) {
          ResidentMeter::current().give(kPageSlab * kPageLogCost);
          throw;
        }
      }
      ++page_slabs_in_use_;
      page_slab_used_ = 0;
    }
    // A slab kept over a reset holds an old page's log: each one handed out starts empty.
    PageLog* fresh = std::construct_at(&page_slabs_[page_slabs_in_use_ - 1][page_slab_used_]);
    found = by_page_.try_emplace(key, fresh).first;
    ++page_slab_used_;
  }
  last_pn_ = pn;
  last_ = *found;
  return **found;
}

const AccessLog::PageLog* AccessLog::page(std::uint64_t pn) const {
  PageLog* const* found = by_page_.find(static_cast<std::int64_t>(pn));
  return found == nullptr ? nullptr : *found;
}

const AccessLog::Pages& AccessLog::pages() const {
  if (sorted_size_ != by_page_.size()) {
    sorted_.clear();
    sorted_.reserve(by_page_.size());
    by_page_.for_each([&](std::int64_t pn, PageLog* p) { sorted_.emplace_back(static_cast<std::uint64_t>(pn), p); });
    std::sort(sorted_.begin(), sorted_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    sorted_size_ = by_page_.size();
  }
  return sorted_;
}

bool AccessLog::word_read(Addr a) {
  if (a % 8 != 0) return false;
  PageLog& p = page_for(a / kPageSize);
  if (p.write_line.whole() || p.read_line.whole()) return true;  // nothing new can be exposed
  const std::size_t off = a % kPageSize;
  Lines::Chunk* r = p.read_line.chunks_[off / Lines::kChunk];
  if (r == nullptr) return false;
  mark_exposed(*r, off / 64, off % 64, off % 64 + 8, p.write_line.mask(off / 64), line_);
  return true;
}

bool AccessLog::word_write(Addr a) {
  if (a % 8 != 0) return false;
  PageLog& p = page_for(a / kPageSize);
  const std::size_t off = a % kPageSize;
  Lines::Chunk* c = p.write_line.chunks_[off / Lines::kChunk];
  if (c == nullptr) return false;
  const std::size_t b = off % Lines::kChunk;
  std::fill_n(c->line.begin() + static_cast<std::ptrdiff_t>(b), 8, line_);
  c->has[b / 64] |= bit_range(b % 64, b % 64 + 8);
  return true;
}

void AccessLog::on_read(Addr a, std::uint64_t n) {
  if (n == 8 && word_read(a)) return;
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t len = std::min(n, kPageSize - off);
    PageLog& p = page_for(a / kPageSize);
    // A page written whole before: no read of it is exposed. Read whole before: nothing new.
    if (!p.write_line.whole() && !p.read_line.whole()) {
      if (len == kPageSize && !p.write_line.any() && !p.read_line.any()) {
        p.read_line.set_all(line_);
      } else {
        for (std::uint64_t i = off; i < off + len;) {
          const std::size_t c = i / Lines::kChunk;
          const std::uint64_t end = std::min<std::uint64_t>(off + len, (c + 1) * Lines::kChunk);
          if (p.write_line.covered(c) || p.read_line.covered(c)) {
            // Every byte written before (not exposed) or read before (nothing new).
          } else if (end - i == Lines::kChunk && !p.write_line.touched(c) && !p.read_line.touched(c)) {
            p.read_line.set(c, 0, Lines::kChunk, line_, *this);
          } else {
            // The exposed bytes: neither read nor written before. 64 at a time by the masks.
            Lines::Chunk& r = p.read_line.chunk(c, *this);
            for (std::uint64_t b = i; b < end;) {
              const std::size_t w = b / 64;
              const std::size_t lo = b % 64;
              const std::size_t hi = std::min<std::uint64_t>(64, lo + (end - b));
              mark_exposed(r, w, lo, hi, p.write_line.mask(w), line_);
              b += hi - lo;
            }
            p.read_line.touched_ |= std::uint32_t{1} << c;
          }
          i = end;
        }
      }
    }
    a += len;
    n -= len;
  }
}

void AccessLog::on_write(Addr a, std::uint64_t n) {
  if (n == 8 && word_write(a)) return;
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t len = std::min(n, kPageSize - off);
    PageLog& p = page_for(a / kPageSize);
    if (len == kPageSize) {
      p.write_line.set_all(line_);
    } else {
      for (std::uint64_t i = off; i < off + len;) {
        const std::size_t c = i / Lines::kChunk;
        const std::uint64_t end = std::min<std::uint64_t>(off + len, (c + 1) * Lines::kChunk);
        p.write_line.set(c, i % Lines::kChunk, (end - 1) % Lines::kChunk + 1, line_, *this);
        i = end;
      }
    }
    a += len;
    n -= len;
  }
}

}  // namespace pprsim
