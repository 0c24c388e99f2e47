// SHA-256 (OpenSSL's libcrypto) for the keys of the build cache: stable across runs,
// processes and machines, which an in-memory hash is not.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pprsim {

class ContentHash {
 public:
  ContentHash();
  ~ContentHash();
  ContentHash(const ContentHash&) = delete;
  ContentHash& operator=(const ContentHash&) = delete;

  // Adds `bytes` preceded by their length, so that ("ab", "c") and ("a", "bc") differ.
  ContentHash& add(std::string_view bytes);
  // Adds a file's bytes the same way; false (nothing added) when it cannot be read.
  bool add_file(const std::filesystem::path& file);
  // The digest in lower-case hex; the hash is finished after this.
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The SHA-256 of a file's bytes in hex, or nothing when it cannot be read.
std::optional<std::string> file_digest(const std::filesystem::path& file);

}  // namespace pprsim
