// The subcommands of pprsim. Each add_*_command registers its options on the app and returns
// what to run when it is the one parsed; the function returns the exit status
// (0 checks held, 1 a check failed, 2 bad usage or input).
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>

namespace pprsim {

// Numeric options are exact or refused: the whole text must be a number of the option's type
// within [lo, hi]. Empty text, a sign where the type has none, anything out of the type's range
// (never clamped, never wrapped), NaN and infinities are errors; CLI11 reports them as
// "OPTION: ..." and pprsim exits with status 2.
template <typename T>
inline std::string check_number(const std::string& text, T lo, T hi) {
  if (text.empty()) return "expected a number, got an empty value";
  T value{};
  const char* end = text.data() + text.size();
  std::from_chars_result r{};
  if constexpr (std::is_floating_point_v<T>) {
    r = std::from_chars(text.data(), end, value, std::chars_format::fixed);
    if (r.ec == std::errc() && r.ptr == end && !std::isfinite(value)) r.ec = std::errc::invalid_argument;
  } else {
    if (std::is_unsigned_v<T> && text[0] == '-') return "must not be negative, got " + text;
    r = std::from_chars(text.data(), end, value);
  }
  if (r.ec == std::errc::result_out_of_range)
    return fmt::format("{} is out of range ({} to {})", text, lo, hi);
  if (r.ec != std::errc() || r.ptr != end)
    return fmt::format("expected {}, got '{}'",
                       std::is_floating_point_v<T> ? "a finite decimal number"
                       : std::is_unsigned_v<T>     ? "a non-negative integer"
                                                   : "an integer",
                       text);
  if (value < lo || value > hi) return fmt::format("{} is out of range ({} to {})", text, lo, hi);
  return "";
}

inline constexpr const char* kExactNumber = "exact-number";

// The validator of every numeric option. Besides checking, it rewrites an accepted value in
// its plain decimal form, because CLI11's own conversion, which runs afterwards, reads a leading
// 0 as octal and 0x as hexadecimal: "010" is ten, whatever CLI11 would make of it. (check()
// makes a validator read-only; decimal_numbers() below lets these rewrite.)
template <typename T>
inline CLI::Validator exact_number(T lo = std::numeric_limits<T>::lowest(),
                                   T hi = std::numeric_limits<T>::max()) {
  return CLI::Validator(
      [lo, hi](std::string& v) {
        std::string error = check_number<T>(v, lo, hi);
        if (error.empty()) {
          T value{};
          if constexpr (std::is_floating_point_v<T>)
            std::from_chars(v.data(), v.data() + v.size(), value, std::chars_format::fixed);
          else
            std::from_chars(v.data(), v.data() + v.size(), value);
          v = fmt::format("{}", value);
        }
        return error;
      },
                        std::is_floating_point_v<T> ? "NUMBER"
                        : std::is_unsigned_v<T>     ? "UINT"
                                                    : "INT")
      .name(kExactNumber);
}

// The one number rule, for every command at once: each exact_number validator of `app` and of
// its subcommands may rewrite its value in decimal. Called once every command is registered.
inline void decimal_numbers(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) decimal_numbers(*sub);
  for (CLI::Option* opt : app.get_options()) {
    try {
      opt->get_validator(kExactNumber)->non_modifying(false);
    } catch (const CLI::OptionNotFound&) {
      // not a number option
    }
  }
}

// Unsigned 64-bit options (seeds, counts, sizes).
inline CLI::Validator non_negative() { return exact_number<std::uint64_t>(); }

// File names: an empty one is an error, not "no file".
inline CLI::Validator non_empty() {
  return CLI::Validator(
      [](std::string& v) { return v.empty() ? std::string("expected a file name, got an empty value") : std::string(); },
      "");
}

struct Command {
  CLI::App* parsed_by;       // the subcommand's parser
  std::function<int()> run;  // runs it, returns the exit status
};

Command add_replay_command(CLI::App& app);
Command add_convert_command(CLI::App& app);
Command add_gen_command(CLI::App& app);
Command add_record_command(CLI::App& app);
Command add_fuzz_command(CLI::App& app);
Command add_selftest_command(CLI::App& app);
Command add_report_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_bench_child_command(CLI::App& app);
Command add_shrink_command(CLI::App& app);

}  // namespace pprsim
