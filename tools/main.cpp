// pprsim: the command line. One subcommand per file (docs/DESIGN.md section 5).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include <poll.h>
#include <unistd.h>

#include <csignal>

#include "sim/host_malloc.h"
#include "tools/provenance.h"
#include "tools/commands.h"
#include "tools/suggestions.h"
#include "traces/output_file.h"
#include "traces/temp_files.h"

namespace {

int g_stdout_errno = 0;  // the reason of the first failed write to standard output

// std::cout through C's stdout: one buffer and one order for both, no flush at every
// std::endl, and the reason of a failed write kept for finish().
class StdoutBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    const char c = traits_type::to_char_type(ch);
    return xsputn(&c, 1) == 1 ? ch : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    errno = 0;
    const std::size_t done = std::fwrite(s, 1, static_cast<std::size_t>(n), stdout);
    if (done != static_cast<std::size_t>(n) && g_stdout_errno == 0) g_stdout_errno = errno;
    return static_cast<std::streamsize>(done);
  }
  int sync() override { return 0; }  // flushed by finish(), or when stdout's buffer is full
};

// The status of a command whose standard output was closed by its reader (`| head`): that of a
// process ended by SIGPIPE, as the shell would report it. Its files are written all the same.
constexpr int kBrokenPipeStatus = 128 + SIGPIPE;

// Whether standard output is a pipe whose reading end is closed.
bool stdout_reader_gone() {
  struct pollfd p {STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

// SIGPIPE is caught, and does nothing, so that a write to a closed pipe fails with EPIPE
// instead of ending pprsim with its files half written. Caught, not ignored: a program that
// pprsim starts gets the default disposition back at exec.
extern "C" void on_broken_pipe(int) {}

void catch_broken_pipe() {
  struct sigaction sa {};
  sa.sa_handler = on_broken_pipe;
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGPIPE, &sa, nullptr);
}

// What a command printed must have reached standard output: lost output (a full disk,
// `> /dev/full`) is exit status 2 with one line, never a success. A reader that closed the
// pipe early is the status of a broken pipe, without a message.
int finish(int status) {
  std::cout.flush();
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = g_stdout_errno != 0 ? g_stdout_errno : errno;
  const bool lost = !flushed || std::ferror(stdout) || !std::cout.good();
  if (pprsim::standard_output_closed() || (lost && (err == EPIPE || stdout_reader_gone())))
    return kBrokenPipeStatus;
  if (!lost) return status;
  if (err != 0)
    std::fprintf(stderr, "pprsim: cannot write standard output: %s\n", std::strerror(err));
  else
    std::fprintf(stderr, "pprsim: cannot write standard output\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  catch_broken_pipe();
  pprsim::set_command_line(argc, argv);
  // Not to a terminal, standard output is written in large blocks, so that the first failing
  // write is usually the final flush, whose error finish() can name.
  static char stdout_buffer[1 << 16];
  if (::isatty(STDOUT_FILENO) == 0) std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
  // Never destroyed: std::cout is flushed by the library after every static object is gone, and a
  // destroyed buffer there crashed at exit (seen under AddressSanitizer).
  static StdoutBuffer* const cout_buffer = new StdoutBuffer;
  std::cout.rdbuf(cout_buffer);
  CLI::App app{"pprsim: a deterministic simulator and verification harness for PPR task memory allocators"};
  app.set_version_flag("--version", std::string("pprsim ") + PPRSIM_VERSION, "Print the version and exit");
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
      pprsim::add_shrink_command(app),
  };
  pprsim::decimal_numbers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return finish(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return finish(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    return finish(app.exit(e));
  } catch (const CLI::ParseError& e) {
    // A misspelt command or option is named, with the nearest known one; CLI11's own message
    // for it ("A subcommand is required", "arguments were not expected") would not say which.
    if (const std::string unknown = pprsim::unknown_name_message(app, argc, argv); !unknown.empty()) {
      fmt::print(stderr, "pprsim: {}\n", unknown);
      return 2;
    }
    fmt::print(stderr, "pprsim: {}\nRun with --help for usage.\n", e.what());
    return 2;
  }
  pprsim::install_signal_cleanup();
  // The native measurements of `pprsim bench` run in bench-child processes, glibc among the
  // allocators they measure: there the host malloc keeps its defaults.
  if (!app.got_subcommand("bench-child")) pprsim::keep_host_memory();
  for (const pprsim::Command& c : commands) {
    if (c.parsed_by->parsed()) return finish(c.run());
  }
  return 2;
}
