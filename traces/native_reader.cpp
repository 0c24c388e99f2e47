// The native "pprtrace 1" format (docs/DESIGN.md section 4).
#include <fmt/format.h>

#include "traces/field_parser.h"
#include "traces/reader_factories.h"
#include "traces/trace_validator.h"

namespace pprsim {
namespace {

constexpr const char* kHeaderExpected = "expected header 'pprtrace 1'";

struct Syntax {
  Op op;
  std::size_t fields;  // after the op
  const char* form;
};

// The op named by `word` and the form its line must have; nullptr when unknown.
const Syntax* find_syntax(std::string_view word) {
  static constexpr Syntax kPpr{Op::PprBegin, 0, "ppr"};
  static constexpr Syntax kEnd{Op::PprEnd, 0, "end"};
  static constexpr Syntax kLetters[] = {
      {Op::Malloc, 2, "a ID SIZE"},
      {Op::Calloc, 3, "c ID COUNT SIZE"},
      {Op::Memalign, 3, "m ID ALIGN SIZE"},
      {Op::Realloc, 2, "r ID SIZE"},
      {Op::Free, 1, "f ID"},
      {Op::Write, 3, "w ID OFFSET LEN"},
      {Op::Use, 3, "u ID OFFSET LEN"},
  };
  if (word.size() == 1) {
    for (const Syntax& s : kLetters)
      if (s.form[0] == word[0]) return &s;
    return nullptr;
  }
  if (word == "ppr") return &kPpr;
  if (word == "end") return &kEnd;
  return nullptr;
}

class NativeReader final : public TraceReader {
 public:
  NativeReader(std::unique_ptr<std::istream> owned, LineScanner scanner)
      : TraceReader(scanner.name()),
        owned_(std::move(owned)),
        scanner_(std::move(scanner)),
        validator_(name_) {
    read_header();
  }

  bool next(Event& ev) override {
    std::string_view line;
    while (scanner_.next(line)) {
      const Fields f = split_fields(strip_comment(line));
      if (f.count == 0) continue;
      parse(f, ev);
      validator_.check(ev);
      return true;
    }
    validator_.finish(scanner_.line_number());
    return false;
  }

  TraceFormat format() const override { return TraceFormat::Native; }
  std::uint64_t bytes_read() const override { return scanner_.bytes_consumed(); }

 private:
  void read_header() {
    std::string_view line;
    while (scanner_.next(line)) {
      const Fields f = split_fields(strip_comment(line));
      if (f.count == 0) continue;
      if (f.count == 2 && f[0] == "pprtrace" && f[1] == "1") return;
      if (f[0] == "pprtrace" && f.count == 2)
        scanner_.fail(
            fmt::format("unsupported version {}: {}", quote_token(f[1]), kHeaderExpected));
      scanner_.fail(kHeaderExpected);
    }
    throw TraceError(name_, 0, fmt::format("empty trace: {}", kHeaderExpected));
  }

  void parse(const Fields& f, Event& ev) const {
    const Syntax* syntax = find_syntax(f[0]);
    if (syntax == nullptr)
      scanner_.fail(fmt::format("unknown event {}: expected one of ppr, end, a, c, m, r, f, w, u",
                                quote_token(f[0])));
    if (f.count - 1 != syntax->fields)
      scanner_.fail(fmt::format("'{}' with {} field{}: expected '{}'", f[0], f.count - 1,
                                f.count == 2 ? "" : "s", syntax->form));
    ev = Event{};
    ev.op = syntax->op;
    ev.line = scanner_.line_number();
    if (syntax->fields == 0) return;
    ev.id = parse_signed(scanner_, f[1], "ID");
    switch (ev.op) {
      case Op::Malloc:
      case Op::Realloc:
        ev.size = parse_unsigned(scanner_, f[2], "SIZE");
        break;
      case Op::Calloc:
        ev.count = parse_unsigned(scanner_, f[2], "COUNT");
        ev.size = parse_unsigned(scanner_, f[3], "SIZE");
        break;
      case Op::Memalign:
        ev.align = parse_unsigned(scanner_, f[2], "ALIGN");
        ev.size = parse_unsigned(scanner_, f[3], "SIZE");
        break;
      case Op::Write:
      case Op::Use:
        ev.offset = parse_unsigned(scanner_, f[2], "OFFSET");
        ev.size = parse_unsigned(scanner_, f[3], "LEN");
        break;
      default:
        break;
    }
  }

  std::unique_ptr<std::istream> owned_;  // before scanner_, which reads it
  LineScanner scanner_;
  TraceValidator validator_;
};

}  // namespace

std::unique_ptr<TraceReader> make_native_reader(std::unique_ptr<std::istream> owned,
                                                LineScanner scanner) {
  return std::make_unique<NativeReader>(std::move(owned), std::move(scanner));
}

std::unique_ptr<TraceReader> read_native(std::istream& in, std::string name) {
  return make_native_reader(nullptr, LineScanner(in, std::move(name)));
}

}  // namespace pprsim
