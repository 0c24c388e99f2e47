// Parsing of the numeric fields of a trace line, with error messages that name the field.
#pragma once

#include <cstdint>
#include <string_view>

#include "traces/line_scanner.h"

namespace pprsim {

// A non-negative decimal integer that fits in 64 bits; `what` names the field ("SIZE").
// Errors are reported at the scanner's current line.
std::uint64_t parse_unsigned(const LineScanner& at, std::string_view token, std::string_view what);

// A decimal integer that fits in a signed 64-bit value (ranges are the validator's job).
std::int64_t parse_signed(const LineScanner& at, std::string_view token, std::string_view what);

// Whether `token` is a non-empty run of decimal digits.
bool is_decimal(std::string_view token);

}  // namespace pprsim
