#include "tools/bench_allocators.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "alloc/builtin.h"
#include "alloc/native_memory.h"

#ifndef PPRSIM_MULTIARCH
#define PPRSIM_MULTIARCH ""
#endif

namespace pprsim {

namespace {

struct Packaged {
  std::string_view name;
  std::array<std::string_view, 2> sonames;  // the first one found is used
  std::string_view package;
};

constexpr std::array<Packaged, 3> kPackaged{{
    {"jemalloc", {"libjemalloc.so.2", ""}, "libjemalloc2"},
    {"mimalloc", {"libmimalloc.so.2", ""}, "libmimalloc2.0"},
    {"tcmalloc", {"libtcmalloc_minimal.so.4", "libtcmalloc.so.4"}, "libtcmalloc-minimal4"},
}};

std::string find_library(std::string_view soname) {
  const std::string arch = PPRSIM_MULTIARCH;
  std::vector<std::string> dirs;
  if (!arch.empty()) {
    dirs.push_back("/usr/lib/" + arch);
    dirs.push_back("/lib/" + arch);
  }
  for (const char* d : {"/usr/lib64", "/usr/lib", "/usr/local/lib"}) dirs.emplace_back(d);
  for (const std::string& d : dirs) {
    const std::string path = d + "/" + std::string(soname);
    if (::access(path.c_str(), R_OK) == 0) return path;
  }
  return {};
}

// The project's cores over real memory, one instance per process (only a bench child uses them).
// Plain statics, built before main: a function-local static put a guard check on every call.
template <class A>
struct Core {
  static inline NativeMemory mem;
  static inline A instance{&mem};
  static A& get() { return instance; }
  static void* malloc(std::size_t n) { return reinterpret_cast<void*>(get().malloc(n)); }
  static void free(void* p) { get().free(reinterpret_cast<Addr>(p)); }
  static void* calloc(std::size_t c, std::size_t n) { return reinterpret_cast<void*>(get().calloc(c, n)); }
  static void* realloc(void* p, std::size_t n) {
    return reinterpret_cast<void*>(get().realloc(reinterpret_cast<Addr>(p), n));
  }
  static void* memalign(std::size_t al, std::size_t n) { return reinterpret_cast<void*>(get().memalign(al, n)); }
  static MallocFunctions table() { return {&malloc, &free, &calloc, &realloc, &memalign}; }
};

}  // namespace

const std::vector<std::string>& bench_allocator_names() {
  // The C library's, the project's cores (dmmalloc's drop-in library beside it), then the
  // packaged ones.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out{"glibc"};
    for (const BuiltinAllocator& b : kBuiltinAllocators) {
      if (!b.benched) continue;
      out.emplace_back(b.name);
      if (b.name == "dmmalloc") out.emplace_back("dropin");
    }
    for (const Packaged& p : kPackaged) out.emplace_back(p.name);
    return out;
  }();
  return names;
}

BenchAllocator find_bench_allocator(std::string_view name) {
  BenchAllocator b;
  b.name = std::string(name);
  if (name == "dropin") {
    // The drop-in as users run it: the library built beside this binary, preloaded.
    b.table = "glibc";
#if defined(__SANITIZE_ADDRESS__)
    b.skip_note = "not measured in a sanitizer build (the sanitizer owns malloc)";
    return b;
#endif
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string lib = ec ? std::string() : (exe.parent_path() / "libpprsim_dmmalloc.so").string();
    if (!lib.empty() && ::access(lib.c_str(), R_OK) == 0) {
      b.library = lib;
    } else {
      b.skip_note = "libpprsim_dmmalloc.so is not built beside pprsim";
    }
    return b;
  }
  for (const Packaged& p : kPackaged) {
    if (p.name != name) continue;
#if defined(__SANITIZE_ADDRESS__)
    b.skip_note = "not measured in a sanitizer build (the sanitizer owns malloc)";
    return b;
#endif
    for (std::string_view so : p.sonames) {
      if (so.empty()) continue;
      b.library = find_library(so);
      if (!b.library.empty()) return b;
    }
    b.skip_note = fmt::format("{} not installed (apt-get install {})", p.sonames[0], p.package);
    return b;
  }
  return b;
}

std::optional<MallocFunctions> native_allocator(std::string_view name) {
  if (has_simulated_version(name)) {
    return visit_builtin<NativeMemory>(name, []<class A>(std::type_identity<A>) -> std::optional<MallocFunctions> {
      return Core<A>::table();
    });
  }
  const auto& names = bench_allocator_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) return std::nullopt;
  return MallocFunctions{&::malloc, &::free, &::calloc, &::realloc, &::memalign};
}

bool has_simulated_version(std::string_view name) {
  return std::any_of(kBuiltinAllocators.begin(), kBuiltinAllocators.end(),
                     [&](const BuiltinAllocator& b) { return b.benched && b.name == name; });
}

}  // namespace pprsim
