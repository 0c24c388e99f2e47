// SHA-256 through OpenSSL's EVP interface (content_hash.h).
#include "native/engine/content_hash.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace pprsim {

struct ContentHash::State {
  EVP_MD_CTX* ctx = nullptr;
};

ContentHash::ContentHash() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("native: SHA-256 is not available from libcrypto");
}

ContentHash::~ContentHash() { EVP_MD_CTX_free(state_->ctx); }

ContentHash& ContentHash::add(std::string_view bytes) {
  const std::uint64_t n = bytes.size();
  EVP_DigestUpdate(state_->ctx, &n, sizeof n);
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
  return *this;
}

bool ContentHash::add_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return false;
  add(bytes);
  return true;
}

std::string ContentHash::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &size);
  std::string s;
  for (unsigned int i = 0; i < size; ++i) s += fmt::format("{:02x}", digest[i]);
  return s;
}

std::optional<std::string> file_digest(const std::filesystem::path& file) {
  ContentHash h;
  if (!h.add_file(file)) return std::nullopt;
  return h.hex();
}

}  // namespace pprsim
