// Runs one trace event in one virtual process, as the program would: every use of an object
// first reads its handle slot (program data), allocation stores the new address there, the
// program fills what it allocates and writes with the pattern of sim/pattern.h.
#pragma once

#include <cstdint>
#include <string>

#include "alloc/memory.h"
#include "sim/process.h"
#include "sim/system_memory.h"
#include "traces/event.h"

namespace pprsim {

constexpr Addr handle_addr(std::int64_t id) { return kHandleBase + 8 * static_cast<Addr>(id); }

enum class StepStatus : std::uint8_t {
  Done,
  GaveUp,       // the allocator gave up speculation (rescue)
  Stale,        // in a task: the object is not what the event expects in this task's view
  OutOfMemory,  // outside a task: the allocator could not serve the request
  BadResult,    // the allocator returned a misaligned or otherwise impossible address
};

struct StepOutcome {
  StepStatus status = StepStatus::Done;
  std::string detail;  // for OutOfMemory and BadResult
};

// Maps the handle page of `id` in `p` (done in the parent before a group forks).
void ensure_handle(Process& p, std::int64_t id);

// requires: p.alloc is set and the event's handle page is mapped.
StepOutcome execute(Process& p, const Event& e);

}  // namespace pprsim
