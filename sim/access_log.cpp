#include "sim/access_log.h"

#include <algorithm>

#include "sim/resident.h"

namespace pprsim {

namespace {
// What one touched page costs besides its per-byte arrays (map node and PageLog).
constexpr std::uint64_t kPageLogCost = sizeof(AccessLog::PageLog) + 64;
}  // namespace

AccessLog::Lines::~Lines() {
  if (chunked_ != 0) ResidentMeter::current().give(chunked_ * sizeof(Chunk));
}

AccessLog::Lines::Chunk& AccessLog::Lines::chunk(std::size_t i) {
  auto& c = chunks_[i];
  if (!c) {
    ResidentMeter::current().take(sizeof(Chunk));
    c = std::make_unique<Chunk>();
    c->fill(all_);
    ++chunked_;
  }
  return *c;
}

void AccessLog::Lines::set_all(std::uint32_t line) {
  if (chunked_ != 0) {
    for (auto& c : chunks_) c.reset();
    ResidentMeter::current().give(chunked_ * sizeof(Chunk));
    chunked_ = 0;
  }
  all_ = line;
}

AccessLog::~AccessLog() { ResidentMeter::current().give(pages_.size() * kPageLogCost); }

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
          Lines::Chunk& r = p.read_line.chunk(c);
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
        Lines::Chunk& w = p.write_line.chunk(c);
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
