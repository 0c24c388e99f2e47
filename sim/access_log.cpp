#include "sim/access_log.h"

#include <algorithm>

#include "sim/resident.h"

namespace pprsim {

namespace {
// What one touched page costs besides its per-byte arrays (map node and PageLog).
constexpr std::uint64_t kPageLogCost = sizeof(AccessLog::PageLog) + 64;
}  // namespace

AccessLog::Lines::~Lines() {
  if (bytes_) ResidentMeter::current().give(sizeof(*bytes_));
}

std::array<std::uint32_t, kPageSize>& AccessLog::Lines::per_byte() {
  if (!bytes_) {
    ResidentMeter::current().take(sizeof(*bytes_));
    bytes_ = std::make_unique<std::array<std::uint32_t, kPageSize>>();
    bytes_->fill(all_);
  }
  return *bytes_;
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
    if (p.write_line.bytes_ || p.write_line.all_ == 0) {
      if (p.read_line.bytes_ || p.read_line.all_ == 0) {
        if (chunk == kPageSize && !p.write_line.bytes_ && !p.read_line.bytes_) {
          p.read_line.all_ = line_;
        } else {
          auto& r = p.read_line.per_byte();
          for (std::uint64_t i = off; i < off + chunk; ++i) {
            if (p.write_line[i] == 0 && r[i] == 0) r[i] = line_;
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
      if (p.write_line.bytes_) {
        p.write_line.bytes_.reset();
        ResidentMeter::current().give(sizeof(std::array<std::uint32_t, kPageSize>));
      }
      p.write_line.all_ = line_;
    } else {
      auto& w = p.write_line.per_byte();
      std::fill_n(w.begin() + static_cast<std::ptrdiff_t>(off), chunk, line_);
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
