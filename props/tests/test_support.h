// Helpers shared by the tests: traces from strings, replays of them, the sample trace, a file's bytes,
// commands run through the shell, temporary folders, the CS:APP folder.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sim/replay.h"
#include "traces/trace_reader.h"

namespace pprsim::test {

// Bytes handed out twice: the census's double allocations and two live objects sharing bytes.
inline std::uint64_t handed_out_twice(const Findings& f) {
  return f.count(FindingKind::DoubleAllocation) + f.count(FindingKind::Overlap);
}

// The words of the findings kept, in the order they were made.
inline std::vector<std::string> problem_texts(const Findings& f) {
  std::vector<std::string> out;
  for (const Finding& x : f.kept()) out.push_back(x.text);
  return out;
}

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

// The sample trace the README's main command replays.
inline const std::string kSample = std::string(PPRSIM_SOURCE_DIR) + "/traces/samples/ppr-demo.trace";

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What a command printed and how it ended.
struct CommandResult {
  int status;        // exit status; -1 when it did not exit normally
  std::string out;   // what it wrote to the pipe (standard output; standard error if redirected)
};

// Runs `cmd` through the shell (it may redirect, pipe or set variables). The one place the
// tests start commands from.
inline CommandResult run_shell(const std::string& cmd) {
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

// Runs `cmd` through the shell, standard error with standard output.
inline CommandResult run_command(const std::string& cmd) { return run_shell(cmd + " 2>&1"); }

// Runs `pprsim ARGS` through the shell (ARGS may redirect or pipe), standard error with
// standard output.
// SOURCE_DATE_EPOCH fixes the date in a run's provenance (tools/provenance.h): one seed, one JSON.
inline CommandResult run_pprsim(const std::string& args) {
  return run_shell("SOURCE_DATE_EPOCH=1700000000 " + std::string(PPRSIM_BINARY) + " " + args + " 2>&1");
}

// A fresh empty folder, removed with what is in it at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    std::string templ = (std::filesystem::temp_directory_path() / ("pprsim_" + tag + "_XXXXXX")).string();
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

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
