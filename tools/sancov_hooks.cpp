// The functions a plugin built with clang -fsanitize-coverage=trace-pc-guard,pc-table calls (the
// compiler inserts the calls; sim/plugin_edges.h keeps what they report). They are defined here,
// in a file linked only into the programs that load plugins (pprsim and the tests), and exported
// from them (tools/sancov_hooks.list), so that a plugin's references resolve to them when it is
// dlopen'ed. They stay out of the libraries, because the libFuzzer targets link those and
// libFuzzer defines these functions itself; a sanitizer runtime's own (weak) definitions in its
// shared library give way to the program's.
#include <cstdint>

#include "sim/plugin_edges.h"

extern "C" {

void __sanitizer_cov_trace_pc_guard_init(std::uint32_t* start, std::uint32_t* stop) {
  pprsim::edge_hooks::add_guards(start, stop);
}

void __sanitizer_cov_trace_pc_guard(std::uint32_t* guard) { ++pprsim::edge_hooks::hits[*guard]; }

void __sanitizer_cov_pcs_init(const std::uintptr_t* begin, const std::uintptr_t* end) {
  pprsim::edge_hooks::add_pcs(begin, end);
}

// A plugin built with counters or flags instead of guards calls one of these as it is loaded:
// accepted, so that it loads, and reported as without edge coverage (its pc-table never finds
// guards), with the flags that give it.
void __sanitizer_cov_8bit_counters_init(char*, char*) {}
void __sanitizer_cov_bool_flag_init(bool*, bool*) {}

}  // extern "C"
