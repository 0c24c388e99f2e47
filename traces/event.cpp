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

}  // namespace pprsim
