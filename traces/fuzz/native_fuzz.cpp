// libFuzzer target: the native "pprtrace 1" reader on arbitrary bytes. Any input must either read
// to the end or throw TraceError with one line of text; anything else (a crash, a sanitizer report,
// another exception) is a bug. Built with -DPPRSIM_FUZZ=ON and clang (tools/run_fuzzers.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "traces/trace_reader.h"
#include "traces/trace_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    auto reader = pprsim::read_native(in, "fuzz.input");
    // The events must be what the validator accepts: check them again with a fresh one.
    pprsim::TraceValidator validator("fuzz.input");
    pprsim::Event ev;
    while (reader->next(ev)) validator.check(ev);
  } catch (const pprsim::TraceError& e) {
    const std::string what = e.what();
    if (what.empty() || what.find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
