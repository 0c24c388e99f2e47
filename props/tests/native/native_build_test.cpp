// The build pipeline of `--alloc native:SPEC` (native/engine/): the spec's forms, the pinned
// compiler and flags, the renaming of memory calls to pprsim's shims, the allow-list, the
// first compiler error, and the content-keyed cache, alone and under two builders at once.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "native/engine/native_build.h"
#include "native/engine/native_build_error.h"
#include "native/engine/native_spec.h"
#include "native/engine/pinned_compiler.h"
#include "native/engine/subprocess.h"
#include "native/engine/symbol_rules.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(PPRSIM_SOURCE_DIR) / "props/tests/native/fixtures/pipeline";

std::string fixture(const std::string& name) { return (kFixtures / name).string(); }

// A fresh folder, removed with what it holds at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "pprsim-nbtest-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

bool clang_present() {
  TempDir d;
  const char* env = std::getenv("PPRSIM_CLANG");
  return run_process({env != nullptr && *env != '\0' ? env : "clang", "--version"}, d.path).status == 0;
}

#define SKIP_WITHOUT_CLANG() \
  if (!clang_present()) GTEST_SKIP() << "clang is not installed (apt-get install clang) or PPRSIM_CLANG is wrong"

// The error a spec gives, or "" when it parses.
std::string spec_error(const std::string& spec, const fs::path& bop = {}) {
  try {
    parse_native_spec(spec, bop);
  } catch (const NativeBuildError& e) {
    EXPECT_EQ(e.kind(), NativeBuildError::Kind::Spec);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
    return e.what();
  }
  return "";
}

// The symbols a shared object leaves undefined, without their version suffixes.
std::set<std::string> undefined_symbols(const fs::path& so) {
  TempDir d;
  const ProcessResult r = run_process({"nm", "-u", "-P", so.string()}, d.path);
  EXPECT_EQ(r.status, 0) << r.err;
  std::set<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find(' '));
    out.insert(name.substr(0, name.find('@')));
  }
  return out;
}

NativeBuildResult build(const std::string& spec, const fs::path& cache) {
  return build_native(parse_native_spec(spec, {}), NativeBuildOptions{cache});
}

// The build error of a spec, which must fail.
NativeBuildError build_error(const std::string& spec, const fs::path& cache) {
  try {
    build(spec, cache);
  } catch (const NativeBuildError& e) {
    return e;
  }
  ADD_FAILURE() << spec << " built";
  return NativeBuildError(NativeBuildError::Kind::Io, "");
}

// The cache's entries: folders named by a 64-digit key.
std::size_t cache_entries(const fs::path& cache) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache, ec))
    if (e.is_directory() && e.path().filename().string().size() == 64) ++n;
  return n;
}

const std::string kTiny = fixture("tiny_alloc.c") + ",port=" + fixture("tiny_port.c");

TEST(NativeBuildSpec, ReadsInputsInOrderAndThePort) {
  const NativeSpec s = parse_native_spec(fixture("tiny_alloc.c") + "," + fixture("copying.c") + ",port=" + fixture("tiny_port.c"), {});
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].path, fixture("tiny_alloc.c"));
  EXPECT_EQ(s.inputs[0].kind, NativeInput::Kind::CSource);
  EXPECT_EQ(s.inputs[1].path, fixture("copying.c"));
  EXPECT_EQ(s.port, fixture("tiny_port.c"));
  EXPECT_FALSE(s.port_is_bop);
}

TEST(NativeBuildSpec, KnowsEachKindOfInputByItsEnding) {
  TempDir d;
  for (const char* name : {"a.cc", "b.cpp", "c.o", "d.a"}) std::ofstream(d.path / name) << "x";
  const auto p = [&](const char* name) { return (d.path / name).string(); };
  const NativeSpec s = parse_native_spec(fmt::format("{},{},{},{},port={}", p("a.cc"), p("b.cpp"), p("c.o"), p("d.a"),
                                                     fixture("tiny_port.c")), {});
  ASSERT_EQ(s.inputs.size(), 4u);
  EXPECT_EQ(s.inputs[0].kind, NativeInput::Kind::CxxSource);
  EXPECT_EQ(s.inputs[1].kind, NativeInput::Kind::CxxSource);
  EXPECT_EQ(s.inputs[2].kind, NativeInput::Kind::Object);
  EXPECT_EQ(s.inputs[3].kind, NativeInput::Kind::Archive);
}

TEST(NativeBuildSpec, PortBopIsTheShippedPortTheCallerNames) {
  const NativeSpec s = parse_native_spec(fixture("tiny_alloc.c") + ",port=bop", fixture("tiny_port.c"));
  EXPECT_TRUE(s.port_is_bop);
  EXPECT_EQ(s.port, fixture("tiny_port.c"));
  EXPECT_NE(spec_error(fixture("tiny_alloc.c") + ",port=bop").find("ships no BOP port"), std::string::npos);
}

