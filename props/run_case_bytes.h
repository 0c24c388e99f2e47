// Run cases as bytes, for coverage-guided fuzzers (props/fuzz/run_case_fuzz.cpp): every byte
// string decodes to a valid run case, and every generated case encodes to bytes that decode back
// to it (so the generator's cases seed the fuzzer's corpus).
//
// Layout (missing bytes read as 0, so short inputs are small cases):
//   header: group size (1 + (b + 1) % 8: a zero byte is 2), seed (1 + u16 % 1000), understudy
//     (b % 3), a fault mask (bit k: fault kind k, in the order task-abort, oom, fork-fail,
//     understudy-win, pressure), then for each kind in the mask a probability, u24 % (1/3 + 1) ppm;
//   then records: a head byte (bits 0-2 the kind: malloc, calloc, memalign, realloc, free,
//     write, use, or 7: the next PPR instance begins; bits 3-5 pick one of five size ranges,
//     small ones more often), then three base-128 varints (at most 4 bytes each): the size's
//     offset in its range, pick (which live object), aux (calloc count, alignment, offset).
// Records before the first instance are the sequential prologue; after the last instance every
// live object is freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "props/run_case.h"

namespace pprsim {

RunCase run_case_from_bytes(const std::uint8_t* data, std::size_t size);

// The bytes of a case that assemble_run_case made (as the generator does); run_case_from_bytes
// gives the case back. Throws std::invalid_argument for a case it cannot express.
std::string run_case_to_bytes(const RunCase& c);

}  // namespace pprsim
