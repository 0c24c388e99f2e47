// Run cases as bytes, for coverage-guided fuzzers (props/fuzz/run_case_fuzz.cpp): every byte
// string decodes to a valid run case, and every generated case encodes to bytes that decode back
// to it (so the generator's cases seed the fuzzer's corpus).
//
// Layout (missing bytes read as 0):
//   header, 20 bytes: group size (1 + b % 8), seed (1 + u16 % 1000), understudy (b % 3), then
//     per fault kind (task-abort, oom, fork-fail, understudy-win) 4 bytes: off unless the first
//     byte % 4 is 0, else a probability of u24 % (1/3 + 1) parts per million;
//   then records of 9 bytes: kind (b % 8: malloc, calloc, memalign, realloc, free, write, use,
//     or 7: the next PPR instance begins), size class (b % 8 picks one of five ranges, small
//     ones more often) and u24 offset in it, pick (u16: which live object), aux (u24).
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