TEST(NativeBuildSpec, EachBadFormIsOneLineSayingWhatWasExpected) {
  const std::string a = fixture("tiny_alloc.c"), port = "port=" + fixture("tiny_port.c");
  EXPECT_NE(spec_error("").find("the spec is empty"), std::string::npos);
  EXPECT_NE(spec_error(a + ",," + port).find("item 2 is empty"), std::string::npos);
  EXPECT_NE(spec_error(a).find("no port=FILE.c"), std::string::npos);
  EXPECT_NE(spec_error(a + "," + port + "," + port).find("port= given twice"), std::string::npos);
  EXPECT_NE(spec_error(a + ",port=").find("port= names no file"), std::string::npos);
  EXPECT_NE(spec_error(a + ",port=" + fixture("tiny_alloc.h")).find("is not a C file"), std::string::npos);
  EXPECT_NE(spec_error(a + ",flags=-O3," + port).find("unknown option 'flags=-O3'"), std::string::npos);
  EXPECT_NE(spec_error(fixture("tiny_alloc.h") + "," + port).find("tiny_alloc.h' is not a source (.c, .cc, .cpp)"),
            std::string::npos);
  EXPECT_NE(spec_error("no_such_file.c," + port).find("input 'no_such_file.c' does not exist"), std::string::npos);
  EXPECT_NE(spec_error(a + ",port=no_such_port.c").find("port 'no_such_port.c' does not exist"), std::string::npos);
  EXPECT_NE(spec_error(a + "," + a + "," + port).find("is named twice"), std::string::npos);
  EXPECT_NE(spec_error(fixture("tiny_port.c") + "," + port).find("both the port and an input"), std::string::npos);
  for (const std::string& bad : {std::string(""), a, a + ",port="}) EXPECT_EQ(spec_error(bad).rfind("native: ", 0), 0u);
}

TEST(NativeBuild, PrintsThePinnedFlags) {
  const std::string flags = printed_flags();
  for (const char* f : {"-O2", "-g", "-fPIC", "-fsanitize=thread", "-fno-omit-frame-pointer", "-fno-builtin"})
    EXPECT_NE(flags.find(f), std::string::npos) << f;
  EXPECT_EQ(cxx_driver_for("/usr/bin/clang-14"), "/usr/bin/clang++-14");
  EXPECT_EQ(cxx_driver_for("clang"), "clang++");
  EXPECT_EQ(cxx_driver_for("/opt/clang++"), "/opt/clang++");
}

TEST(NativeBuild, ASmallAllocatorBuildsWithOnlyAllowedCallsAndItsMemcpyRenamed) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeBuildResult r = build(kTiny, cache.path);
  EXPECT_FALSE(r.cached);
  ASSERT_TRUE(fs::is_regular_file(r.shared_object));
  EXPECT_EQ(r.shared_object.parent_path().parent_path(), cache.path);
  EXPECT_EQ(r.key.size(), 64u);
  EXPECT_NE(r.compiler_version.find("clang version"), std::string::npos) << r.compiler_version;
  EXPECT_EQ(r.c_flags, c_compile_flags());
  EXPECT_EQ(r.link_flags, link_flags());
  const std::set<std::string> undefined = undefined_symbols(r.shared_object);
  for (const std::string& s : undefined) EXPECT_TRUE(symbol_allowed(s)) << s;
  EXPECT_TRUE(undefined.contains("pprsim_shim_memcpy"));
  EXPECT_TRUE(undefined.contains("pprsim_shim_memset"));
  EXPECT_TRUE(undefined.contains("pprsim_shim_sbrk"));
  EXPECT_TRUE(undefined.contains("__tsan_write8")) << "the accesses are instrumented";
  for (const char* gone : {"memcpy", "memset", "sbrk"}) EXPECT_FALSE(undefined.contains(gone)) << gone;
  EXPECT_TRUE(fs::is_regular_file(r.shared_object.parent_path() / "build.txt"));
}

TEST(NativeBuild, AFunctionTheAllocatorDefinesItselfIsNotRenamed) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeBuildResult r = build(fixture("copying.c") + ",port=" + fixture("tiny_port.c") + "," + fixture("tiny_alloc.c"),
                                    cache.path);
  const std::set<std::string> undefined = undefined_symbols(r.shared_object);
  EXPECT_TRUE(undefined.contains("pprsim_shim_memcpy"));
  EXPECT_FALSE(undefined.contains("pprsim_shim_memset")) << "copying.c defines memset";
  EXPECT_FALSE(undefined.contains("memset"));
}

