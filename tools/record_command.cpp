// pprsim record [-o FILE] -- COMMAND [ARGS...]: runs a dynamically linked program under glibc's
// own malloc tracing and writes its allocations as a native trace.
//
// No ptrace and no rebuild: the program runs with LD_PRELOAD of glibc's libc_malloc_debug.so.0
// (the real mtrace()) and of pprsim's tiny preload (tools/record_preload.c, which calls mtrace()
// in a constructor), with MALLOC_TRACE naming a temporary file. When the program has exited,
// the mtrace file is converted (traces/mtrace_reader.cpp) and written atomically.
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gnu/libc-version.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "tools/commands.h"
#include "traces/output_set.h"
#include "traces/temp_files.h"
#include "traces/trace_reader.h"
#include "traces/trace_writer.h"

extern char** environ;

namespace pprsim {
namespace {

constexpr const char* kMallocDebugLib = "libc_malloc_debug.so.0";
constexpr const char* kPreloadLib = "libpprsim_mtrace_preload.so";

struct RecordOptions {
  std::string out;
  std::string keep_mtrace;
  std::vector<std::string> command;
};

// A failure that ends the command with exit status 2; the message is one line.
struct RecordError {
  std::string message;
};

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string directory_of(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

// ---- Finding the program ----

// The file execvp would run for `name`.
std::string resolve_command(const std::string& name) {
  if (name.empty()) throw RecordError{"record: empty command name"};
  auto check = [&](const std::string& path) {
    if (::access(path.c_str(), X_OK) != 0)
      throw RecordError{fmt::format("record: cannot run {}: {}", path, std::strerror(errno))};
    if (!is_file(path)) throw RecordError{fmt::format("record: {} is not a regular file", path)};
    return path;
  };
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), F_OK) != 0)
      throw RecordError{fmt::format("record: command not found: {}", name)};
    return check(name);
  }
  const char* env = std::getenv("PATH");
  std::stringstream dirs(env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string path = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0 && is_file(path)) return path;
  }
  throw RecordError{fmt::format("record: command not found: {} (searched PATH)", name)};
}

// The ELF class and machine of this executable: the traced program must match them, since it
// loads 64-bit libraries built for this machine.
std::pair<unsigned char, std::uint16_t> own_elf_kind() {
  Elf64_Ehdr eh{};
  std::ifstream self("/proc/self/exe", std::ios::binary);
  self.read(reinterpret_cast<char*>(&eh), sizeof eh);
  return {eh.e_ident[EI_CLASS], eh.e_machine};
}

// Throws unless `path` is a dynamically linked ELF program of this machine, or a script whose
// interpreter is one. `shown` names the program in messages.
void check_program(const std::string& path, const std::string& shown, int depth = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordError{fmt::format("record: cannot read {}", path)};
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() >= 2 && magic[0] == '#' && magic[1] == '!') {
    // A script: what matters is its interpreter ("#!/usr/bin/env NAME" looks NAME up in PATH).
    in.seekg(2);
    std::string line;
    std::getline(in, line);
    std::stringstream words(line);
    std::string interpreter, arg;
    words >> interpreter;
    if (interpreter.empty())
      throw RecordError{fmt::format("record: {} has an empty '#!' line", shown)};
    if (depth >= 4)
      throw RecordError{fmt::format("record: {}: too many nested '#!' interpreters", shown)};
    if (std::filesystem::path(interpreter).filename() == "env") {
      while (words >> arg && !arg.empty() && arg[0] == '-') {
      }
      if (!arg.empty()) {
        check_program(resolve_command(arg), fmt::format("{} (the interpreter of {})", arg, shown),
                      depth + 1);
        return;
      }
    }
    check_program(interpreter, fmt::format("{} (the interpreter of {})", interpreter, shown),
                  depth + 1);
    return;
  }
  if (in.gcount() < 4 || std::memcmp(magic, ELFMAG, SELFMAG) != 0)
    throw RecordError{fmt::format("record: {} is neither an ELF program nor a '#!' script", shown)};
  in.seekg(0);
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  const auto [own_class, own_machine] = own_elf_kind();
  if (!in || eh.e_ident[EI_CLASS] != own_class || eh.e_machine != own_machine)
    throw RecordError{fmt::format(
        "record: {} is a {} program for another machine or word size: glibc's tracing library "
        "here ({}) is for this machine's 64-bit programs only",
        shown, eh.e_ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "foreign", kMallocDebugLib)};
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    throw RecordError{fmt::format("record: {}: unreadable ELF program headers", shown)};
  bool has_interpreter = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + std::uint64_t{i} * sizeof ph));
    in.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (!in) throw RecordError{fmt::format("record: {}: truncated ELF program headers", shown)};
    if (ph.p_type == PT_INTERP) has_interpreter = true;
  }
  // A static (or static-pie) program has no PT_INTERP: the dynamic loader never runs, so
  // LD_PRELOAD cannot put the tracing library in front of its malloc.
  if (!has_interpreter)
    throw RecordError{fmt::format(
        "record: {} is statically linked: LD_PRELOAD cannot reach its malloc, so glibc's "
        "tracing cannot record it (record a dynamically linked build of it)",
        shown)};
}

