// The cache of built `native:` allocators, one folder per content key:
//
//   ROOT/KEY/libpprsim_native.so   the allocator, renamed, checked and linked
//   ROOT/KEY/build.txt             the compiler and flags it was built with, for people
//   ROOT/deps/BASE                 the headers the sources of BASE included, one path a line
//   ROOT/tmp/                      folders being built, renamed into place when complete
//                                  (one left by a killed build is removed a day later)
//
// BASE hashes what the spec names (each input's path and bytes, in spec order), the compiler's
// version line, the flags, the rename table and the build version; KEY adds the bytes of the
// headers listed for BASE, so that a changed header is a new build although the spec's files
// are unchanged. An entry appears only by one rename of a complete folder and is never changed
// after: a reader sees all of it or none, and of two processes building the same key the
// second finds the first one's entry in place and uses it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pprsim {

// $PPRSIM_CACHE_DIR, else $XDG_CACHE_HOME/pprsim/native, else ~/.cache/pprsim/native.
std::filesystem::path default_native_cache_dir();

inline constexpr const char* kNativeLibraryName = "libpprsim_native.so";

// KEY for BASE from the headers listed for it, when they are listed and all readable.
std::optional<std::string> cached_key(const std::filesystem::path& root, const std::string& base);
// KEY for BASE and the given headers (absolute paths); nothing when one cannot be read.
std::optional<std::string> key_with_headers(const std::string& base, const std::vector<std::filesystem::path>& headers);
// Whether ROOT/KEY holds a complete build.
bool entry_present(const std::filesystem::path& root, const std::string& key);

// A new empty folder under ROOT/tmp for a build in progress. Throws NativeBuildError (Io).
std::filesystem::path make_staging(const std::filesystem::path& root, const std::string& key);
// Moves a complete staging folder into place as ROOT/KEY (or drops it when another process
// got there first) and returns ROOT/KEY. Throws NativeBuildError (Io).
std::filesystem::path publish_entry(const std::filesystem::path& root, const std::filesystem::path& staging,
                                    const std::string& key);
// Lists the headers for BASE (replacing any earlier list whole). Throws NativeBuildError (Io).
void write_header_list(const std::filesystem::path& root, const std::string& base,
                       const std::vector<std::filesystem::path>& headers);

// Removes a folder and what it holds when it goes out of scope, unless released.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::filesystem::path p) : path_(std::move(p)) {}
  ~RemoveOnExit();
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  void release() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

}  // namespace pprsim
