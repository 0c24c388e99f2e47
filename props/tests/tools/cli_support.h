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
#include <iterator>
#include <set>
#include <string>

namespace pprsim::test {

namespace fs = std::filesystem;

struct CliResult {
  int status;       // exit status, or -1 when killed by a signal
  std::string out;  // standard output (and standard error unless redirected)
};

// Runs `pprsim ARGS` in `dir` through the shell (ARGS is shell text), at most 120 s; with
// `pipe_from`, a shell command whose output is piped into it.
inline CliResult run_pprsim(const fs::path& dir, const std::string& args,
                            const std::string& redirect = "2>&1",
                            const std::string& pipe_from = "") {
  const std::string cmd = "cd '" + dir.string() + "' && " +
                          (pipe_from.empty() ? "" : pipe_from + " | ") + "timeout -s KILL 120 " +
                          std::string(PPRSIM_BINARY) + " " + args + " " + redirect;
  FILE* f = ::popen(cmd.c_str(), "r");
  CliResult r{-1, {}};
  if (f == nullptr) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A fresh empty folder, removed with what is in it at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    std::string templ = (fs::temp_directory_path() / ("pprsim_" + tag + "_XXXXXX")).string();
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// The names in a folder (not following links).
inline std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

inline std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
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
