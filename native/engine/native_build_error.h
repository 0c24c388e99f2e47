// The one error of building an allocator through `--alloc native:SPEC`. Every kind is bad input
// to pprsim (a spec it cannot read, a source that does not compile, a call it cannot track, a
// tool it cannot run, a cache it cannot write): the command line turns each into exit status 2
// with the one line of what().
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace pprsim {

class NativeBuildError : public std::runtime_error {
 public:
  enum class Kind {
    Spec,           // the SPEC text is malformed or names a file that is not there
    Compile,        // the compiler refused a source; first_error holds its first error line
    RefusedSymbol,  // an object calls something pprsim cannot track; symbol and object say what
    Tool,           // clang, objcopy or nm is missing or failed for another reason
    Io,             // the cache or a temporary folder could not be written
  };

  NativeBuildError(Kind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}

  Kind kind() const { return kind_; }

  // Set for Kind::Compile: the compiler's first "file:line:col: error: ..." line.
  std::string first_error;
  // Set for Kind::RefusedSymbol: the symbol and the input it came from, as the spec named it.
  std::string symbol;
  std::string object;

 private:
  Kind kind_;
};

}  // namespace pprsim