// ---- Finding the libraries ----

std::string find_malloc_debug() {
  if (const char* env = std::getenv("PPRSIM_MALLOC_DEBUG_LIB"); env != nullptr) {
    if (is_file(env)) return env;
    throw RecordError{fmt::format(
        "record: glibc's malloc tracing library is missing: PPRSIM_MALLOC_DEBUG_LIB names {}, "
        "which does not exist",
        env)};
  }
  std::vector<std::string> candidates;
  // Best: beside the libc this process runs with, which is the same glibc release (the library
  // uses glibc's private interfaces, so it must match).
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&gnu_get_libc_version), &info) != 0 &&
      info.dli_fname != nullptr)
    candidates.push_back(directory_of(info.dli_fname) + "/" + kMallocDebugLib);
  for (const char* dir : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                          "/usr/lib64", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"})
    candidates.push_back(std::string(dir) + "/" + kMallocDebugLib);
  for (const std::string& c : candidates)
    if (is_file(c)) return c;
  // Last: what the dynamic loader's cache knows ("libc_malloc_debug.so.0 (libc6,x86-64) => PATH").
  for (const char* ldconfig : {"/sbin/ldconfig", "/usr/sbin/ldconfig"}) {
    if (!is_file(ldconfig)) continue;
    std::unique_ptr<FILE, int (*)(FILE*)> p(
        ::popen((std::string(ldconfig) + " -p 2>/dev/null").c_str(), "r"), ::pclose);
    if (!p) continue;
    char buf[1024];
    std::string fallback;
    while (std::fgets(buf, sizeof buf, p.get()) != nullptr) {
      std::string line(buf);
      if (line.find(std::string(kMallocDebugLib) + " (") == std::string::npos) continue;
      const std::size_t arrow = line.find("=> ");
      if (arrow == std::string::npos) continue;
      std::string path = line.substr(arrow + 3);
      while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
      if (!is_file(path)) continue;
      if (line.find("64") != std::string::npos) return path;  // the 64-bit entry
      if (fallback.empty()) fallback = path;
    }
    if (!fallback.empty()) return fallback;
  }
  throw RecordError{fmt::format(
      "record: glibc's malloc tracing library {} is missing (glibc 2.34 or later has it; on "
      "Debian it is in libc6; looked beside libc and in the ldconfig cache)",
      kMallocDebugLib)};
}

std::string find_preload() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PPRSIM_MTRACE_PRELOAD"); env != nullptr)
    candidates.emplace_back(env);
#ifdef PPRSIM_MTRACE_PRELOAD
  candidates.emplace_back(PPRSIM_MTRACE_PRELOAD);
