// Which calls of a `native:` allocator pprsim can track: the renaming of memory and
// system-memory functions to pprsim's shims, and the allow-list of what may stay undefined in
// the allocator's objects. Everything else the allocator calls would run where the recording
// hooks cannot see it, and the build refuses it.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace pprsim {

// The shims the renamed calls go to: pprsim_shim_memcpy, pprsim_shim_sbrk, ...
inline constexpr std::string_view kShimPrefix = "pprsim_shim_";
// Functions the port defines: the allocator's entry points and group hooks, by these names.
inline constexpr std::string_view kPortPrefix = "pprsim_port_";
// Services pprsim's runtime gives the allocator and its port (messages, the rescue, ...).
inline constexpr std::string_view kServicePrefix = "pprsim_native_";

struct RenamedSymbol {
  std::string_view from;  // the call as the object makes it
  std::string_view to;    // the shim it is redirected to
};

// The rename table, one row per call redirected (symbol_rules.cpp says why each).
std::span<const RenamedSymbol> renamed_symbols();

// Whether an object may leave `symbol` undefined (resolved by the process that loads it).
bool symbol_allowed(std::string_view symbol);

// Why `symbol` is refused, in a few words, for the error message.
std::string refusal_reason(std::string_view symbol);

// The allow-list as one line, for the error message.
std::string allowed_summary();

}  // namespace pprsim
