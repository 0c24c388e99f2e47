// pprsim convert IN OUT: any supported trace (native, CS:APP .rep, glibc mtrace) to the native
// format, written atomically: on bad input nothing is left at OUT.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "tools/commands.h"
#include "traces/output_file.h"
#include "traces/trace_reader.h"
#include "traces/trace_writer.h"

namespace pprsim {
namespace {

struct ConvertOptions {
  std::string in;
  std::string out;
};

void print_warnings(const TraceReader& reader) {
  if (reader.warnings() == 0) return;
  for (const std::string& w : reader.warning_samples())
    fmt::print(stderr, "pprsim: warning: {}\n", w);
  if (reader.warnings() > reader.warning_samples().size())
    fmt::print(stderr, "pprsim: warning: ... {} warnings in all\n", reader.warnings());
}

int run_convert(const ConvertOptions& opt) {
  // OUT is checked first: naming the input itself, or something unwritable, touches nothing.
  OutputFile file(opt.out, {opt.in});
  if (!file.ok()) {
    fmt::print(stderr, "pprsim: {}\n", file.error());
    return 2;
  }
  std::unique_ptr<TraceReader> reader;
  try {
    reader = open_trace(opt.in);
  } catch (const TraceError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  // A native trace converts to its canonical form (so converting it again gives the same
  // bytes); others say where they came from.
  std::string comment;
  if (reader->format() != TraceFormat::Native) {
    comment = fmt::format("converted by pprsim convert from the {} trace {}",
                          format_name(reader->format()),
                          std::filesystem::path(opt.in).filename().string());
    if (reader->announced_operations() != 0)
      comment +=
          fmt::format(" (its header announces {} operations)", reader->announced_operations());
  }
  std::uint64_t events = 0;
  file.stream().exceptions(std::ios::badbit);  // a failing write stops here; commit() names it
  try {
    TraceWriter writer(file.stream(), comment);
    Event ev;
    while (reader->next(ev)) {
      writer.write(ev);
      ++events;
    }
  } catch (const TraceError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;  // `file` removes what was written
  } catch (const std::ios_base::failure&) {
  }
  if (!file.commit()) {
    fmt::print(stderr, "pprsim: {}\n", file.error());
    return 2;
  }
  print_warnings(*reader);
  fmt::print("{} ({}): {} events written to {} ({} warnings)\n", opt.in,
             format_name(reader->format()), events, opt.out, reader->warnings());
  return 0;
}

}  // namespace

Command add_convert_command(CLI::App& app) {
  auto opt = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert a trace (native, CS:APP .rep, glibc mtrace) to the native format");
  cmd->add_option("IN", opt->in, "Trace to read; its format is recognised from its content")
      ->required()
      ->check(non_empty());
  cmd->add_option("OUT", opt->out, "Native trace to write (replaced only when complete)")
      ->required()
      ->check(non_empty());
  return {cmd, [opt] { return run_convert(*opt); }};
}

}  // namespace pprsim