#endif
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(self.parent_path().string() + "/" + kPreloadLib);
  for (const std::string& c : candidates)
    if (is_file(c)) return c;
  throw RecordError{fmt::format("record: pprsim's preload library {} is missing (looked in: {})",
                                kPreloadLib, fmt::join(candidates, ", "))};
}

// ---- Running the program ----

struct ChildResult {
  bool exited = false;
  int code = 0;    // exit status when exited
  int signal = 0;  // terminating signal otherwise
};

std::string describe_status(const std::string& name, const ChildResult& r) {
  if (r.exited) return fmt::format("{} exited with status {}", name, r.code);
  return fmt::format("{} was killed by signal {} ({})", name, r.signal, ::strsignal(r.signal));
}

// Runs the program with the tracing libraries preloaded (`debug_lib` first: its malloc and
// mtrace() must come before libc's) and waits for it.
ChildResult run_traced(const std::string& path, const std::vector<std::string>& command,
                       const std::string& debug_lib, const std::string& preload,
                       const std::string& trace_path) {
  // Everything the child needs is built before the fork.
  std::vector<std::string> env_strings;
  std::string ld_preload = fmt::format("LD_PRELOAD={}:{}", debug_lib, preload);
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("LD_PRELOAD=")) {
      if (v.size() > 11) ld_preload += fmt::format(":{}", v.substr(11));
    } else if (!v.starts_with("MALLOC_TRACE=") && !v.starts_with("PPRSIM_RECORD_PARENT=")) {
      env_strings.emplace_back(v);
    }
  }
  env_strings.push_back(ld_preload);
  env_strings.push_back("MALLOC_TRACE=" + trace_path);
  env_strings.push_back(fmt::format("PPRSIM_RECORD_PARENT={}", ::getpid()));
  std::vector<char*> envp, argv;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  int report[2];  // the child writes errno here when exec fails
  if (::pipe2(report, O_CLOEXEC) != 0)
    throw RecordError{fmt::format("record: pipe: {}", std::strerror(errno))};
  // Like system(): while the program runs, an interrupt from the terminal is for it.
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  ::sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  std::fflush(nullptr);
  // SIGTERM and SIGHUP wait until the program's pid is known to the handler that passes them on.
  std::optional<CleanupSignalsBlocked> blocked;
  blocked.emplace();
  const pid_t pid = ::fork();
  if (pid == 0) {
    blocked.reset();
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    ::close(report[0]);
    ::execve(path.c_str(), argv.data(), envp.data());
    const int err = errno;
    (void)!::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  const int fork_errno = errno;
  if (pid > 0) set_signal_forward_pid(pid);  // SIGTERM or SIGHUP for pprsim ends the program too
  blocked.reset();
  ::close(report[1]);
  ChildResult result;
  int exec_errno = 0;
  if (pid > 0) {
    ssize_t got;
    do {
      got = ::read(report[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(sizeof exec_errno)) exec_errno = 0;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    set_signal_forward_pid(0);
    result.exited = WIFEXITED(status);
    result.code = result.exited ? WEXITSTATUS(status) : 0;
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  ::close(report[0]);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  if (pid < 0) throw RecordError{fmt::format("record: fork: {}", std::strerror(fork_errno))};
  if (exec_errno != 0)
    throw RecordError{fmt::format("record: cannot run {}: {}", path, std::strerror(exec_errno))};
  return result;
}

// A temporary file for glibc to write the mtrace output to; removed unless kept.
class TempTrace {
 public:
  TempTrace() {
    const char* dir = std::getenv("TMPDIR");
    std::string templ =
        std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/pprsim-record-XXXXXX.mtrace";
    CleanupSignalsBlocked blocked;  // made and registered for removal on a signal in one step
    const int fd = ::mkstemps(templ.data(), 7);
    if (fd < 0)
      throw RecordError{fmt::format("record: cannot create a temporary file in {}: {}",
                                    directory_of(templ), std::strerror(errno))};
    ::close(fd);
    path_ = templ;
    guard_ = TempFileGuard(path_);
  }
  ~TempTrace() {
    if (!keep_) std::remove(path_.c_str());
    guard_.release();
  }
  TempTrace(const TempTrace&) = delete;
  TempTrace& operator=(const TempTrace&) = delete;
  const std::string& path() const { return path_; }
  void keep() {
    keep_ = true;
    guard_.release();
  }

 private:
  std::string path_;
  bool keep_ = false;
  TempFileGuard guard_;
};

// What a process killed in the middle of its trace leaves at the end of it, dropped so that the
// rest converts: a cut last line, and the first line of a realloc whose second line never came.
struct CutEnd {
  bool cut_line = false;
  bool open_realloc = false;
};

// Whether `line` is the first line of a realloc: ends with "< 0x..." (or "< (nil)").
bool is_realloc_start(std::string_view line) {
  const std::size_t lt = line.rfind("< ");
  if (lt == std::string_view::npos || (lt > 0 && line[lt - 1] != ' ')) return false;
  const std::string_view addr = line.substr(lt + 2);
  if (addr == "(nil)") return true;
  return addr.size() > 2 && addr.substr(0, 2) == "0x" &&
         addr.find_first_not_of("0123456789abcdef", 2) == std::string_view::npos;
}

CutEnd drop_cut_end(const std::string& path) {
  CutEnd result;
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return result;
  // Lines are at most a few KiB: the last 64 KiB hold the last two whole lines.
  const std::uintmax_t tail_bytes = std::min<std::uintmax_t>(size, 64 << 10);
  std::string tail(static_cast<std::size_t>(tail_bytes), '\0');
  {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(size - tail_bytes));
    in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
    if (!in) return result;
  }
  std::size_t keep = tail.size();  // bytes of the tail to keep
  if (tail.back() != '\n') {
    const std::size_t nl = tail.rfind('\n');
    keep = nl == std::string::npos ? 0 : nl + 1;
    result.cut_line = true;
  }
  if (keep > 0) {
    const std::size_t prev = keep >= 2 ? tail.rfind('\n', keep - 2) : std::string::npos;
    const std::size_t begin = prev == std::string::npos ? 0 : prev + 1;
    std::string_view last(tail.data() + begin, keep - 1 - begin);
    if (!last.empty() && last.back() == '\r') last.remove_suffix(1);
    if (is_realloc_start(last)) {
      keep = begin;
      result.open_realloc = true;
    }
  }
  if (result.cut_line || result.open_realloc)
    std::filesystem::resize_file(path, size - tail_bytes + keep, ec);
  return result;
}

std::string shell_words(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) {
    if (!s.empty()) s += ' ';
    const bool plain = !w.empty() && w.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      s += w;
    } else {
      s += '\'';
      for (const char c : w) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
      s += '\'';
    }
  }
  return s;
}

