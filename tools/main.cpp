// pprsim: the command line. It only wires the parts together (DESIGN.md section 5).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"pprsim: a deterministic simulator and verification harness for PPR task memory allocators"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  pprsim::ReplayOptions replay;
  pprsim::add_replay_command(app, replay);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "pprsim: {}\nRun with --help for usage.\n", e.what());
    return 2;
  }
  return pprsim::run_selected(app, replay);
}
