// The build cache's folders (build_cache.h).
#include "native/engine/build_cache.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "native/engine/content_hash.h"
#include "native/engine/native_build_error.h"

namespace pprsim {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& p, const std::string& why) {
  throw NativeBuildError(NativeBuildError::Kind::Io, fmt::format("native: cannot {} {}: {}", what, p.string(), why));
}

// A name no other build, in this process or another, uses at the same time.
std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}();
  return fmt::format("{}.{}.{:08x}", ::getpid(), counter.fetch_add(1), salt);
}

void make_folders(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  if (ec && !std::filesystem::is_directory(p)) io_error("create the cache folder", p, ec.message());
}

// A build killed outright (SIGKILL, a power cut) leaves its staging folder: the next build
// removes any older than a day, which no build in progress can be.
void sweep_stale_staging(const std::filesystem::path& tmp) {
  std::error_code ec;
  const auto day_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& e : std::filesystem::directory_iterator(tmp, ec)) {
    std::error_code ignored;
    if (e.last_write_time(ignored) < day_ago && !ignored) std::filesystem::remove_all(e.path(), ignored);
  }
}

}  // namespace

std::filesystem::path default_native_cache_dir() {
  if (const char* d = std::getenv("PPRSIM_CACHE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0')
    return std::filesystem::path(x) / "pprsim" / "native";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr && *home != '\0' ? home : ".") / ".cache" / "pprsim" / "native";
}

std::optional<std::string> key_with_headers(const std::string& base, const std::vector<std::filesystem::path>& headers) {
  ContentHash h;
  h.add(base);
  for (const auto& header : headers) {
    h.add(header.string());
    if (!h.add_file(header)) return std::nullopt;
  }
  return h.hex();
}

std::optional<std::string> cached_key(const std::filesystem::path& root, const std::string& base) {
  std::ifstream in(root / "deps" / base);
  if (!in) return std::nullopt;
  std::vector<std::filesystem::path> headers;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) headers.emplace_back(line);
  return key_with_headers(base, headers);
}

bool entry_present(const std::filesystem::path& root, const std::string& key) {
  std::error_code ec;
  return std::filesystem::is_regular_file(root / key / kNativeLibraryName, ec);
}

std::filesystem::path make_staging(const std::filesystem::path& root, const std::string& key) {
  make_folders(root / "tmp");
  sweep_stale_staging(root / "tmp");
  const auto staging = root / "tmp" / fmt::format("{}.{}", key.substr(0, 16), unique_suffix());
  std::error_code ec;
  if (!std::filesystem::create_directory(staging, ec)) io_error("create", staging, ec ? ec.message() : "it exists");
  return staging;
}

std::filesystem::path publish_entry(const std::filesystem::path& root, const std::filesystem::path& staging,
                                    const std::string& key) {
  const auto entry = root / key;
  // rename() of a folder onto an existing non-empty folder fails: the entry already there is
  // complete (it got there the same way) and stays, and this build's copy is dropped.
  if (std::rename(staging.c_str(), entry.c_str()) != 0) {
    const int e = errno;
    if ((e != EEXIST && e != ENOTEMPTY) || !entry_present(root, key)) io_error("move into place", entry, std::strerror(e));
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  }
  return entry;
}

void write_header_list(const std::filesystem::path& root, const std::string& base,
                       const std::vector<std::filesystem::path>& headers) {
  make_folders(root / "deps");
  const auto final_path = root / "deps" / base;
  const auto temp = root / "deps" / fmt::format("{}.{}", base, unique_suffix());
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const auto& h : headers) out << h.string() << '\n';
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(temp, ec);
      io_error("write", temp, "write failed");
    }
  }
  // Replacing a file by rename is atomic: a reader sees the old list or the new one.
  if (std::rename(temp.c_str(), final_path.c_str()) != 0) {
    const int e = errno;
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    io_error("write", final_path, std::strerror(e));
  }
}

RemoveOnExit::~RemoveOnExit() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace pprsim
