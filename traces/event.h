// One event of an allocation trace: the single type that every parser produces, the
// simulator replays, the generators emit and the writer prints back.
#pragma once

#include <cstdint>
#include <string_view>

namespace pprsim {

enum class Op : std::uint8_t {
  PprBegin,  // "ppr": begin a PPR instance
  PprEnd,    // "end": end the PPR instance
  Malloc,    // "a ID SIZE"
  Calloc,    // "c ID COUNT SIZE"
  Memalign,  // "m ID ALIGN SIZE"
  Realloc,   // "r ID SIZE"  (realloc(NULL, SIZE) when ID is not live)
  Free,      // "f ID"       (ID -1 = free(NULL))
  Write,     // "w ID OFFSET LEN"
  Use,       // "u ID OFFSET LEN"
};

struct Event {
  Op op = Op::Malloc;
  std::int64_t id = 0;       // object id; -1 only for free(NULL)
  std::uint64_t size = 0;    // bytes: malloc/realloc/memalign size, calloc element size, w/u length
  std::uint64_t count = 0;   // calloc element count
  std::uint64_t align = 0;   // memalign alignment (a power of two)
  std::uint64_t offset = 0;  // w/u offset into the object
  std::uint32_t line = 0;    // 1-based line of the source file this event came from

  friend bool operator==(const Event&, const Event&) = default;
};

// True for the events that call the allocator (a, c, m, r, f).
constexpr bool is_allocator_op(Op op) {
  return op == Op::Malloc || op == Op::Calloc || op == Op::Memalign || op == Op::Realloc ||
         op == Op::Free;
}

// True for every event that the trace counts as an operation (all but the PPR markers).
constexpr bool is_operation(Op op) { return op != Op::PprBegin && op != Op::PprEnd; }

// The letter or word the native format uses for the op ("a", "ppr", ...).
std::string_view op_name(Op op);
// The C function (or program action) an operation stands for: malloc, calloc, memalign,
// realloc, free, write, use; ppr and end for the markers.
std::string_view call_name(Op op);

// Bytes the event asks the allocator for (calloc: count * size; the caller checks overflow).
constexpr std::uint64_t requested_bytes(const Event& e) {
  return e.op == Op::Calloc ? e.count * e.size : e.size;
}

}  // namespace pprsim
