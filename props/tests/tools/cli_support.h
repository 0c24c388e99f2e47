// Running the pprsim binary from tests: in a folder of the test's own, through the shell, with
// every run bounded in time (timeout(1)), and a folder's listing to compare before and after.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "props/tests/test_support.h"

namespace pprsim::test {

namespace fs = std::filesystem;

using CliResult = CommandResult;

// Runs `pprsim ARGS` in `dir` through the shell (ARGS is shell text), at most 120 s; with
// `pipe_from`, a shell command whose output is piped into it.
inline CliResult run_pprsim(const fs::path& dir, const std::string& args,
                            const std::string& redirect = "2>&1",
                            const std::string& pipe_from = "") {
  const std::string cmd = "cd '" + dir.string() + "' && " +
                          (pipe_from.empty() ? "" : pipe_from + " | ") + "SOURCE_DATE_EPOCH=1700000000 timeout -s KILL 120 " +
                          std::string(PPRSIM_BINARY) + " " + args + " " + redirect;
  return run_shell(cmd);
}

// The names in a folder (not following links).
inline std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

inline void write_all(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// The number of lines of `text`.
inline std::size_t line_count(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n';
  return n;
}

}  // namespace pprsim::test
