// The pinned compiler and its flags (pinned_compiler.h).
#include "native/engine/pinned_compiler.h"

#include <fmt/format.h>

#include <cstdlib>

#include "native/engine/native_build_error.h"
#include "native/engine/subprocess.h"

namespace pprsim {

const std::vector<std::string>& c_compile_flags() {
  static const std::vector<std::string> flags = {
      // The optimisation level the allocator ships with, so pprsim sees the accesses it makes.
      "-O2",
      // Line tables and symbols, to name the code and the globals behind an access.
      "-g",
      // The allocator is loaded as a shared object.
      "-fPIC",
      // A call into the recording hooks before every load and store (and at each function's
      // entry and exit). Atomics stay instrumented too, so that nm sees them and pprsim can
      // refuse them, rather than have them run unseen as plain instructions.
      "-fsanitize=thread",
      // Clang reports a load followed by a store to the same place in one block (x += 1) as a
      // write only; a task's read-before-write, which decides conflicts, would be missed.
      "-mllvm",
      "-tsan-compound-read-before-write",
      // Frames stay walkable for the reports of a crash inside the allocator.
      "-fno-omit-frame-pointer",
      // The allocator defines malloc, free and the string functions itself or calls them by
      // name: without this the compiler would assume their library meaning, fold malloc plus
      // memset into a call to calloc (which may be the very function being compiled), delete
      // malloc/free pairs, turn loops into memset calls or small copies into inline moves.
      // With it, the calls in the log are the calls in the source.
      "-fno-builtin",
      // Allocators read the same words as headers of different types; type-based alias
      // analysis may then drop or reorder loads the source makes.
      "-fno-strict-aliasing",
      // Fortified string calls (__memcpy_chk, ...) would escape the renaming to pprsim's shims;
      // some distributions turn fortification on by default.
      "-D_FORTIFY_SOURCE=0",
      // A stack canary reads thread-local storage in every function and calls
      // __stack_chk_fail: neither is part of the allocator's behaviour.
      "-fno-stack-protector",
      // Tentative definitions of globals become ordinary ones, whatever the compiler's default.
      "-fno-common",
  };
  return flags;
}

const std::vector<std::string>& cxx_compile_flags() {
  static const std::vector<std::string> flags = [] {
    std::vector<std::string> f = c_compile_flags();
    // An allocator's entry points are called from C: an exception could only cross them
    // badly, and its machinery (__cxa_*, the unwinder) would escape tracking.
    f.push_back("-fno-exceptions");
    // A function-local static is then guarded by a plain flag the allocator's own code reads
    // and writes (instrumented), not by the C++ runtime's guard calls: a task runs alone.
    f.push_back("-fno-threadsafe-statics");
    return f;
  }();
  return flags;
}

const std::vector<std::string>& link_flags() {
  static const std::vector<std::string> flags = {
      "-shared",
      // Without the C start files: their weak references (__cxa_finalize, __gmon_start__,
      // the transactional-memory table) are no part of the allocator. Constructors still run
      // from .init_array.
      "-nostartfiles",
      // The recording hooks, the shims and pprsim's services come from the process that loads
      // the allocator.
      "-Wl,-z,undefs",
      // Every symbol is bound at load time: a missing hook fails the load with its name, and no
      // lazy binding runs for the first time inside whichever task calls first.
      "-Wl,-z,now",
      // Only the libraries it calls are loaded with it (clang++ adds the C++ runtime otherwise).
      "-Wl,--as-needed",
  };
  return flags;
}

std::string printed_flags() {
  std::string s;
  for (const std::string& f : c_compile_flags()) s += (s.empty() ? "" : " ") + f;
  return s + " (C++ also -fno-exceptions -fno-threadsafe-statics)";
}

std::string cxx_driver_for(const std::string& c_driver) {
  const auto slash = c_driver.rfind('/');
  const auto base = c_driver.find("clang", slash == std::string::npos ? 0 : slash + 1);
  if (base == std::string::npos) return c_driver;  // an unusual name: let the driver take -x c++
  if (c_driver.compare(base, 7, "clang++") == 0) return c_driver;
  return c_driver.substr(0, base) + "clang++" + c_driver.substr(base + 5);
}

PinnedCompiler find_pinned_compiler(const std::filesystem::path& scratch) {
  PinnedCompiler c;
  const char* env = std::getenv("PPRSIM_CLANG");
  c.c_driver = env != nullptr && *env != '\0' ? env : "clang";
  c.cxx_driver = cxx_driver_for(c.c_driver);
  const ProcessResult r = run_process({c.c_driver, "--version"}, scratch);
  if (r.status != 0)
    throw NativeBuildError(NativeBuildError::Kind::Tool,
                           fmt::format("native: cannot run the compiler '{}' ({}); install clang or set PPRSIM_CLANG",
                                       c.c_driver, r.status == 127 ? "not found" : "it failed"));
  c.version_line = r.out.substr(0, r.out.find('\n'));
  return c;
}

}  // namespace pprsim
