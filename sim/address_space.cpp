#include "sim/address_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace pprsim {

namespace {
const AddressSpace::Page kZeroPage{};
}

MemoryFault::MemoryFault(Addr addr)
    : std::runtime_error(fmt::format("access to unmapped address {:#x}", addr)), addr_(addr) {}

AddressSpace AddressSpace::fork() {
  forget_cache();  // our pages become shared: the next write must copy
  AddressSpace child;
  child.table_ = table_;
  return child;
}

void AddressSpace::map(Addr base, std::uint64_t bytes) {
  for (std::uint64_t pn = base / kPageSize; pn < (base + bytes) / kPageSize; ++pn) table_.try_emplace(pn);
}

void AddressSpace::unmap(Addr base, std::uint64_t bytes) {
  forget_cache();
  table_.erase(table_.lower_bound(base / kPageSize), table_.lower_bound((base + bytes) / kPageSize));
}

std::size_t AddressSpace::private_pages() const {
  return static_cast<std::size_t>(std::count_if(table_.begin(), table_.end(), [](const auto& e) {
    return e.second != nullptr && e.second.use_count() == 1;
  }));
}

void AddressSpace::forget_cache() {
  rcache_pn_ = wcache_pn_ = ~std::uint64_t{0};
  rcache_ = nullptr;
  wcache_ = nullptr;
}

const std::uint8_t* AddressSpace::rpage(std::uint64_t pn) {
  if (pn == rcache_pn_) return rcache_;
  if (pn == wcache_pn_) return wcache_;
  const auto it = table_.find(pn);
  if (it == table_.end()) throw MemoryFault(pn * kPageSize);
  rcache_pn_ = pn;
  rcache_ = it->second ? it->second->data() : kZeroPage.data();
  return rcache_;
}

std::uint8_t* AddressSpace::wpage(std::uint64_t pn) {
  if (pn == wcache_pn_) return wcache_;
  const auto it = table_.find(pn);
  if (it == table_.end()) throw MemoryFault(pn * kPageSize);
  std::shared_ptr<Page>& page = it->second;
  if (!page) {
    page = std::make_shared<Page>();
  } else if (page.use_count() > 1) {
    page = std::make_shared<Page>(*page);
  }
  if (pn == rcache_pn_) rcache_ = page->data();
  wcache_pn_ = pn;
  wcache_ = page->data();
  return wcache_;
}

void AddressSpace::read(Addr a, void* out, std::uint64_t n) {
  auto* dst = static_cast<std::uint8_t*>(out);
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    std::memcpy(dst, rpage(a / kPageSize) + off, chunk);
    a += chunk;
    dst += chunk;
    n -= chunk;
  }
}

void AddressSpace::write(Addr a, const void* in, std::uint64_t n) {
  const auto* src = static_cast<const std::uint8_t*>(in);
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    std::memcpy(wpage(a / kPageSize) + off, src, chunk);
    a += chunk;
    src += chunk;
    n -= chunk;
  }
}

void AddressSpace::zero(Addr a, std::uint64_t n) {
  while (n > 0) {
    const std::uint64_t off = a % kPageSize;
    const std::uint64_t chunk = std::min(n, kPageSize - off);
    std::memset(wpage(a / kPageSize) + off, 0, chunk);
    a += chunk;
    n -= chunk;
  }
}

std::uint64_t AddressSpace::load64(Addr a) {
  std::uint64_t v;
  if (a % kPageSize <= kPageSize - 8) {
    std::memcpy(&v, rpage(a / kPageSize) + a % kPageSize, 8);
  } else {
    read(a, &v, 8);
  }
  return v;
}

void AddressSpace::store64(Addr a, std::uint64_t v) {
  if (a % kPageSize <= kPageSize - 8) {
    std::memcpy(wpage(a / kPageSize) + a % kPageSize, &v, 8);
  } else {
    write(a, &v, 8);
  }
}

}  // namespace pprsim
