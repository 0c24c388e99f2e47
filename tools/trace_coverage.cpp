#include "tools/trace_coverage.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "sim/replay.h"
#include "traces/trace_reader.h"

namespace pprsim {

TraceCoverage trace_coverage(const std::string& dir, const std::string& suffix, const std::string& allocator,
                             int group_size, std::uint64_t ppr_every) {
  TraceCoverage out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().string();
    if (entry.is_regular_file() && name.ends_with(suffix)) out.traces.push_back(name);
  }
  std::sort(out.traces.begin(), out.traces.end());
  if (out.traces.empty()) throw std::invalid_argument(dir + ": no *" + suffix + " traces there");
  for (const std::string& t : out.traces) {
    std::unique_ptr<TraceReader> reader = open_trace(t);
    ReplayConfig cfg;
    cfg.allocator = allocator;
    cfg.group_size = group_size;
    cfg.ppr_every = ppr_every;
    const RunStats s = replay(*reader, cfg);
    out.merged.merge(s.coverage);
    for (unsigned i = 0; i < kProbeCount; ++i) out.traces_reaching[i] += s.coverage.reached(i) ? 1 : 0;
  }
  return out;
}

}  // namespace pprsim
