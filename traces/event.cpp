#include "traces/event.h"

namespace pprsim {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::PprBegin:
      return "ppr";
    case Op::PprEnd:
      return "end";
    case Op::Malloc:
      return "a";
    case Op::Calloc:
      return "c";
    case Op::Memalign:
      return "m";
    case Op::Realloc:
      return "r";
    case Op::Free:
      return "f";
    case Op::Write:
      return "w";
    case Op::Use:
      return "u";
  }
  return "?";
}

std::string_view call_name(Op op) {
  switch (op) {
    case Op::Malloc: return "malloc";
    case Op::Calloc: return "calloc";
    case Op::Memalign: return "memalign";
    case Op::Realloc: return "realloc";
    case Op::Free: return "free";
    case Op::Write: return "write";
    case Op::Use: return "use";
    case Op::PprBegin:
    case Op::PprEnd: return op_name(op);
  }
  return "?";
}

}  // namespace pprsim
