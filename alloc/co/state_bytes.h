// Plain values and arrays of them written to, and read back from, a byte buffer: the format of an
// allocator's task state when its tasks are separate processes (alloc/co/task_state.h). The
// writer counts what it would write, so a first pass with no buffer gives the size needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace pprsim::co {

class StateWriter {
 public:
  StateWriter(void* buf, std::size_t cap) : out_(static_cast<unsigned char*>(buf)), cap_(cap) {}

  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes(&v, sizeof v);
  }
  template <class T>
  void put_vector(const std::vector<T>& v) {
    put(static_cast<std::uint64_t>(v.size()));
    if (!v.empty()) bytes(v.data(), v.size() * sizeof(T));
  }
  // The bytes all the puts need.
  std::size_t size() const { return n_; }

 private:
  void bytes(const void* p, std::size_t len) {
    if (out_ != nullptr && n_ + len <= cap_) std::memcpy(out_ + n_, p, len);
    n_ += len;
  }
  unsigned char* out_;
  std::size_t cap_;
  std::size_t n_ = 0;
};

class StateReader {
 public:
  StateReader(const void* buf, std::size_t n) : in_(static_cast<const unsigned char*>(buf)), n_(n) {}

  template <class T>
  bool get(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    return bytes(&v, sizeof v);
  }
  template <class T>
  bool get_vector(std::vector<T>& v) {
    std::uint64_t count = 0;
    if (!get(count) || count > (n_ - at_) / sizeof(T)) return ok_ = false;
    v.resize(count);
    return count == 0 || bytes(v.data(), count * sizeof(T));
  }
  // Every get succeeded and the buffer was read to its end.
  bool complete() const { return ok_ && at_ == n_; }

 private:
  bool bytes(void* p, std::size_t len) {
    if (!ok_ || in_ == nullptr || len > n_ - at_) return ok_ = false;
    std::memcpy(p, in_ + at_, len);
    at_ += len;
    return true;
  }
  const unsigned char* in_;
  std::size_t n_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace pprsim::co
