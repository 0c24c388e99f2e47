// The census and verify of one of the project's allocator templates (its walk_region, walk_free
// and verify), as a native port's version-2 hooks hand them to pprsim (pprsim_port.h): the
// blocks and free-list entries as the port's structs, a broken invariant as text.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "alloc/census.h"
#include "pprsim_port.h"

namespace pprsim::port {

template <class A>
int walk_region_of(A& a, std::uintptr_t base, std::uint64_t size, pprsim_port_block_visit visit, void* cookie) {
  const bool whole = a.walk_region(base, size, [&](const BlockInfo& b) {
    pprsim_port_block out{};
    out.start = b.start;
    out.size = b.size;
    out.kind = b.kind == BlockInfo::Kind::Live   ? PPRSIM_PORT_LIVE
               : b.kind == BlockInfo::Kind::Free ? PPRSIM_PORT_FREE
                                                 : PPRSIM_PORT_CORRUPT;
    out.size_class = b.size_class;
    out.payload = b.payload;
    out.usable = b.usable;
    visit(cookie, &out);
  });
  return whole ? 1 : 0;
}

template <class A>
void walk_free_of(A& a, std::uint64_t max_steps, pprsim_port_free_visit visit, void* cookie) {
  a.walk_free(max_steps, [&](const FreeEntry& e) { visit(cookie, e.block, e.size_class); });
}

template <class A>
int verify_of(A& a, char* out, std::size_t out_len) {
  const std::string broken = a.verify();
  if (broken.empty()) return 0;
  std::snprintf(out, out_len, "%s", broken.c_str());
  return 1;
}

}  // namespace pprsim::port
