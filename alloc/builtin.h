// The built-in allocators, listed once (docs/DESIGN.md sections 2 and 6): the simulator's registry
// (sim/sim_allocator.cpp), `pprsim bench` (tools/bench_allocators.cpp) and the help texts all
// read this table. Adding an allocator template of alloc/ to pprsim is one row here and one
// case in visit_builtin.
#pragma once

#include <array>
#include <string_view>
#include <type_traits>

#include "alloc/comalloc.h"
#include "alloc/dmmalloc.h"
#include "alloc/example/slot_allocator.h"
#include "alloc/shared.h"

namespace pprsim {

struct BuiltinAllocator {
  std::string_view name;
  std::string_view what;  // one line for help texts
  bool in_all;            // one of `--alloc all` (the PPR allocators and the control)
  bool benched;           // `pprsim bench` measures it on native memory
};

inline constexpr std::array kBuiltinAllocators{
    BuiltinAllocator{"dmmalloc", "Divide & Merge: the free lists divided among the tasks, merged at commit", true, true},
    BuiltinAllocator{"comalloc", "private task heaps inside a dlmalloc-style heap", true, true},
    BuiltinAllocator{"shared", "the control: dmmalloc's classes unaware of PPRs, must be falsified", true, false},
    BuiltinAllocator{"example", "the example of alloc/README.md: fixed slots, one list per task", false, false},
};

// Calls f(std::type_identity<A>{}) with A the built-in allocator `name` on memory Mem, and
// returns its result; a value-initialized result when no built-in has that name.
template <class Mem, class F>
auto visit_builtin(std::string_view name, F&& f) -> decltype(f(std::type_identity<DmMalloc<Mem>>{})) {
  if (name == "dmmalloc") return f(std::type_identity<DmMalloc<Mem>>{});
  if (name == "comalloc") return f(std::type_identity<CoMalloc<Mem>>{});
  if (name == "shared") return f(std::type_identity<SharedMalloc<Mem>>{});
  if (name == "example") return f(std::type_identity<SlotAllocator<Mem>>{});
  return {};
}

}  // namespace pprsim
