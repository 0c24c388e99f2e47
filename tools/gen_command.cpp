// pprsim gen: a seeded random trace (traces/generator.h), streamed to a file or standard output.
#include <fmt/format.h>

#include <charconv>
#include <iostream>
#include <memory>

#include "tools/commands.h"
#include "traces/output_file.h"
#include "traces/generator.h"
#include "traces/trace_writer.h"

namespace pprsim {
namespace {

// The flags that take fractions or means are read as text and parsed to fixed point here, so
// that no floating point ever touches a trace.
struct GenCli {
  GenOptions opt;
  std::string out = "-";
  std::string ppr = "0.5";
  std::string sizes = "power-law";
  std::string large_share = "0";
  std::string cross_free = "0";
  std::string realloc = "0.05";
  std::string calloc = "0.05";
  std::string memalign = "0.02";
  std::string writes = "1";
  std::string reads = "1";
  std::string sharing = "0";
};

// Fills the fixed-point fields of cli.opt; the error names the flag.
std::string parse_flags(GenCli& cli) {
  GenOptions& o = cli.opt;
  std::string error;
  if (cli.ppr.find_first_of(".%") != std::string::npos) {
    o.ppr_is_count = false;
    if (!parse_millionths(cli.ppr, kMillion, o.ppr_share, error)) return "--ppr: " + error;
  } else {
    o.ppr_is_count = true;
    const char* end = cli.ppr.data() + cli.ppr.size();
    const auto [ptr, ec] = std::from_chars(cli.ppr.data(), end, o.ppr_count);
    if (cli.ppr.empty() || ec != std::errc() || ptr != end)
      return fmt::format(
          "--ppr: expected a share such as 0.5 or 50%, or a count of instances, "
          "got '{}'",
          cli.ppr);
  }
  if (cli.sizes == "small")
    o.sizes = SizeDistribution::Small;
  else if (cli.sizes == "power-law")
    o.sizes = SizeDistribution::PowerLaw;
  else
    o.sizes = SizeDistribution::Uniform;
  const std::uint64_t per_allocation = 1000 * kMillion;
  const struct {
    const char* flag;
    const std::string& text;
    std::uint64_t max;
    std::uint64_t& value;
  } fields[] = {
      {"--large-share", cli.large_share, kMillion, o.large_share},
      {"--cross-free", cli.cross_free, kMillion, o.cross_free},
      {"--realloc", cli.realloc, per_allocation, o.realloc},
      {"--calloc", cli.calloc, kMillion, o.calloc},
      {"--memalign", cli.memalign, kMillion, o.memalign},
      {"--writes", cli.writes, per_allocation, o.writes},
      {"--reads", cli.reads, per_allocation, o.reads},
      {"--sharing", cli.sharing, kMillion, o.sharing},
  };
  for (const auto& f : fields) {
    if (!parse_millionths(f.text, f.max, f.value, error))
      return fmt::format("{}: {}", f.flag, error);
  }
  return validate(o);
}

int run_gen(GenCli& cli) {
  if (const std::string error = parse_flags(cli); !error.empty()) {
    fmt::print(stderr, "pprsim: gen: {}\n", error);
    return 2;
  }
  const std::string comment = describe(cli.opt);
  OutputFile file(cli.out);
  if (!file.ok()) {
    fmt::print(stderr, "pprsim: gen: {}\n", file.error());
    return 2;
  }
  // A failing write (a full disk, /dev/full) stops the generator at once; commit() names it.
  file.stream().exceptions(std::ios::badbit);
  try {
    TraceWriter writer(file.stream(), comment);
    generate(cli.opt, writer);
  } catch (const std::ios_base::failure&) {
  }
  if (!file.commit()) {
    fmt::print(stderr, "pprsim: gen: {}\n", file.error());
    return 2;
  }
  return 0;
}

}  // namespace

Command add_gen_command(CLI::App& app) {
  auto cli = std::make_shared<GenCli>();
  GenOptions& o = cli->opt;
  CLI::App* cmd = app.add_subcommand(
      "gen", "Generate a seeded random native trace: the same options give the same bytes");
  cmd->add_option("--seed", o.seed, "Seed")->check(non_negative())->capture_default_str();
  cmd->add_option("--events", o.events, "Operations (a c m r f w u); ppr/end markers come on top")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("-o,--output", cli->out, "Trace to write, - for standard output")
      ->type_name("FILE")
      ->check(non_empty())
      ->capture_default_str();
  cmd->add_option(
         "--ppr", cli->ppr,
         "PPR instances: a share of the operations (0.5, 50%) or a count of instances (12)")
      ->capture_default_str();
  cmd->add_option("--ppr-length", o.ppr_length, "Operations per PPR instance")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--ppr-run", o.ppr_run, "Most PPR instances in a row (then a SEQ stretch)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--sizes", cli->sizes, "Size distribution")
      ->check(CLI::IsMember({"small", "power-law", "uniform"}))
      ->capture_default_str();
  cmd->add_option("--max-size", o.max_size, "Largest size the distribution draws")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--large-share", cli->large_share,
                  "Share of allocations above 256 KiB (up to max(--max-size, 1 MiB))")
      ->capture_default_str();
  cmd->add_option("--lifetime", o.lifetime, "Mean events an object lives")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--cross-free", cli->cross_free,
                  "Share of frees in a PPR instance that free an object of an earlier instance")
      ->capture_default_str();
  cmd->add_option("--realloc", cli->realloc, "Reallocs per allocation")->capture_default_str();
  cmd->add_option("--calloc", cli->calloc, "Share of allocations that are calloc")
      ->capture_default_str();
  cmd->add_option("--memalign", cli->memalign, "Share of allocations that are memalign")
      ->capture_default_str();
  cmd->add_option("--writes", cli->writes, "Program writes (w) per allocation")
      ->capture_default_str();
  cmd->add_option("--reads", cli->reads, "Program reads (u) per allocation")->capture_default_str();
  cmd->add_option("--sharing", cli->sharing,
                  "Share of a PPR instance's writes, reads and reallocs that take an object of an "
                  "earlier instance")
      ->capture_default_str();
  cmd->add_option("--max-live", o.max_live, "Most live objects at any time (bounds the ids too)")
      ->check(non_negative())
      ->capture_default_str();
  return {cmd, [cli] { return run_gen(*cli); }};
}

}  // namespace pprsim
