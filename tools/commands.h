// The subcommands of pprsim. Each add_*_command registers its options on the app and returns
// what to run when it is the one parsed; the function returns the exit status
// (0 checks held, 1 a check failed, 2 bad usage or input).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace pprsim {

// Unsigned options: CLI11 would wrap "-1" around to 2^64 - 1; refuse it instead.
inline CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        return v.find('-') == std::string::npos ? std::string() : "must be a non-negative integer, not " + v;
      },
      "UINT");
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

}  // namespace pprsim
