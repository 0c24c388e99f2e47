// Byte-granular record of one virtual process's loads and stores inside a PPR task. For each
// byte it keeps the trace line of the first exposed read (a read of a byte the process had not
// written itself before) and of the last write; 0 means no such access. A page written whole by
// one event (a large fill) keeps one line, not one per byte.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "alloc/memory.h"

namespace pprsim {

class AccessLog {
 public:
  // The lines of one kind of access over one page: one line for every byte, or per byte in
  // chunks of kChunk bytes taken from the log's slabs when first touched (a chunk not taken
  // holds the uniform line), so a task that writes a block header pays for 256 bytes, not 4096.
  class Lines {
   public:
    static constexpr std::size_t kChunk = 256;
    static constexpr std::size_t kChunks = kPageSize / kChunk;
    using Chunk = std::array<std::uint32_t, kChunk>;

    Lines() = default;
    Lines(const Lines&) = delete;
    Lines& operator=(const Lines&) = delete;
    std::uint32_t operator[](std::size_t b) const {
      const auto& c = chunks_[b / kChunk];
      return c ? (*c)[b % kChunk] : all_;
    }
    // Every byte of the page has the same, non-zero line.
    bool whole() const { return chunked_ == 0 && all_ != 0; }
    // Whether any byte may have a line (false: all are 0).
    bool any() const { return all_ != 0 || chunked_ != 0; }
    // Whether any byte of chunk i may have a line (false: all of its bytes are 0).
    bool touched(std::size_t i) const { return all_ != 0 || chunks_[i] != nullptr; }

   private:
    friend class AccessLog;
    // Per-byte storage of chunk i, initialised from the uniform line.
    Chunk& chunk(std::size_t i, AccessLog& log);
    void set_all(std::uint32_t line);
    std::array<Chunk*, kChunks> chunks_{};  // in the log's slabs
    std::uint32_t chunked_ = 0;  // chunks allocated
    std::uint32_t all_ = 0;
  };
  struct PageLog {
    Lines read_line;
    Lines write_line;
  };
  using Pages = std::map<std::uint64_t, std::unique_ptr<PageLog>>;

  AccessLog() = default;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // The trace line charged with the accesses that follow. requires: line >= 1.
  void set_line(std::uint32_t line) { line_ = line; }
  std::uint32_t line() const { return line_; }

  void on_read(Addr a, std::uint64_t n);
  void on_write(Addr a, std::uint64_t n);

  // Pages touched, by page number (ordered: iteration is deterministic).
  const Pages& pages() const { return pages_; }
  const PageLog* page(std::uint64_t pn) const;

  std::uint64_t bytes_written() const;

 private:
  PageLog& page_for(std::uint64_t pn);
  // A chunk of line storage that lives as long as the log (counted by the ResidentMeter): one
  // allocation per kSlab chunks instead of one per chunk.
  Lines::Chunk* take_chunk();
  static constexpr std::size_t kSlab = 64;
  std::vector<std::unique_ptr<Lines::Chunk[]>> slabs_;
  std::size_t slab_used_ = kSlab;

  Pages pages_;
  std::uint32_t line_ = 1;
  std::uint64_t last_pn_ = ~std::uint64_t{0};
  PageLog* last_ = nullptr;
};

}  // namespace pprsim
