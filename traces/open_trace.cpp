// open_trace: opens a file and hands it to the reader of the format its content shows.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "traces/format_detection.h"
#include "traces/reader_factories.h"

namespace pprsim {

std::unique_ptr<TraceReader> open_trace_stream(std::unique_ptr<std::istream> in, const std::string& name,
                                               std::uint64_t size) {
  LineScanner scanner(*in, name);
  // The reader starts at the line that showed the format (what came before it is blank or
  // comments): no seeking back, so a pipe with any amount of leading comments reads as well.
  const TraceFormat format = detect_format(scanner);
  scanner.unread();
  std::unique_ptr<TraceReader> reader;
  switch (format) {
    case TraceFormat::Native:
      reader = make_native_reader(std::move(in), std::move(scanner));
      break;
    case TraceFormat::CsApp:
      reader = make_csapp_reader(std::move(in), std::move(scanner));
      break;
    case TraceFormat::Mtrace:
      reader = make_mtrace_reader(std::move(in), std::move(scanner));
      break;
  }
  if (!reader) throw TraceError(name, 0, "unsupported trace format");
  reader->set_total_bytes(size);
  return reader;
}

std::unique_ptr<TraceReader> open_trace(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw TraceError(path, 0, std::string("cannot open: ") + std::strerror(EISDIR));
  errno = 0;
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!in->is_open()) {
    const int err = errno != 0 ? errno : ENOENT;
    throw TraceError(path, 0, std::string("cannot open: ") + std::strerror(err));
  }
  const std::uint64_t size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
  return open_trace_stream(std::move(in), path, size);
}

}  // namespace pprsim
