// Byte-granular record of one virtual process's loads and stores inside a PPR task. For each
// byte it keeps the trace line of the first exposed read (a read of a byte the process had not
// written itself before) and of the last write; 0 means no such access. A page written whole by
// one event (a large fill) keeps one line, not one per byte.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "alloc/memory.h"
#include "traces/id_map.h"

namespace pprsim {

class AccessLog {
 public:
  // The lines of one kind of access over one page, in chunks of kChunk bytes: a chunk holds one
  // line for all of its bytes, or per-byte lines taken from the log's slabs when a write or read
  // first covers part of it. So a task that writes a block header pays for 256 bytes of lines,
  // and one that fills a large object for one line per chunk.
  class Lines {
   public:
    static constexpr std::size_t kChunk = 256;
    static constexpr std::size_t kChunks = kPageSize / kChunk;
    static constexpr std::size_t kWords = kPageSize / 64;  // mask words per page
    static_assert(kChunks <= 32 && kChunk % 64 == 0);
    // Per-byte lines of a chunk, with a bit per byte for "has a line": the scans (the commit's
    // runs, the conflict check, exposed reads) test 64 bytes at a time. A byte's line is
    // meaningful only where its bit is set, so a chunk taken for an untouched stretch starts
    // with 32 bytes of mask to clear, not a kilobyte of lines.
    struct Chunk {
      std::array<std::uint32_t, kChunk> line;
      std::array<std::uint64_t, kChunk / 64> has;
      std::uint32_t at(std::size_t b) const { return (has[b / 64] >> (b % 64) & 1) != 0 ? line[b] : 0; }
    };

    Lines() = default;
    Lines(const Lines&) = delete;
    Lines& operator=(const Lines&) = delete;
    std::uint32_t operator[](std::size_t b) const {
      const Chunk* c = chunks_[b / kChunk];
      return c != nullptr ? c->at(b % kChunk) : uniform_[b / kChunk];
    }
    // Bit k: byte 64 * w + k has a line. requires: w < kWords.
    std::uint64_t mask(std::size_t w) const {
      const std::size_t i = w / (kChunk / 64);
      const Chunk* c = chunks_[i];
      if (c != nullptr) return c->has[w % (kChunk / 64)];
      return covered(i) ? ~std::uint64_t{0} : 0;
    }
    // Every byte of the page has the same, non-zero line (one access covered it whole).
    bool whole() const { return page_line_ != 0; }
    // Whether any byte may have a line (false: all are 0).
    bool any() const { return touched_ != 0; }
    // Bit i: chunk i may hold a byte with a line (clear: all of its bytes are 0).
    std::uint32_t chunks() const { return touched_; }
    // Whether any byte of chunk i may have a line (false: all of its bytes are 0).
    bool touched(std::size_t i) const { return (touched_ >> i & 1) != 0; }
    // Whether every byte of chunk i has a line (one access covered it whole).
    bool covered(std::size_t i) const { return chunks_[i] == nullptr && uniform_[i] != 0; }
    // f(from, to) for every maximal run [from, to) of bytes that have a line, in page order.
    template <class F>
    void for_each_run(F&& f) const {
      constexpr std::size_t kNoRun = ~std::size_t{0};
      std::size_t start = kNoRun;
      for (std::size_t w = 0; w < kWords; ++w) {
        std::uint64_t m = mask(w);
        const std::size_t base = 64 * w;
        // Within the word: alternate between the end of the open run and the next start.
        std::size_t k = 0;
        while (k < 64) {
          if (start == kNoRun) {
            const std::uint64_t ones = m >> k;
            if (ones == 0) break;
            k += static_cast<std::size_t>(std::countr_zero(ones));
            start = base + k;
          } else {
            const std::uint64_t zeros = ~m >> k;
            if (zeros == 0) break;
            k += static_cast<std::size_t>(std::countr_zero(zeros));
            f(start, base + k);
            start = kNoRun;
          }
        }
      }
      if (start != kNoRun) f(start, kPageSize);
    }

   private:
    friend class AccessLog;
    // Per-byte storage of chunk i, initialised from its uniform line.
    Chunk& chunk(std::size_t i, AccessLog& log);
    // Bytes [from, to) of chunk i get `line` (to - from == kChunk: the chunk needs no storage).
    void set(std::size_t i, std::size_t from, std::size_t to, std::uint32_t line, AccessLog& log);
    void set_all(std::uint32_t line);
    std::array<Chunk*, kChunks> chunks_{};  // in the log's slabs; null: uniform_ holds the line
    std::array<std::uint32_t, kChunks> uniform_{};
    std::uint32_t touched_ = 0;    // bit i: chunk i may hold a non-zero line
    std::uint32_t page_line_ = 0;  // non-zero: every byte has this line
  };
  struct PageLog {
    Lines read_line;
    Lines write_line;
  };
  // Touched pages in page order: (page number, its log).
  using Pages = std::vector<std::pair<std::uint64_t, const PageLog*>>;

  AccessLog() = default;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // Forgets every access (as a new log) and keeps its storage for the next task.
  void reset();

  // The trace line charged with the accesses that follow. requires: line >= 1.
  void set_line(std::uint32_t line) { line_ = line; }
  std::uint32_t line() const { return line_; }

  void on_read(Addr a, std::uint64_t n);
  void on_write(Addr a, std::uint64_t n);

  // Pages touched, by page number (ordered: iteration is deterministic). Sorted when first
  // asked for after a page was added.
  const Pages& pages() const;
  const PageLog* page(std::uint64_t pn) const;

 private:
  PageLog& page_for(std::uint64_t pn);
  // An aligned word (the allocator's load64 and store64: most accesses) whose chunk has
  // per-byte lines already, recorded without the general loops. False: the general path must
  // record it.
  bool word_read(Addr a);
  bool word_write(Addr a);
  // A chunk of line storage that lives as long as the log (counted by the ResidentMeter): one
  // allocation per kSlab chunks instead of one per chunk.
  Lines::Chunk* take_chunk();
  static constexpr std::size_t kSlab = 64;
  std::vector<std::unique_ptr<Lines::Chunk[]>> slabs_;
  std::size_t slabs_in_use_ = 0;  // slabs_[0..slabs_in_use_): since the last reset
  std::size_t slab_used_ = kSlab;  // chunks taken from the last slab in use

  // The page logs, kPageSlab to an allocation, found by page number through by_page_ (a hash:
  // a task looks its pages up at every access that leaves the last one).
  static constexpr std::size_t kPageSlab = 16;
  std::vector<std::unique_ptr<PageLog[]>> page_slabs_;
  std::size_t page_slabs_in_use_ = 0;
  std::size_t page_slab_used_ = kPageSlab;
  IdMap<PageLog*> by_page_;
  mutable Pages sorted_;  // pages(), when sorted_size_ == by_page_.size()
  mutable std::size_t sorted_size_ = 0;
  std::uint32_t line_ = 1;
  std::uint64_t last_pn_ = ~std::uint64_t{0};
  PageLog* last_ = nullptr;
};

}  // namespace pprsim
