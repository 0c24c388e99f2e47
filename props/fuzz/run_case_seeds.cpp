// Writes a seed corpus for pprsim_run_case_fuzz: the cases that runs 0 .. COUNT-1 of
// `pprsim fuzz --seed SEED` start from, encoded as fuzzer bytes (props/run_case_bytes.h), one
// file per case. Usage: pprsim_run_case_seeds DIR [COUNT [SEED]] (default 200 cases, seed 1).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "props/fuzzing.h"
#include "props/run_case_bytes.h"

namespace {

bool parse_number(const char* text, unsigned long long max, unsigned long long& out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  char* end = nullptr;
  out = std::strtoull(text, &end, 10);
  return *end == '\0' && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long long count = 200, seed = 1;
  if (argc < 2 || argc > 4 || (argc > 2 && !parse_number(argv[2], 1000000, count)) ||
      (argc > 3 && !parse_number(argv[3], ~0ull, seed))) {
    std::fprintf(stderr, "usage: pprsim_run_case_seeds DIR [COUNT [SEED]]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  pprsim::quiet_rapidcheck_banner();
  pprsim::FuzzOptions opt;
  opt.seed = seed;
  for (unsigned long long i = 0; i < count; ++i) {
    const std::string bytes = pprsim::run_case_to_bytes(pprsim::generated_case(opt, static_cast<int>(i)));
    const auto path = dir / ("gen-seed" + std::to_string(seed) + "-run" + std::to_string(i));
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    if (!out.flush()) {
      std::fprintf(stderr, "pprsim_run_case_seeds: cannot write %s\n", path.c_str());
      return 2;
    }
  }
  return 0;
}
