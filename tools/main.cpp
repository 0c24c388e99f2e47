// pprsim: the command line. It only wires the parts together (DESIGN.md section 5).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <vector>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"pprsim: a deterministic simulator and verification harness for PPR task memory allocators"};
  app.require_subcommand(1);
  const std::vector<pprsim::Command> commands{
      pprsim::add_replay_command(app),
      pprsim::add_convert_command(app),
      pprsim::add_gen_command(app),
      pprsim::add_record_command(app),
      pprsim::add_fuzz_command(app),
      pprsim::add_selftest_command(app),
      pprsim::add_report_command(app),
      pprsim::add_bench_command(app),
      pprsim::add_bench_child_command(app),
  };
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
  for (const pprsim::Command& c : commands) {
    if (c.parsed_by->parsed()) return c.run();
  }
  return 2;
}
