// The native engine (docs/DESIGN.md section 3.11): the allocator under test runs as native code
// in worker processes (sim/native_worker.h), one per process of the run, forked as the run
// forks; each call's access log comes back and is replayed into the process's Process record,
// which therefore mirrors the worker: the same heap bytes at the same addresses, the same reads
// and writes in a task's access log. The commit check, the oracle and the reports read those
// records as they read the simulator's. At a commit the committed tasks' writes (and the regions
// they obtained or released) go to MAIN's worker too, in task order, before the port's merge.
//
// `--alloc native:LIBRARY.so` names an allocator built with its port (native/engine/
// pprsim_port.h) and the recording flags, `native:SOURCES,port=PORT.c` one pprsim builds; a
// `variant=NAME` item anywhere in either is handed to the port at init (pprsim_native_variant),
// one build serving several configurations (the selftest's mutants of dmmalloc), and names the
// allocator native:PORTNAME/NAME.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sim/engine.h"

namespace pprsim {

inline constexpr std::string_view kNativePrefix = "native:";

// Why `--alloc native:SPEC` cannot be used, as one line; "" when it can.
std::string native_spec_error(std::string_view spec);

// An engine whose MAIN runs the native allocator `spec` (after kNativePrefix), with MAIN's
// system memory limited to `memory_limit` bytes and `slice_bytes` per task (0: 1 GiB,
// wire::kNativeSliceBytes). Throws
// std::runtime_error when the worker cannot start or the library has no usable port.
std::unique_ptr<Engine> make_native_engine(std::string_view spec, std::uint64_t memory_limit, std::uint64_t slice_bytes);

}  // namespace pprsim
