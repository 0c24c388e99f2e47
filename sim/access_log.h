// Byte-granular record of one virtual process's loads and stores inside a PPR task. For each
// byte it keeps the trace line of the first exposed read (a read of a byte the process had not
// written itself before) and of the last write; 0 means no such access. A page written whole by
// one event (a large fill) keeps one line, not one per byte.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>

#include "alloc/memory.h"

namespace pprsim {

class AccessLog {
 public:
  // The lines of one kind of access over one page: per byte, or one line for every byte.
  class Lines {
   public:
    Lines() = default;
    Lines(const Lines&) = delete;
    Lines& operator=(const Lines&) = delete;
    ~Lines();
    std::uint32_t operator[](std::size_t b) const { return bytes_ ? (*bytes_)[b] : all_; }
    // Every byte of the page has the same, non-zero line.
    bool whole() const { return !bytes_ && all_ != 0; }

   private:
    friend class AccessLog;
    // Per-byte storage, initialised from the uniform line. Counted by the ResidentMeter.
    std::array<std::uint32_t, kPageSize>& per_byte();
    std::unique_ptr<std::array<std::uint32_t, kPageSize>> bytes_;
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

  Pages pages_;
  std::uint32_t line_ = 1;
  std::uint64_t last_pn_ = ~std::uint64_t{0};
  PageLog* last_ = nullptr;
};

}  // namespace pprsim