TEST(NativeBuild, ACxxSourceBuildsWithClangxxAndItsFlags) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeBuildResult r = build(fixture("tiny_cxx.cpp") + ",port=" + fixture("cxx_port.c"), cache.path);
  EXPECT_NE(std::find(r.cxx_flags.begin(), r.cxx_flags.end(), "-fno-exceptions"), r.cxx_flags.end());
  const std::set<std::string> undefined = undefined_symbols(r.shared_object);
  for (const std::string& s : undefined) EXPECT_TRUE(symbol_allowed(s)) << s;
  EXPECT_TRUE(undefined.contains("pprsim_shim_memcpy"));
}

TEST(NativeBuild, ASourceThatDoesNotCompileGivesTheFirstErrorLine) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeBuildError e = build_error(fixture("broken.c") + ",port=" + fixture("tiny_port.c"), cache.path);
  EXPECT_EQ(e.kind(), NativeBuildError::Kind::Compile);
  EXPECT_NE(e.first_error.find("broken.c:5:"), std::string::npos) << e.first_error;
  EXPECT_NE(e.first_error.find("error:"), std::string::npos) << e.first_error;
  EXPECT_NE(e.first_error.find("undeclared_heap"), std::string::npos) << e.first_error;
  EXPECT_NE(std::string(e.what()).find(e.first_error), std::string::npos);
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(cache_entries(cache.path), 0u) << "a failed build leaves no entry";
}

TEST(NativeBuild, ACallPprsimCannotTrackIsRefusedNamingItsObject) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeBuildError e = build_error(fixture("locking.c") + ",port=" + fixture("tiny_port.c") + "," +
                                         fixture("tiny_alloc.c"), cache.path);
  EXPECT_EQ(e.kind(), NativeBuildError::Kind::RefusedSymbol);
  EXPECT_EQ(e.symbol, "pthread_mutex_lock");
  EXPECT_EQ(e.object, fixture("locking.c"));
  EXPECT_NE(std::string(e.what()).find("locking.c calls pthread_mutex_lock, which pprsim cannot track"),
            std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("allowed: "), std::string::npos) << e.what();
  EXPECT_EQ(cache_entries(cache.path), 0u);

  const NativeBuildError m = build_error(fixture("system_malloc.c") + ",port=" + fixture("tiny_port.c") + "," +
                                         fixture("tiny_alloc.c"), cache.path);
  EXPECT_EQ(m.symbol, "malloc");
  EXPECT_NE(std::string(m.what()).find("the system's allocator"), std::string::npos) << m.what();
}

TEST(NativeBuild, PrebuiltObjectsAndArchivesAreCheckedToo) {
  SKIP_WITHOUT_CLANG();
  TempDir work, cache;
  const auto compile = [&](const std::string& src, const fs::path& obj) {
    std::vector<std::string> argv = {"clang"};
    if (const char* env = std::getenv("PPRSIM_CLANG"); env != nullptr && *env != '\0') argv[0] = env;
    argv.insert(argv.end(), c_compile_flags().begin(), c_compile_flags().end());
    argv.insert(argv.end(), {"-c", src, "-o", obj.string()});
    ASSERT_EQ(run_process(argv, work.path).status, 0);
  };
  compile(fixture("tiny_alloc.c"), work.path / "tiny.o");
  compile(fixture("locking.c"), work.path / "locking.o");
  const NativeBuildResult r = build((work.path / "tiny.o").string() + ",port=" + fixture("tiny_port.c"), cache.path);
  EXPECT_TRUE(undefined_symbols(r.shared_object).contains("pprsim_shim_memcpy"));

  const auto tiny_archive = work.path / "libtiny.a";
  ASSERT_EQ(run_process({"ar", "rcs", tiny_archive.string(), (work.path / "tiny.o").string()}, work.path).status, 0);
  const NativeBuildResult from_archive = build(tiny_archive.string() + ",port=" + fixture("tiny_port.c"), cache.path);
  const std::set<std::string> undefined = undefined_symbols(from_archive.shared_object);
  EXPECT_TRUE(undefined.contains("pprsim_shim_sbrk")) << "the archive's members are renamed too";
  EXPECT_FALSE(undefined.contains("sbrk"));

  const auto archive = work.path / "liblock.a";
  ASSERT_EQ(run_process({"ar", "rcs", archive.string(), (work.path / "locking.o").string()}, work.path).status, 0);
  const NativeBuildError e = build_error(archive.string() + ",port=" + fixture("tiny_port.c") + "," +
                                         fixture("tiny_alloc.c"), cache.path);
  EXPECT_EQ(e.object, archive.string() + "(locking.o)");
  EXPECT_EQ(e.symbol, "pthread_mutex_lock");
}

