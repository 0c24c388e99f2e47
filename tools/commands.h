// The subcommands of pprsim: their options and what each runs.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace pprsim {

struct ReplayOptions {
  std::vector<std::string> traces;
  std::string alloc = "dmmalloc";
  int group_size = 1;
  std::uint64_t ppr_every = 0;
  std::uint64_t seed = 1;
  std::string json;
  std::string understudy = "auto";
  CLI::App* command = nullptr;
};

void add_replay_command(CLI::App& app, ReplayOptions& opt);

// Runs whichever subcommand was parsed; returns the exit status.
int run_selected(CLI::App& app, const ReplayOptions& replay);

int run_replay(const ReplayOptions& opt);

}  // namespace pprsim