int run_record(const RecordOptions& opt) {
  const std::string& name = opt.command.front();
  const std::string out =
      !opt.out.empty() ? opt.out : std::filesystem::path(name).filename().string() + ".trace";
  const std::string path = resolve_command(name);
  check_program(path, name);
  const std::string debug_lib = find_malloc_debug();
  const std::string preload = find_preload();
  for (const std::string* lib : {&debug_lib, &preload}) {
    if (lib->find_first_of(": \t") != std::string::npos)
      throw RecordError{fmt::format(
          "record: {} has a ':' or a blank in its path, which LD_PRELOAD cannot carry", *lib)};
  }

  // The outputs are opened before the program runs: one that names the program, or cannot be
  // written, is refused before anything happens.
  OutputSet outputs({path});
  OutputFile* const trace_out = outputs.add("-o", out);
  OutputFile* const keep = outputs.add("--keep-mtrace", opt.keep_mtrace);
  if (!outputs.ok()) throw RecordError{"record: " + outputs.error()};
  OutputFile& file = *trace_out;

  TempTrace temp;
  const ChildResult child = run_traced(path, opt.command, debug_lib, preload, temp.path());
  const std::string status = describe_status(name, child);

  struct stat st {};
  if (::stat(temp.path().c_str(), &st) != 0 || st.st_size == 0)
    throw RecordError{fmt::format(
        "record: {} left no allocation trace ({}): it never started glibc's tracing (a setuid "
        "program, one not linked with glibc, or one that clears its environment?)",
        name, status)};
  const CutEnd cut = drop_cut_end(temp.path());

  std::string mtrace_path = temp.path();
  if (!opt.keep_mtrace.empty()) {
    std::ifstream raw(temp.path(), std::ios::binary);
    if (raw.peek() != std::ifstream::traits_type::eof()) keep->stream() << raw.rdbuf();
    if (!raw || !keep->commit())
      throw RecordError{"record: --keep-mtrace: " + (keep->ok() ? "cannot read " + temp.path()
                                                                 : keep->error())};
    mtrace_path = opt.keep_mtrace;
  }

  std::ifstream in(temp.path(), std::ios::binary);
  std::uint64_t events = 0, objects = 0, warnings = 0;
  std::vector<std::string> samples;
  try {
    auto reader = read_mtrace(in, mtrace_path);
    file.stream().exceptions(std::ios::badbit);  // a failing write stops; commit() names it
    TraceWriter writer(file.stream(),
                       fmt::format("recorded by pprsim record (glibc mtrace): {}\n{}",
                                   shell_words(opt.command), status));
    Event ev;
    while (reader->next(ev)) {
      writer.write(ev);
      ++events;
      if (ev.op == Op::Malloc || ev.op == Op::Calloc || ev.op == Op::Memalign) ++objects;
    }
    if (!file.commit()) throw RecordError{"record: " + file.error()};
    warnings = reader->warnings();
    samples = reader->warning_samples();
  } catch (const std::ios_base::failure&) {
    file.commit();
    throw RecordError{"record: " + file.error()};
  } catch (const TraceError& e) {
    if (mtrace_path == temp.path()) temp.keep();
    throw RecordError{
        fmt::format("{} (the raw mtrace output is kept at {})", e.what(), mtrace_path)};
  }

  if (!child.exited || child.code != 0)
    fmt::print(stderr, "pprsim: note: {}; the trace is written all the same\n", status);
  if (cut.cut_line || cut.open_realloc)
    fmt::print(stderr,
               "pprsim: note: the mtrace output ends where {} stopped writing it: {} dropped\n",
               name,
               cut.cut_line && cut.open_realloc ? "a cut line and an unfinished realloc"
               : cut.cut_line                   ? "a cut line"
                                                : "an unfinished realloc");
  if (warnings > 0) {
    fmt::print(stderr, "pprsim: note: {} warning{}, such as: {}\n", warnings,
               warnings == 1 ? "" : "s", samples.front());
  }
  fmt::print("recorded {}: {} events, {} objects, {} warnings -> {}\n", name, events, objects,
             warnings, out);
  return 0;
}

}  // namespace

Command add_record_command(CLI::App& app) {
  auto opt = std::make_shared<RecordOptions>();
  CLI::App* cmd = app.add_subcommand(
      "record",
      "Run a dynamically linked program under glibc's malloc tracing and write its allocations "
      "as a native trace");
  cmd->add_option("-o,--output", opt->out,
                  "Trace to write (default: COMMAND.trace in the current directory)")
      ->type_name("FILE")
      ->check(non_empty());
  cmd->add_option("--keep-mtrace", opt->keep_mtrace, "Also keep glibc's raw mtrace output in FILE")
      ->type_name("FILE")
      ->check(non_empty());
  cmd->add_option("COMMAND", opt->command, "The program to run and its arguments")
      ->required()
      ->type_name("");
  cmd->footer(
      "Put -- before COMMAND when it has options of its own:\n"
      "  pprsim record -o py.trace -- python3 -c 'print(1)'");
  return {cmd, [opt] {
            try {
              return run_record(*opt);
            } catch (const RecordError& e) {
              fmt::print(stderr, "pprsim: {}\n", e.message);
              return 2;
            }
          }};
}

}  // namespace pprsim
