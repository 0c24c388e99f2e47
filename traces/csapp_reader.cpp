// The CS:APP malloc-lab ".rep" format: four header lines of hints, then "a ID SIZE",
// "r ID SIZE" and "f ID" lines. No PPR markers.
#include <fmt/format.h>

#include "traces/field_parser.h"
#include "traces/reader_factories.h"
#include "traces/trace_validator.h"

namespace pprsim {
namespace {

constexpr const char* kHeaderForm =
    "4 header lines (heap-size hint, number of ids, number of operations, weight)";
constexpr const char* kHeaderFields[] = {"heap-size hint", "number of ids", "number of operations",
                                         "weight"};

class CsAppReader final : public TraceReader {
 public:
  CsAppReader(std::unique_ptr<std::istream> owned, LineScanner scanner)
      : TraceReader(scanner.name()),
        owned_(std::move(owned)),
        scanner_(std::move(scanner)),
        validator_(name_) {
    read_header();
  }

  bool next(Event& ev) override {
    std::string_view line;
    while (scanner_.next(line)) {
      const Fields f = split_fields(line);
      if (f.count == 0) continue;
      parse(f, ev);
      validator_.check(ev);
      check_against_header(ev);
      return true;
    }
    if (operations_ != header_[2])
      throw TraceError(name_, header_line_[2],
                       fmt::format("the header announces {} operations, the trace has {}",
                                   header_[2], operations_));
    return false;
  }

  TraceFormat format() const override { return TraceFormat::CsApp; }
  std::uint64_t bytes_read() const override { return scanner_.bytes_consumed(); }
  std::uint64_t announced_operations() const override { return header_[2]; }

 private:
  void read_header() {
    std::size_t got = 0;
    std::string_view line;
    while (got < 4 && scanner_.next(line)) {
      const Fields f = split_fields(line);
      if (f.count == 0) continue;
      const char* what = kHeaderFields[got];
      if (f.count != 1 || !is_decimal(f[0]))
        scanner_.fail(
            fmt::format("expected the {} (a non-negative integer) as header line {}, "
                        "got {}",
                        what, got + 1, quote_token(line)));
      header_line_[got] = scanner_.line_number();
      header_[got++] = parse_unsigned(scanner_, f[0], what);
    }
    if (got == 0)
      throw TraceError(name_, 0, fmt::format("empty trace: expected header: {}", kHeaderForm));
    if (got < 4)
      scanner_.fail(fmt::format("truncated header: expected {}, got {}", kHeaderForm, got));
  }

  // The header's counts hold for the body: exactly its number of operations, ids below its
  // number of ids (-1 stands for a null pointer).
  void check_against_header(const Event& ev) {
    if (++operations_ > header_[2])
      scanner_.fail(fmt::format("operation {} of a trace whose header (line {}) announces {}",
                                operations_, header_line_[2], header_[2]));
    if (ev.id >= 0 && static_cast<std::uint64_t>(ev.id) >= header_[1])
      scanner_.fail(fmt::format("id {} is not below the {} ids the header (line {}) announces",
                                ev.id, header_[1], header_line_[1]));
  }

  void parse(const Fields& f, Event& ev) const {
    const std::string_view op = f[0];
    std::size_t fields = 0;
    const char* form = nullptr;
    ev = Event{};
    if (op == "a") {
      ev.op = Op::Malloc, fields = 2, form = "a ID SIZE";
    } else if (op == "r") {
      ev.op = Op::Realloc, fields = 2, form = "r ID SIZE";
    } else if (op == "f") {
      ev.op = Op::Free, fields = 1, form = "f ID";
    } else {
      scanner_.fail(fmt::format("unknown operation {}: expected 'a ID SIZE', 'r ID SIZE' or 'f ID'",
                                quote_token(op)));
    }
    if (f.count - 1 != fields)
      scanner_.fail(fmt::format("'{}' with {} field{}: expected '{}'", op, f.count - 1,
                                f.count == 2 ? "" : "s", form));
    ev.line = scanner_.line_number();
    ev.id = parse_signed(scanner_, f[1], "ID");
    if (fields == 2) ev.size = parse_unsigned(scanner_, f[2], "SIZE");
  }

  std::unique_ptr<std::istream> owned_;  // before scanner_, which reads it
  LineScanner scanner_;
  TraceValidator validator_;
  std::uint64_t header_[4] = {};
  std::uint32_t header_line_[4] = {};
  std::uint64_t operations_ = 0;
};

}  // namespace

std::unique_ptr<TraceReader> make_csapp_reader(std::unique_ptr<std::istream> owned,
                                               LineScanner scanner) {
  return std::make_unique<CsAppReader>(std::move(owned), std::move(scanner));
}

std::unique_ptr<TraceReader> read_csapp(std::istream& in, std::string name) {
  return make_csapp_reader(nullptr, LineScanner(in, std::move(name)));
}

}  // namespace pprsim
