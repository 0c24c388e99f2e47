// Seeded bugs for `pprsim selftest`: each is a mistake a PPR allocator could plausibly make,
// switched on at run time through the allocator's Config (Mutant::None everywhere else). The
// self-test proves that the property suite catches every one of them.
#pragma once

#include <array>
#include <string_view>

namespace pprsim {

enum class Mutant : unsigned char {
  None,
  CarveOverlap,        // carve gives task 1 (and later) the partition of task 0
  CarveKeepsShared,    // carved blocks stay reachable from the shared free lists too
  EagerGlobalFree,     // a free of a global block inside a task is applied at once
  SplitFromShared,     // a split inside a task takes its block from the shared list
  RescueTouchesShared, // a large object inside a task grows the heap instead of giving up
  MergeDropsDeferred,  // merge forgets the deferred frees
  MergeDropsUnused,    // merge forgets the committed tasks' unused partition blocks
  MergeDuplicates,     // merge returns a committed task's partition twice (as carved and as left)
  UnderstudyOwnPart,   // the understudy returns only partition 0 to the free lists
  ReallocShortCopy,    // realloc copies one byte too few
  UsableTooLarge,      // usable_size reports 16 bytes more than the block holds
};

struct MutantInfo {
  Mutant mutant;
  std::string_view name;
  std::string_view what;
};

inline constexpr std::array<MutantInfo, 11> kMutants{{
    {Mutant::CarveOverlap, "carve-overlap", "carve gives two tasks overlapping partitions"},
    {Mutant::CarveKeepsShared, "carve-keeps-shared", "carved blocks stay on the shared lists"},
    {Mutant::EagerGlobalFree, "eager-global-free", "a global free in a task is applied at once, not deferred"},
    {Mutant::SplitFromShared, "split-from-shared", "a split inside a task takes a block from the shared list"},
    {Mutant::RescueTouchesShared, "rescue-touches-shared", "a rescue still touches shared state (grows the heap)"},
    {Mutant::MergeDropsDeferred, "merge-drops-deferred", "merge forgets deferred frees"},
    {Mutant::MergeDropsUnused, "merge-drops-unused", "merge forgets the unused partitions"},
    {Mutant::MergeDuplicates, "merge-duplicates", "merge returns a committed partition twice"},
    {Mutant::UnderstudyOwnPart, "understudy-own-partition", "the understudy uses only its partition"},
    {Mutant::ReallocShortCopy, "realloc-short-copy", "realloc copies one byte too few"},
    {Mutant::UsableTooLarge, "usable-too-large", "usable_size is too large"},
}};

}  // namespace pprsim
