// The rename table and the allow-list (symbol_rules.h).
#include "native/engine/symbol_rules.h"

#include <fmt/format.h>

#include <array>

namespace pprsim {
namespace {

constexpr std::array kRenamed = {
    // libc's string functions are not instrumented: each would read or write the heap unseen.
    RenamedSymbol{"memcpy", "pprsim_shim_memcpy"},    // reads the source, writes the target
    RenamedSymbol{"memmove", "pprsim_shim_memmove"},  // the same, for overlapping ranges
    RenamedSymbol{"memset", "pprsim_shim_memset"},    // writes the range (also zeroing in calloc)
    RenamedSymbol{"bzero", "pprsim_shim_bzero"},      // writes the range
    RenamedSymbol{"memcmp", "pprsim_shim_memcmp"},    // reads both ranges
    RenamedSymbol{"strlen", "pprsim_shim_strlen"},    // reads up to the terminator
    RenamedSymbol{"strcmp", "pprsim_shim_strcmp"},    // reads both strings
    RenamedSymbol{"strcpy", "pprsim_shim_strcpy"},    // reads the source, writes the target
    RenamedSymbol{"strncpy", "pprsim_shim_strncpy"},  // reads the source, writes n bytes
    // Standard output is buffered, and a task's buffer would be printed again by each process
    // forked after it: an allocator's debug prints go to standard error, unbuffered.
    // (stdout itself is renamed to a stream the worker points at stderr: glibc's inline putchar
    // is putc on stdout, and fprintf(stdout, ...) is common in debug reports.)
    RenamedSymbol{"printf", "pprsim_shim_printf"},
    RenamedSymbol{"vprintf", "pprsim_shim_vprintf"},
    RenamedSymbol{"puts", "pprsim_shim_puts"},
    RenamedSymbol{"putchar", "pprsim_shim_putchar"},
    RenamedSymbol{"stdout", "pprsim_shim_stdout"},
    // System memory comes from pprsim's arena at fixed addresses, so that the allocator's
    // addresses are the same in every run and every byte it obtains is tracked.
    RenamedSymbol{"sbrk", "pprsim_shim_sbrk"},        // grows the arena's break
    RenamedSymbol{"brk", "pprsim_shim_brk"},          // sets the arena's break
    RenamedSymbol{"mmap", "pprsim_shim_mmap"},        // maps pages in the arena
    RenamedSymbol{"munmap", "pprsim_shim_munmap"},    // gives pages back to the arena
    RenamedSymbol{"mremap", "pprsim_shim_mremap"},    // moves or resizes a mapping, copying bytes
    RenamedSymbol{"madvise", "pprsim_shim_madvise"},  // MADV_DONTNEED zeroes pages: a write
    // Not renamed: malloc, free, calloc, realloc and the rest of the malloc API. The allocator
    // defines them itself (or names its own functions in the port); a call that reaches the
    // system's allocator instead is refused below, and BOP-style allocators take their own
    // system memory through the port's sys_malloc.
};

// libc functions an object may call: they write no memory pprsim tracks and keep no state a
// task's rollback would leave behind.
constexpr std::array<std::string_view, 16> kAllowedLibc = {
    "abort",             // ends the process; the worker reports it as the allocator's failure
    "__assert_fail",     // a failed assert(): a message to standard error, then abort
    "__stack_chk_fail",  // a smashed stack in an object built with a canary: message, abort
    "fprintf",           // diagnostics; stderr is unbuffered, so nothing is held between calls
    "vfprintf",          // the same, for the allocator's own printf-like message function
    "fputs",             // the same
    "stderr",            // the stream those write to (stdout is buffered, and refused)
    "write",             // writes to a file descriptor, not to memory
    "getenv",            // reads the environment, which nothing in a run changes
    "sysconf",           // the page size and other constants of the machine
    "__errno_location",  // where errno lives: stores to errno are instrumented like any other
    "setlocale",         // how numbers print (a debug report's thousands separators); no tracked memory
    "putc",              // a character to a stream: stderr, or stdout, which is stderr here (renamed)
    "fputc",             // the same
    "fwrite",            // the same, for bytes
    "fflush",            // flushes those streams: nothing is held in them
};

bool starts_with(std::string_view s, std::string_view head) { return s.substr(0, head.size()) == head; }

// The recording hooks the compiler calls for plain accesses and function entry and exit.
bool tracked_hook(std::string_view s) {
  if (!starts_with(s, "__tsan_") || starts_with(s, "__tsan_atomic")) return false;
  for (std::string_view family : {"__tsan_read", "__tsan_write", "__tsan_unaligned_read", "__tsan_unaligned_write",
                                  "__tsan_volatile_read", "__tsan_volatile_write", "__tsan_vptr_"})
    if (starts_with(s, family)) return true;
  // Newer clang calls __tsan_memcpy and kin for the copies and fills it emits itself (struct
  // assignment, zeroing a header); the recording runtime defines them as its shims.
  return s == "__tsan_func_entry" || s == "__tsan_func_exit" || s == "__tsan_init" || s == "__tsan_memcpy" ||
         s == "__tsan_memmove" || s == "__tsan_memset";
}

}  // namespace

std::span<const RenamedSymbol> renamed_symbols() { return kRenamed; }

bool symbol_allowed(std::string_view symbol) {
  if (tracked_hook(symbol)) return true;
  if (starts_with(symbol, kShimPrefix) || starts_with(symbol, kPortPrefix) || starts_with(symbol, kServicePrefix))
    return true;
  for (std::string_view s : kAllowedLibc)
    if (symbol == s) return true;
  return false;
}

std::string refusal_reason(std::string_view s) {
  if (starts_with(s, "__tsan_atomic")) return "an atomic operation; pprsim records plain loads and stores only";
  if (starts_with(s, "pthread_") || starts_with(s, "sem_") || s == "sched_yield")
    return "a thread or lock call; a task runs alone, and the lock's state lives outside the tracked heap";
  if (s == "__tls_get_addr") return "thread-local storage, outside the tracked heap";
  for (std::string_view m : {"malloc", "free", "calloc", "realloc", "memalign", "posix_memalign", "aligned_alloc",
                             "valloc", "pvalloc", "malloc_usable_size"})
    if (s == m) return "the system's allocator; take system memory through the port (sys_malloc in the BOP port)";
  if (starts_with(s, "__") && s.size() > 6 && s.substr(s.size() - 4) == "_chk")
    return "a fortified call; build with pprsim's flags (-D_FORTIFY_SOURCE=0)";
  for (std::string_view t : {"time", "clock_gettime", "gettimeofday", "rand", "random", "getpid"})
    if (s == t) return "its result differs from run to run, and the seed must decide everything";
  if (starts_with(s, "dm_"))
    return "port=bop calls BOP dmmalloc's entry points (dm_malloc, dm_free, dm_realloc, dm_calloc, "
           "dm_malloc_usable_size) and none of the spec's sources defines this one; an allocator with other names "
           "takes a port of a few lines that names them (native/bop/bop_port.c says how)";
  return "none of the spec's sources defines it, and what it would do to memory goes unseen; if it is the "
         "allocator's own, add the source that defines it";
}

std::string allowed_summary() {
  std::string s = fmt::format("__tsan_ load, store, copy and function hooks, {}*, {}*, {}*", kShimPrefix, kPortPrefix,
                              kServicePrefix);
  for (std::string_view l : kAllowedLibc) s += fmt::format(", {}", l);
  return s;
}

}  // namespace pprsim
