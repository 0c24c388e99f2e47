// libFuzzer target: fuzzer bytes become a whole run case (props/run_case_bytes.h: allocator
// events, PPR instances, group size, seed, understudy, fault plan), replayed on the allocator
// named by PPRSIM_FUZZ_ALLOC (default dmmalloc; any `pprsim replay --alloc` name, mutants
// included). A violated property (props/run_case.h `violations`) writes the case as a native
// trace into PPRSIM_FUZZ_OUT (default: the current folder), prints the `pprsim replay` command
// that reproduces it, and aborts. Built with -DPPRSIM_FUZZ=ON and clang (tools/run_fuzzers.sh).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "props/run_case_bytes.h"
#include "sim/sim_allocator.h"

namespace {

const std::string& allocator() {
  static const std::string name = [] {
    const char* env = std::getenv("PPRSIM_FUZZ_ALLOC");
    std::string a = env != nullptr && *env != '\0' ? env : "dmmalloc";
    if (!pprsim::is_allocator_name(a)) {
      std::fprintf(stderr, "pprsim_run_case_fuzz: PPRSIM_FUZZ_ALLOC: unknown allocator '%s'\n", a.c_str());
      std::exit(2);
    }
    return a;
  }();
  return name;
}

// A name that says which input it came from: FNV-1a of the bytes.
std::string input_hash(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001B3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string write_case(const pprsim::RunCase& c, const std::string& hash) {
  const char* env = std::getenv("PPRSIM_FUZZ_OUT");
  const std::filesystem::path dir = env != nullptr && *env != '\0' ? env : ".";
  std::string name = allocator();
  for (char& ch : name) {
    if (ch == ':' || ch == '/') ch = '-';
  }
  const std::filesystem::path path = dir / (name + "-" + hash + ".trace");
  const std::filesystem::path temp = dir / (name + "-" + hash + ".trace.tmp");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  {
    std::ofstream out(temp, std::ios::binary);
    out << pprsim::trace_text(c);
    if (!out.flush()) return {};
  }
  std::filesystem::rename(temp, path, ec);
  return ec ? std::string() : path.string();
}

}  // namespace

// The allocator paths (alloc/probes.h) a case reached, as libFuzzer's extra counters: an input
// that reaches a probe, or reaches it a new number of times (libFuzzer buckets the counts), is
// kept like one that reaches new code. libFuzzer clears them before each input.
extern "C" {
__attribute__((used, section("__libfuzzer_extra_counters"))) std::uint8_t pprsim_probe_counters[pprsim::kProbeCount];
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pprsim::RunCase c = pprsim::run_case_from_bytes(data, size);
  const pprsim::RunStats s = pprsim::run_case(c, allocator());
  for (unsigned i = 0; i < pprsim::kProbeCount; ++i) {
    pprsim_probe_counters[i] = static_cast<std::uint8_t>(std::min<std::uint64_t>(s.coverage.hits(i), 255));
  }
  const std::vector<std::string> v = pprsim::violations(c, s, allocator(), false);
  if (v.empty()) return 0;
  std::fprintf(stderr, "\n== pprsim: %s violated %zu propert%s on a case of %llu events:\n", allocator().c_str(),
               v.size(), v.size() == 1 ? "y" : "ies", static_cast<unsigned long long>(c.operations()));
  for (const std::string& line : v) std::fprintf(stderr, "  %s\n", line.c_str());
  const std::string path = write_case(c, input_hash(data, size));
  if (path.empty()) {
    std::fprintf(stderr, "== pprsim: cannot write the case's trace\n");
  } else {
    std::fprintf(stderr, "== counterexample: %s\n== reproduce: %s\n", path.c_str(),
                 pprsim::replay_command(c, allocator(), path).c_str());
  }
  std::fflush(stderr);
  std::abort();
}
