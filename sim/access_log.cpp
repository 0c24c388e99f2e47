#include "sim/access_log.h"

#include <algorithm>

namespace pprsim {

AccessLog::PageLog& AccessLog::page_for(std::uint64_t pn) {
  if (pn == last_pn_) return *last_;
  auto& slot = pages_[pn];
  if (!slot) slot = std::make_unique<PageLog>();
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
    for (std::uint64_t i = off; i < off + chunk; ++i) {
      if (p.write_line[i] == 0 && p.read_line[i] == 0) p.read_line[i] = line_;
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
    std::fill_n(p.write_line.begin() + static_cast<std::ptrdiff_t>(off), chunk, line_);
    a += chunk;
    n -= chunk;
  }
}

std::uint64_t AccessLog::bytes_written() const {
  std::uint64_t n = 0;
  for (const auto& [pn, p] : pages_) {
    n += static_cast<std::uint64_t>(std::count_if(p->write_line.begin(), p->write_line.end(),
                                                  [](std::uint32_t l) { return l != 0; }));
  }
  return n;
}

}  // namespace pprsim
