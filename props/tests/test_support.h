// Helpers shared by the tests: traces from strings, replays of them, the CS:APP folder.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include "sim/replay.h"
#include "traces/trace_reader.h"

namespace pprsim::test {

inline RunStats replay_text(const std::string& text, ReplayConfig cfg) {
  std::istringstream in(text);
  auto reader = read_native(in, "test.trace");
  return replay(*reader, cfg);
}

inline ReplayConfig config(std::string alloc, int g, std::uint64_t ppr_every = 0, std::uint64_t seed = 1,
                           UnderstudyMode u = UnderstudyMode::Auto) {
  ReplayConfig c;
  c.allocator = std::move(alloc);
  c.group_size = g;
  c.ppr_every = ppr_every;
  c.seed = seed;
  c.understudy = u;
  return c;
}

// What a run of the pprsim binary printed and how it ended.
struct CommandResult {
  int status;        // exit status; -1 when it did not exit normally
  std::string out;   // standard output and standard error together
};

// Runs `pprsim ARGS` through the shell (ARGS may redirect or pipe).
inline CommandResult run_pprsim(const std::string& args) {
  const std::string cmd = std::string(PPRSIM_BINARY) + " " + args + " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  CommandResult r{-1, {}};
  if (f == nullptr) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The CS:APP traces beside the project, or nullopt (the caller skips with the message).
inline std::optional<std::filesystem::path> csapp_dir() {
  std::filesystem::path p = std::filesystem::path(PPRSIM_SOURCE_DIR) / ".." / "shared" / "traces" / "cs-app";
  if (std::filesystem::is_directory(p)) return p;
  return std::nullopt;
}

#define PPRSIM_REQUIRE_CSAPP(dir)                                                                     \
  const auto dir##_opt = ::pprsim::test::csapp_dir();                                                 \
  if (!dir##_opt) GTEST_SKIP() << "CS:APP traces not found at " PPRSIM_SOURCE_DIR "/../shared/traces/cs-app"; \
  const std::filesystem::path dir = *dir##_opt

}  // namespace pprsim::test
