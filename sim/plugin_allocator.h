// Allocators from outside: a C plugin (alloc/pprsim_plugin.h) loaded with dlopen and adapted to
// the simulator's SimAllocator interface. The plugin's memory callbacks never let an exception
// cross its C frames: an access outside the allocator's memory reads 0, and the fault is raised
// as a MemoryFault once the plugin function returns (a failed run with a report).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sim/sim_allocator.h"

namespace pprsim {

inline constexpr std::string_view kPluginPrefix = "plugin:";

// A plugin that cannot be used: not a shared object, no pprsim_plugin symbol, another ABI
// version, a required function missing. what() is one line naming the plugin.
class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads (once per path, for the life of the program) the plugin at `path` and checks it.
// Throws PluginError.
void check_plugin(const std::string& path);

// An allocator of the plugin at `path` working on `mem`. Throws PluginError.
std::unique_ptr<SimAllocator> make_plugin_allocator(const std::string& path, SimMemory& mem);

}  // namespace pprsim
