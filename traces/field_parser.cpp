#include "traces/field_parser.h"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

namespace pprsim {
namespace {

template <typename T>
T parse_number(const LineScanner& at, std::string_view token, std::string_view what) {
  T value{};
  const char* first = token.data();
  const char* last = token.data() + token.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range && ptr == last)
    at.fail(fmt::format("{} {} overflows 64 bits", what, quote_token(token)));
  if (ec != std::errc() || ptr != last)
    at.fail(fmt::format("expected a decimal integer for {}, got {}", what, quote_token(token)));
  return value;
}

}  // namespace

bool is_decimal(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token)
    if (c < '0' || c > '9') return false;
  return true;
}

std::uint64_t parse_unsigned(const LineScanner& at, std::string_view token, std::string_view what) {
  if (token.size() > 1 && token[0] == '-' && is_decimal(token.substr(1)))
    at.fail(fmt::format("expected a non-negative {}, got {}", what, quote_token(token)));
  return parse_number<std::uint64_t>(at, token, what);
}

std::int64_t parse_signed(const LineScanner& at, std::string_view token, std::string_view what) {
  return parse_number<std::int64_t>(at, token, what);
}

}  // namespace pprsim
