// glibc's mtrace output: what mtrace() writes to $MALLOC_TRACE (glibc 2.34 and later write it
// from libc_malloc_debug.so; `pprsim record` sets that up). One call per line:
//
//   = Start
//   @ ./prog:[0x11bb] + 0x55de3d1bc2a0 0xa          malloc, calloc, memalign, realloc(NULL, n)
//   @ /lib/x86_64-linux-gnu/libc.so.6:(_IO_setb+55)[0x83045] - 0x55de3d1bc2a0      free
//   @ ./prog:[0x1235] < 0x55de3d1bc730              realloc, written as two lines: the old
//   @ ./prog:[0x1235] > 0x55de3d1bc9f0 0x3e8        block, then the new one and its size
//   @ [0x7f3a0c1e4f10] ! 0x55de3d1bc730 0x3e8       failed realloc (the old block stays)
//   + (nil) 0x4000000000000                         failed malloc
//   = End
//
// The caller ("@ " up to the operation: "FILE:[0xOFF]", "FILE:(SYMBOL+0xOFF)[0xOFF]" or
// "[0xADDR]") is optional and ignored; it may contain anything, so the operation is read from
// the end of the line. Addresses are "0x..." or "(nil)"; sizes are "%#lx" ("0x3e8", or "0").
//
// Addresses become object ids: dense, from 0; an address allocated again after its free is a
// new object; the ids of freed objects are reused, smallest first, so that the ids stay below
// the peak number of live objects. Input the native format cannot carry is counted as a warning
// and skipped, never fatal: a free of an address the trace never allocated is dropped, a
// realloc of one becomes a malloc, and an allocation at an address that is still live frees the
// old object first (its free is missing from the trace). A second "= Start" starts a new
// process: its addresses begin afresh (objects still live stay live, under their ids).
#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "traces/field_parser.h"
#include "traces/reader_factories.h"
#include "traces/trace_validator.h"

