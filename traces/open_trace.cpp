// open_trace: opens a file and hands it to the reader of the format its content shows.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "traces/format_detection.h"
#include "traces/reader_factories.h"

namespace pprsim {

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
  LineScanner scanner(*in, path);
  // The reader starts at the line that showed the format (what came before it is blank or
  // comments): no seeking back, so a pipe with any amount of leading comments reads as well.
  const TraceFormat format = detect_format(scanner);
  scanner.unread();
  switch (format) {
    case TraceFormat::Native:
      return make_native_reader(std::move(in), std::move(scanner));
    case TraceFormat::CsApp:
      return make_csapp_reader(std::move(in), std::move(scanner));
    case TraceFormat::Mtrace:
      return make_mtrace_reader(std::move(in), std::move(scanner));
  }
  throw TraceError(path, 0, "unsupported trace format");
}

}  // namespace pprsim
