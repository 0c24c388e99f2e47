// Helpers shared by the tests: traces from strings, replays of them, the CS:APP folder.
#pragma once

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
