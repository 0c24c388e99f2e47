#include "sim/resident.h"

#include <fmt/format.h>
#include <unistd.h>

namespace pprsim {

ResidentLimitExceeded::ResidentLimitExceeded(std::uint64_t limit, std::uint64_t wanted)
    : std::runtime_error(fmt::format("the simulation needs more than --max-resident {} bytes of real memory "
                                     "({} bytes wanted)",
                                     limit, wanted)),
      limit_(limit) {}

ResidentMeter& ResidentMeter::current() {
  thread_local ResidentMeter meter;
  return meter;
}

std::uint64_t ResidentMeter::default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{8} << 30;
  return static_cast<std::uint64_t>(pages) / 4 * 3 * static_cast<std::uint64_t>(page);
}

}  // namespace pprsim