namespace pprsim {
namespace {

constexpr const char* kOperations =
    "'+ ADDR SIZE', '- ADDR', '< ADDR', '> ADDR SIZE' or '! ADDR SIZE'";

// The form of the operation written with `op`, and how many fields follow it; nullptr if none.
const char* operation_form(std::string_view op, std::size_t& fields) {
  if (op.size() != 1) return nullptr;
  switch (op[0]) {
    case '+':
      fields = 2;
      return "+ ADDR SIZE";
    case '>':
      fields = 2;
      return "> ADDR SIZE";
    case '!':
      fields = 2;
      return "! ADDR SIZE";
    case '-':
      fields = 1;
      return "- ADDR";
    case '<':
      fields = 1;
      return "< ADDR";
    default:
      return nullptr;
  }
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The last `max` fields of `s` (fewer when it has fewer), in order, into `out`; returns how many.
std::size_t last_fields(std::string_view s, std::string_view* out, std::size_t max) {
  std::size_t n = 0;
  std::size_t end = s.size();
  std::string_view rev[4];
  while (n < max) {
    while (end > 0 && is_blank(s[end - 1])) --end;
    if (end == 0) break;
    std::size_t begin = end;
    while (begin > 0 && !is_blank(s[begin - 1])) --begin;
    rev[n++] = s.substr(begin, end - begin);
    end = begin;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = rev[n - 1 - i];
  return n;
}

class MtraceReader final : public TraceReader {
 public:
  MtraceReader(std::unique_ptr<std::istream> owned, LineScanner scanner)
      : TraceReader(scanner.name()),
        owned_(std::move(owned)),
        scanner_(std::move(scanner)),
        validator_(name_) {
    // Read up to the first line that says something, so that an empty or foreign file fails
    // at once, as the other readers fail on a bad header.
    std::string_view line;
    while (scanner_.next(line)) {
      if (handle(line)) return;
    }
    throw TraceError(name_, 0,
                     "empty trace: expected glibc mtrace output ('= Start', then lines such as "
                     "'@ CALLER + ADDR SIZE')");
  }

  bool next(Event& ev) override {
    while (head_ == queued_) {
      head_ = queued_ = 0;
      std::string_view line;
      bool got = false;
      while (!got && scanner_.next(line)) got = handle(line);
      if (!got) {
        if (realloc_line_ != 0)
          throw TraceError(name_, scanner_.line_number(),
                           fmt::format("end of trace inside the realloc begun at line {}: "
                                       "expected '> ADDR SIZE' after '< ADDR'",
                                       realloc_line_));
        return false;
      }
    }
    ev = queue_[head_++];
    validator_.check(ev);
    return true;
  }

  TraceFormat format() const override { return TraceFormat::Mtrace; }
  std::uint64_t bytes_read() const override { return scanner_.bytes_consumed(); }

 private:
  // Reads one line; false for a blank one.
  bool handle(std::string_view line) {
    std::size_t first = 0;
    while (first < line.size() && is_blank(line[first])) ++first;
    if (first == line.size()) return false;
    line.remove_prefix(first);
    if (line[0] == '=') {
      control(line);
      return true;
    }
    std::string_view f[4];
    std::size_t n = 0;
    if (line[0] == '@') {
      if (line.size() < 2 || !is_blank(line[1]))
        scanner_.fail(fmt::format("expected '@ CALLER' then {}", kOperations));
      // Operation fields at the end, and at least one field of caller before them.
      n = last_fields(line.substr(1), f, 4);
      std::size_t fields = 0;
      if (n == 4 && operation_form(f[1], fields) != nullptr && fields == 2) {
        operation(f + 1, 3);
      } else if (n >= 3 && operation_form(f[n - 2], fields) != nullptr && fields == 1) {
        operation(f + n - 2, 2);
      } else {
        scanner_.fail(fmt::format("expected '@ CALLER' then {} at the end of the line, got {}",
                                  kOperations, quote_token(line)));
      }
      return true;
    }
    const Fields all = split_fields(line);
    std::size_t fields = 0;
    const char* form = operation_form(all[0], fields);
    if (form == nullptr)
      scanner_.fail(
          fmt::format("unknown line {}: expected '= Start', '= End', '@ CALLER ...' or {}",
                      quote_token(all[0]), kOperations));
    if (all.count - 1 != fields)
      scanner_.fail(fmt::format("'{}' with {} field{}: expected '{}'", all[0], all.count - 1,
                                all.count == 2 ? "" : "s", form));
    for (std::size_t i = 0; i < all.count; ++i) f[i] = all[i];
    operation(f, all.count);
    return true;
  }

  void control(std::string_view line) {
    const Fields f = split_fields(line);
    if (f.count != 2 || f[0] != "=" || (f[1] != "Start" && f[1] != "End"))
      scanner_.fail(
          fmt::format("unknown line {}: expected '= Start' or '= End'", quote_token(line)));
    expect_no_realloc_open();
    if (f[1] == "Start") {
      if (started_) live_.clear();  // a new process: its addresses mean new objects
      started_ = true;
    }
  }

  // f[0] is the operation, f[1] the address, f[2] the size (when n == 3).
  void operation(const std::string_view* f, std::size_t n) {
    const char op = f[0][0];
    const std::uint64_t addr = parse_address(f[1]);
    const std::uint64_t size = n == 3 ? parse_size(f[2]) : 0;
    if (op == '>') {
      realloc_new(addr, size);
      return;
    }
    expect_no_realloc_open();
    switch (op) {
      case '+':
        if (addr != 0) allocate(addr, size);  // (nil): a failed malloc, nothing allocated
        return;
      case '-':
        release(addr);
        return;
      case '<':
        realloc_old_ = addr;
        realloc_line_ = scanner_.line_number();
        return;
      default:  // '!': a failed realloc leaves the old block as it was
        return;
    }
  }

  void expect_no_realloc_open() const {
    if (realloc_line_ != 0)
      scanner_.fail(
          fmt::format("expected '> ADDR SIZE' to complete the realloc begun at line {} "
                      "('< ADDR')",
                      realloc_line_));
  }

  std::uint64_t parse_address(std::string_view token) const {
    if (token == "(nil)") return 0;
    if (token.size() > 2 && token[0] == '0' && token[1] == 'x') return parse_hex(token, "ADDR");
    scanner_.fail(fmt::format("expected an address ('0x...' or '(nil)') for ADDR, got {}",
                              quote_token(token)));
  }

  std::uint64_t parse_size(std::string_view token) const {
    if (token.size() > 2 && token[0] == '0' && token[1] == 'x') return parse_hex(token, "SIZE");
    if (is_decimal(token)) return parse_unsigned(scanner_, token, "SIZE");
    scanner_.fail(
        fmt::format("expected a size ('0x...' or decimal) for SIZE, got {}", quote_token(token)));
  }

  std::uint64_t parse_hex(std::string_view token, std::string_view what) const {
    std::uint64_t value = 0;
    const char* first = token.data() + 2;
    const char* last = token.data() + token.size();
    const auto [ptr, ec] = std::from_chars(first, last, value, 16);
    if (ec == std::errc::result_out_of_range && ptr == last)
      scanner_.fail(fmt::format("{} {} overflows 64 bits", what, quote_token(token)));
    if (ec != std::errc() || ptr != last)
      scanner_.fail(
          fmt::format("expected a hexadecimal number for {}, got {}", what, quote_token(token)));
    return value;
  }

  // ---- From addresses to objects ----

  void allocate(std::uint64_t addr, std::uint64_t size) {
    retire_if_live(addr);
    const std::int64_t id = take_id();
    live_.emplace(addr, id);
    emit(Op::Malloc, id, size);
  }

  void release(std::uint64_t addr) {
    if (addr == 0) {
      emit(Op::Free, -1, 0);
      return;
    }
    const auto it = live_.find(addr);
    if (it == live_.end()) {
      warn(scanner_.line_number(),
           fmt::format("free of 0x{:x}, which the trace never allocated (allocated before tracing "
                       "began?): dropped",
                       addr));
      return;
    }
    const std::int64_t id = it->second;
    live_.erase(it);
    emit(Op::Free, id, 0);
    free_ids_.push(id);
  }

  void realloc_new(std::uint64_t addr, std::uint64_t size) {
    if (realloc_line_ == 0)
      scanner_.fail(
          "'>' without '< ADDR' on the line before: a realloc is written as "
          "'< OLD' then '> NEW SIZE'");
    if (addr == 0) scanner_.fail("expected the address of the new block for '>', got '(nil)'");
    const std::uint64_t old = realloc_old_;
    realloc_line_ = 0;
    const auto it = old == 0 ? live_.end() : live_.find(old);
    if (it == live_.end()) {
      if (old != 0)
        warn(
            scanner_.line_number(),
            fmt::format("realloc of 0x{:x}, which the trace never allocated: read as malloc", old));
      allocate(addr, size);
      return;
    }
    const std::int64_t id = it->second;
    live_.erase(it);
    if (size == 0) {
      // A realloc to 0 bytes that returned a block: the native "r ID 0" would free the object,
      // so write it as the free and the malloc it is.
      emit(Op::Free, id, 0);
      free_ids_.push(id);
      allocate(addr, 0);
      return;
    }
    retire_if_live(addr);
    live_.emplace(addr, id);
    emit(Op::Realloc, id, size);
  }

  // An allocation returned `addr` while the trace still has it live: the free is missing
  // (it happened while tracing was off). Free the old object here.
  void retire_if_live(std::uint64_t addr) {
    const auto it = live_.find(addr);
    if (it == live_.end()) return;
    const std::int64_t id = it->second;
    warn(scanner_.line_number(),
         fmt::format("allocation at 0x{:x}, which is still live (object {}): its free is "
                     "missing; freed here",
                     addr, id));
    live_.erase(it);
    emit(Op::Free, id, 0);
    free_ids_.push(id);
  }

  std::int64_t take_id() {
    if (!free_ids_.empty()) {
      const std::int64_t id = free_ids_.top();
      free_ids_.pop();
      return id;
    }
    if (next_id_ > kMaxObjectId)
      scanner_.fail(fmt::format("more than {} live objects", kMaxObjectId + 1));
    return next_id_++;
  }

  void emit(Op op, std::int64_t id, std::uint64_t size) {
    Event& ev = queue_[queued_++];
    ev = Event{};
    ev.op = op;
    ev.id = id;
    ev.size = size;
    ev.line = scanner_.line_number();
  }

  std::unique_ptr<std::istream> owned_;  // before scanner_, which reads it
  LineScanner scanner_;
  TraceValidator validator_;

  std::unordered_map<std::uint64_t, std::int64_t> live_;  // address -> id of the live object
  std::priority_queue<std::int64_t, std::vector<std::int64_t>, std::greater<>> free_ids_;
  std::int64_t next_id_ = 0;  // ids below it were handed out at least once
  bool started_ = false;
  std::uint64_t realloc_old_ = 0;   // address of the open realloc's '<' line
  std::uint32_t realloc_line_ = 0;  // its line; 0 when no realloc is open

  // Events of the line last read: at most three (a '>' of 0 bytes: the free of the old object,
  // a missing free at the new address, the malloc).
  Event queue_[3];
  std::size_t head_ = 0;
  std::size_t queued_ = 0;
};

}  // namespace

std::unique_ptr<TraceReader> make_mtrace_reader(std::unique_ptr<std::istream> owned,
                                                LineScanner scanner) {
  return std::make_unique<MtraceReader>(std::move(owned), std::move(scanner));
}

std::unique_ptr<TraceReader> read_mtrace(std::istream& in, std::string name) {
  return make_mtrace_reader(nullptr, LineScanner(in, std::move(name)));
}

}  // namespace pprsim
