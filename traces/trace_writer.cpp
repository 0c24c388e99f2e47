#include "traces/trace_writer.h"

#include <algorithm>
#include <charconv>

#include "traces/line_scanner.h"

namespace pprsim {
namespace {

// Longest line: an op, a 20-character id and three 20-digit numbers, with separators.
constexpr std::size_t kMaxEventChars = 4 + 4 * 21;

template <typename T>
char* put_number(char* p, char* end, T value) {
  *p++ = ' ';
  return std::to_chars(p, end, value).ptr;
}

// Writes the canonical line for `ev` into `buf` and returns its end.
char* format_into(char* buf, const Event& ev) {
  char* const end = buf + kMaxEventChars;
  const std::string_view name = op_name(ev.op);
  char* p = buf;
  for (char c : name) *p++ = c;
  if (!is_operation(ev.op)) return p;
  p = put_number(p, end, ev.id);
  switch (ev.op) {
    case Op::Malloc:
    case Op::Realloc:
      p = put_number(p, end, ev.size);
      break;
    case Op::Calloc:
      p = put_number(p, end, ev.count);
      p = put_number(p, end, ev.size);
      break;
    case Op::Memalign:
      p = put_number(p, end, ev.align);
      p = put_number(p, end, ev.size);
      break;
    case Op::Write:
    case Op::Use:
      p = put_number(p, end, ev.offset);
      p = put_number(p, end, ev.size);
      break;
    default:
      break;
  }
  return p;
}

}  // namespace

std::string format_event(const Event& ev) {
  char buf[kMaxEventChars + 1];
  return std::string(buf, format_into(buf, ev));
}

TraceWriter::TraceWriter(std::ostream& out, std::string_view comment_text) : out_(out) {
  if (!comment_text.empty()) comment(comment_text);
  out_ << "pprtrace 1\n";
  ++lines_;
}

void TraceWriter::write(const Event& ev) {
  char buf[kMaxEventChars + 1];
  char* p = format_into(buf, ev);
  *p++ = '\n';
  out_.write(buf, p - buf);
  ++lines_;
}

void TraceWriter::comment(std::string_view text) {
  for (;;) {
    const std::size_t nl = text.find('\n');
    std::string line = "# ";
    // A longer line would be rejected by the readers: cut it.
    line.append(text.substr(0, std::min(nl, LineScanner::kMaxLineBytes - 2)));
    for (std::size_t i = 2; i < line.size();) {
      const auto c = static_cast<unsigned char>(line[i]);
      if ((c >= 0x20 && c < 0x7F) || c == '\t') {
        ++i;
      } else if (const std::size_t len = c >= 0x80 ? utf8_sequence_length(line, i) : 0; len > 0) {
        i += len;
      } else {
        line[i++] = '?';
      }
    }
    line += '\n';
    out_ << line;
    ++lines_;
    if (nl == std::string_view::npos) return;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace pprsim
