#include "sim/access_log.h"

#include <algorithm>

#include "sim/resident.h"

namespace pprsim {

namespace {
// What one touched page costs besides its per-byte arrays (map node and PageLog).
constexpr std::uint64_t kPageLogCost = sizeof(AccessLog::PageLog) + 64;
}  // namespace

AccessLog::Lines::Chunk& AccessLog::Lines::chunk(std::size_t i, AccessLog& log) {
  Chunk*& c = chunks_[i];
  if (c == nullptr) {
    c = log.take_chunk();
    c->fill(all_);
    ++chunked_;
  }
  return *c;
}

AccessLog::Lines::Chunk* AccessLog::take_chunk() {
  if (slab_used_ == kSlab) {
    ResidentMeter::current().take(kSlab * sizeof(Lines::Chunk));
    slabs_.push_back(std::make_unique_for_overwrite<Lines::Chunk[]>(kSlab));
    slab_used_ = 0;
  }
  return &slabs_.back()[slab_used_++];
}

void AccessLog::Lines::set_all(std::uint32_t line) {
  if (chunked_ != 0) {
    chunks_ = {};  // their storage stays in the log's slabs until the log goes
    chunked_ = 0;
  }
  all_ = line;
}

AccessLog::~AccessLog() {
  ResidentMeter::current().give(pages_.size() * kPageLogCost + slabs_.size() * kSlab * sizeof(Lines::Chunk));
}

AccessLog::PageLog& AccessLog::page_for(std::uint64_t pn) {
  if (pn == last_pn_) return *last_;
  auto& slot = pages_[pn];
  if (!slot) {
    try {
      ResidentMeter::current().take(kPageLogCost);
    } catch (...) {
      pages_.erase(pn);
      throw;
    }
    slot = std::make_unique<PageLog>();
  }
  last_pn_ = pn;
  last_ = slot.get();
  return *slot;
}

const AccessLog::PageLog* AccessLog::page(std::uint64_t pn) const {
  const auto it = pages_.find(pn);
  return it == pages_.end() ? nullptr : it->second.get();
}

void AccessLog::on_read(Addr a, std::uint64_t n) {
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    PageLog& p = page_for(a / kPageSize);
    // A page written whole before: no read of it is exposed. Read whole before: nothing new.
    if (!p.write_line.whole() && !p.read_line.whole()) {
      if (chunk == kPageSize && p.write_line.chunked_ == 0 && p.read_line.chunked_ == 0) {
        p.read_line.all_ = line_;
      } else {
        for (std::uint64_t i = off; i < off + chunk;) {
          const std::size_t c = i / Lines::kChunk;
          const std::uint64_t end = std::min<std::uint64_t>(off + chunk, (c + 1) * Lines::kChunk);
          Lines::Chunk& r = p.read_line.chunk(c, *this);
          for (; i < end; ++i) {
            if (r[i % Lines::kChunk] == 0 && p.write_line[i] == 0) r[i % Lines::kChunk] = line_;
          }
        }
      }
    }
    a += chunk;
    n -= chunk;
  }
}

void AccessLog::on_write(Addr a, std::uint64_t n) {
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    PageLog& p = page_for(a / kPageSize);
    if (chunk == kPageSize) {
      p.write_line.set_all(line_);
    } else {
      for (std::uint64_t i = off; i < off + chunk;) {
        const std::size_t c = i / Lines::kChunk;
        const std::uint64_t end = std::min<std::uint64_t>(off + chunk, (c + 1) * Lines::kChunk);
        Lines::Chunk& w = p.write_line.chunk(c, *this);
        std::fill(w.begin() + static_cast<std::ptrdiff_t>(i % Lines::kChunk),
                  w.begin() + static_cast<std::ptrdiff_t>((end - 1) % Lines::kChunk + 1), line_);
        i = end;
      }
    }
    a += chunk;
    n -= chunk;
  }
}

std::uint64_t AccessLog::bytes_written() const {
  std::uint64_t n = 0;
  for (const auto& [pn, p] : pages_) {
    for (std::size_t b = 0; b < kPageSize; ++b) n += p->write_line[b] != 0 ? 1 : 0;
  }
  return n;
}

}  // namespace pprsim