// Copies of the tiny allocator in a folder of their own, to change them.
struct TinyCopy {
  TempDir dir;
  TinyCopy() {
    for (const char* f : {"tiny_alloc.c", "tiny_alloc.h", "tiny_port.c"}) fs::copy_file(fixture(f), dir.path / f);
  }
  std::string spec() const { return (dir.path / "tiny_alloc.c").string() + ",port=" + (dir.path / "tiny_port.c").string(); }
  void append(const char* file, const std::string& text) const { std::ofstream(dir.path / file, std::ios::app) << text; }
};

TEST(NativeBuild, TheSecondBuildIsACacheHitAndAChangedByteIsAMiss) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  TinyCopy tiny;
  const NativeBuildResult first = build(tiny.spec(), cache.path);
  const NativeBuildResult again = build(tiny.spec(), cache.path);
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.key, first.key);
  EXPECT_EQ(again.shared_object, first.shared_object);
  EXPECT_EQ(again.compiler_version, first.compiler_version);

  tiny.append("tiny_alloc.c", " ");  // one byte more, the same program
  const NativeBuildResult changed = build(tiny.spec(), cache.path);
  EXPECT_FALSE(changed.cached);
  EXPECT_NE(changed.key, first.key);
  EXPECT_TRUE(build(tiny.spec(), cache.path).cached);

  tiny.append("tiny_alloc.h", "\n");  // a header the spec does not name
  const NativeBuildResult header = build(tiny.spec(), cache.path);
  EXPECT_FALSE(header.cached) << "a changed header is a new build";
  EXPECT_NE(header.key, changed.key);
  EXPECT_EQ(cache_entries(cache.path), 3u);
}

TEST(NativeBuild, AStagingFolderLeftByAKilledBuildIsRemovedADayLater) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const fs::path old_one = cache.path / "tmp" / "left-by-a-killed-build", new_one = cache.path / "tmp" / "in-progress";
  fs::create_directories(old_one);
  fs::create_directories(new_one);
  fs::last_write_time(old_one, fs::file_time_type::clock::now() - std::chrono::hours(25));
  build(kTiny, cache.path);
  EXPECT_FALSE(fs::exists(old_one));
  EXPECT_TRUE(fs::exists(new_one)) << "another build may still be filling it";
}

TEST(NativeBuild, TheSpecsOrderIsPartOfTheKey) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeBuildResult a = build(fixture("tiny_alloc.c") + "," + fixture("copying.c") + ",port=" + fixture("tiny_port.c"),
                                    cache.path);
  const NativeBuildResult b = build(fixture("copying.c") + "," + fixture("tiny_alloc.c") + ",port=" + fixture("tiny_port.c"),
                                    cache.path);
  EXPECT_FALSE(b.cached);
  EXPECT_NE(a.key, b.key);
}

TEST(NativeBuild, TwoProcessesBuildingTheSameSpecIntoAnEmptyCacheBothSucceed) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const fs::path root = cache.path / "fresh";  // does not exist yet either
  const NativeSpec spec = parse_native_spec(kTiny, {});
  pid_t pids[2];
  for (pid_t& pid : pids) {
    pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 1;
      try {
        const NativeBuildResult r = build_native(spec, NativeBuildOptions{root});
        status = fs::is_regular_file(r.shared_object) ? 0 : 3;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        status = 2;
      }
      std::fflush(stderr);
      ::_exit(status);
    }
  }
  for (pid_t pid : pids) {
    int ws = 0;
    ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
    EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "status " << ws;
  }
  EXPECT_EQ(cache_entries(root), 1u);
  std::size_t leftovers = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root / "tmp")) ++leftovers;
  EXPECT_EQ(leftovers, 0u) << "no half-built folder stays behind";
  EXPECT_TRUE(build_native(spec, NativeBuildOptions{root}).cached);
}

TEST(NativeBuild, TwoThreadsBuildingTheSameSpecBothSucceed) {
  SKIP_WITHOUT_CLANG();
  TempDir cache;
  const NativeSpec spec = parse_native_spec(kTiny, {});
  NativeBuildResult results[2];
  std::string errors[2];
  std::thread threads[2];
  for (int i = 0; i < 2; ++i)
    threads[i] = std::thread([&, i] {
      try {
        results[i] = build_native(spec, NativeBuildOptions{cache.path});
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(results[0].shared_object, results[1].shared_object);
  EXPECT_TRUE(fs::is_regular_file(results[0].shared_object));
}

TEST(NativeBuild, AMissingCompilerIsAToolError) {
  TempDir cache;
  const char* old = std::getenv("PPRSIM_CLANG");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("PPRSIM_CLANG", "/no/such/clang", 1);
  const NativeBuildError e = build_error(kTiny, cache.path);
  if (old != nullptr) ::setenv("PPRSIM_CLANG", saved.c_str(), 1); else ::unsetenv("PPRSIM_CLANG");
  EXPECT_EQ(e.kind(), NativeBuildError::Kind::Tool);
  EXPECT_NE(std::string(e.what()).find("/no/such/clang"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace pprsim
