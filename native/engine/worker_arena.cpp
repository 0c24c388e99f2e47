#include "native/engine/worker_arena.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "native/engine/shm_channel.h"
#include "native/engine/worker_protocol.h"

namespace pprsim {

namespace {

void* at(std::uint64_t a) { return reinterpret_cast<void*>(a); }
off_t offset_of(std::uint64_t a) { return static_cast<off_t>(a - wire::kArenaBase); }

// The file's pages of [a, a + n) go back to the system (they read as zero from then on).
void punch(int fd, std::uint64_t a, std::uint64_t n) {
  ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset_of(a), static_cast<off_t>(n));
}

// A memory file as large as the arena, holding no page yet; -1 when the system refuses.
int new_file() { return wire::make_shared_file("pprsim-arena", wire::kArenaBytes); }

// Maps the file's pages of [a, a + n) at a, replacing what is there.
bool map_file(int fd, std::uint64_t a, std::uint64_t n, int sharing) {
  return ::mmap(at(a), n, PROT_READ | PROT_WRITE, sharing | MAP_FIXED, fd, offset_of(a)) == at(a);
}

}  // namespace

void WorkerArena::open() {
  fd_ = new_file();
  shared_ = fd_ >= 0;
}

bool WorkerArena::map(std::uint64_t a, std::uint64_t n, bool replace) {
  const int fixed = replace ? MAP_FIXED : MAP_FIXED_NOREPLACE;
  void* p;
  if (shared_) {
    p = ::mmap(at(a), n, PROT_READ | PROT_WRITE, MAP_SHARED | fixed, fd_, offset_of(a));
  } else {
    p = ::mmap(at(a), n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
  }
  if (p != at(a)) return false;
  // A new region reads as zero: the file's pages there are dropped (MAIN drops them at every
  // unmap already; this covers a range whose last user was another process).
  if (shared_) punch(fd_, a, n);
  // Recorded merged with its neighbours: a fork maps each run of adjacent regions at once.
  std::uint64_t start = a;
  std::uint64_t end = a + n;
  auto next = regions_.lower_bound(a);
  if (next != regions_.begin()) {
    auto prev = std::prev(next);
    if (prev->second >= start) {
      start = prev->first;
      end = std::max(end, prev->second);
      next = regions_.erase(prev);
    }
  }
  while (next != regions_.end() && next->first <= end) {
    end = std::max(end, next->second);
    next = regions_.erase(next);
  }
  regions_.emplace(start, end);
  return true;
}

void WorkerArena::unmap(std::uint64_t a, std::uint64_t n) {
  ::munmap(at(a), n);
  if (shared_) punch(fd_, a, n);
  const std::uint64_t end = a + n;
  auto it = regions_.lower_bound(a);
  if (it != regions_.begin() && std::prev(it)->second > a) --it;
  while (it != regions_.end() && it->first < end) {
    const std::uint64_t s = it->first;
    const std::uint64_t e = it->second;
    it = regions_.erase(it);
    if (s < a) regions_.emplace(s, a);
    if (e > end) it = regions_.emplace(end, e).first;
  }
}

bool WorkerArena::detach_after_fork() {
  if (!shared_) return true;  // private regions: the fork copied them on write already
  for (const auto& [start, end] : regions_) {
    if (!map_file(fd_, start, end - start, MAP_PRIVATE)) return false;
  }
  shared_ = false;
  return true;
}

bool WorkerArena::adopt() {
  if (shared_ || fd_ < 0) return true;
  const int fd = new_file();
  if (fd < 0) return false;
  for (const auto& [start, end] : regions_) {
    // The region's bytes (pages this worker never wrote still read through to the old file).
    for (std::uint64_t a = start; a < end;) {
      const ssize_t put = ::pwrite(fd, at(a), end - a, offset_of(a));
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) {
        ::close(fd);
        return false;
      }
      a += static_cast<std::uint64_t>(put);
    }
  }
  for (const auto& [start, end] : regions_) {
    if (!map_file(fd, start, end - start, MAP_SHARED)) {
      ::close(fd);
      return false;
    }
  }
  ::close(fd_);
  fd_ = fd;
  shared_ = true;
  return true;
}

}  // namespace pprsim
