// The one output path of every command (traces/output_file.h) as a user meets it: nodes that are
// not regular files are written in place, links followed, modes kept, inputs never overwritten,
// and every lost write is exit status 2 with one line. Every node is made in a folder of the
// test's own (mknod, mkfifo, bind), never in the machine's /dev.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

using namespace test;

using test::kSample;

// A character device with the numbers of null (1, 3) or full (1, 7), or skips the test.
#define MAKE_CHAR_DEVICE(path, minor)                                                      \
  if (::mknod((path).c_str(), S_IFCHR | 0666, makedev(1, minor)) != 0)                     \
  GTEST_SKIP() << "cannot make a character device here (mknod: " << std::strerror(errno) \
               << "): needs root"

bool is_char_device(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

TEST(Output, CharacterDeviceIsWrittenInPlaceByEveryCommand) {
  TempDir dir("out_chr");
  const fs::path node = dir / "null";
  MAKE_CHAR_DEVICE(node, 3);
  for (const std::string& args : std::vector<std::string>{"gen --events 10 -o null", "replay " + kSample + " --json null",
        "convert " + kSample + " null", "selftest --runs 1 --json null"}) {
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_TRUE(r.status == 0 || (args.starts_with("selftest") && r.status == 1)) << args << r.out;
    EXPECT_TRUE(is_char_device(node)) << args << ": the device was replaced";
    EXPECT_EQ(listing(dir.path()), std::set<std::string>{"null"}) << args;
  }
}

// File names are bytes: a trace named in bytes that are not UTF-8 still gets its JSON and its
// page, the name written with U+FFFD for each such byte, and no temporary file is left.
TEST(Output, ATraceNameThatIsNotUtf8IsWrittenWithReplacementCharacters) {
  TempDir dir("out_bad_utf8");
  const std::string name = "bad\xff.trace";
  fs::copy_file(kSample, dir / name);
  // The shell names the file by a pattern, so that the test needs no quoting of the byte.
  for (const std::string& args : {std::string("replay bad*.trace --alloc dmmalloc,shared --json out.json --html out.html"),
                                  std::string("bench bad*.trace --alloc glibc --rounds 1 --repetitions 1 --min-time 0 "
                                              "--json out.json")}) {
    fs::remove(dir / "out.json");
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_LE(r.status, 1) << args << "\n" << r.out;  // a verdict, not an abort
    const std::string text = slurp(dir / "out.json");
    EXPECT_NE(text.find("bad\xef\xbf\xbd.trace"), std::string::npos) << args << "\n" << text;
    EXPECT_TRUE(nlohmann::json::accept(text)) << args;
    for (const std::string& f : listing(dir.path())) EXPECT_FALSE(f.ends_with(".tmp")) << args << ": " << f;
  }
  EXPECT_GT(fs::file_size(dir / "out.html"), 0u);
}

// Every command checks every output before any work: an output that cannot be written, or that
// is an input, is one line naming it and exit status 2, before a trace is read, a run made or
// a table printed.
TEST(Output, EveryOutputIsCheckedBeforeAnyWork) {
  TempDir dir("out_first");
  write_all(dir / "in.trace", slurp(kSample));
  write_all(dir / "not-json.txt", "not json\n");
  struct Case {
    std::string args, named;
  };
  for (const Case& c : std::initializer_list<Case>{
           // dmmalloc holds on the sample: without the check first, "nothing to shrink", status 0.
           {"shrink in.trace -o nodir/x.trace", "nodir/x.trace"},
           {"shrink not-json.txt -o nodir/x.trace", "nodir/x.trace"},
           {"bench in.trace --alloc glibc --rounds 1 --repetitions 1 --min-time 0 --json in.trace", "in.trace"},
           {"bench in.trace --alloc glibc --rounds 1 --repetitions 1 --min-time 0 --json nodir/b.json",
            "nodir/b.json"},
           {"selftest --runs 1 --json nodir/s.json", "nodir/s.json"},
           {"selftest --runs 1 --alloc dmmalloc --json nodir/s.json", "nodir/s.json"},
           {"report not-json.txt -o nodir/r.html", "nodir/r.html"},
           {"report not-json.txt --json not-json.txt", "not-json.txt"},
       }) {
    const CliResult r = run_pprsim(dir.path(), c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.out;
    EXPECT_EQ(line_count(r.out), 1u) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.named), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.find("not JSON"), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"in.trace", "not-json.txt"})) << c.args;
  }
}

// The same file in two spellings is one output: two options that name it (./o.x and o.x, a
// symbolic or a hard link) are refused before the run, and neither is written.
TEST(Output, TheSameFileInTwoSpellingsIsOneOutput) {
  TempDir dir("out_spellings");
  write_all(dir / "in.trace", slurp(kSample));
  write_all(dir / "old.x", "old\n");
  fs::create_symlink("old.x", dir / "link.x");
  fs::create_hard_link(dir / "old.x", dir / "hard.x");
  fs::create_directory(dir / "sub");
  const std::set<std::string> before = listing(dir.path());
  for (const char* args : {
           "replay in.trace --json o.x --html ./o.x",
           "replay in.trace --json o.x --html sub/../o.x",
           "replay in.trace --json old.x --html ./old.x",
           "replay in.trace --json old.x --html link.x",
           "replay in.trace --json hard.x --html old.x",
           "replay in.trace --json - --html -",
           "report in.trace -o o.x --json ./o.x",
           "report in.trace -o link.x --json old.x",
           "record -o t.x --keep-mtrace ./t.x -- true",
       }) {
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_EQ(line_count(r.out), 1u) << args << "\n" << r.out;
    EXPECT_TRUE(r.out.find("same file") != std::string::npos || r.out.find("same output") != std::string::npos)
        << args << "\n" << r.out;
    EXPECT_EQ(slurp(dir / "old.x"), "old\n") << args;
    EXPECT_EQ(listing(dir.path()), before) << args;
  }
  // Two different files are still two outputs.
  const CliResult r = run_pprsim(dir.path(), "replay in.trace --json o.json --html sub/o.json");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(nlohmann::json::accept(slurp(dir / "o.json")));
  EXPECT_NE(slurp(dir / "sub/o.json").find("<html"), std::string::npos);
}

TEST(Output, FifoIsWrittenInPlaceAndStreamed) {
  TempDir dir("out_fifo");
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  // A reader on the FIFO, bounded in time, copies what comes through it.
  const std::string cmd = "cd '" + dir.path().string() + "' && (timeout 60 cat pipe > got &) && " +
                          "timeout -s KILL 60 " + PPRSIM_BINARY + " gen --events 50 --seed 3 -o pipe";
  const CliResult r{std::system(cmd.c_str()), ""};
  EXPECT_EQ(r.status, 0);
  struct stat st {};
  ASSERT_EQ(::lstat((dir / "pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
  const CliResult direct = run_pprsim(dir.path(), "gen --events 50 --seed 3 -o -", "");
  // The reader may still be copying the last bytes.
  for (int i = 0; i < 500 && slurp(dir / "got") != direct.out; ++i) ::usleep(20000);
  EXPECT_EQ(slurp(dir / "got"), direct.out);
  EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"got", "pipe"}));
}

TEST(Output, SocketIsRefused) {
  TempDir dir("out_sock");
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = (dir / "sock").string();
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const CliResult r = run_pprsim(dir.path(), "gen --events 10 -o sock");
  ::close(s);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_EQ(line_count(r.out), 1u) << r.out;
  EXPECT_NE(r.out.find("socket"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

TEST(Output, SymlinkIsFollowedAndItsTargetReplaced) {
  TempDir dir("out_link");
  write_all(dir / "real.trace", "old\n");
  fs::create_symlink("real.trace", dir / "link.trace");
  fs::create_symlink("made.trace", dir / "dangling.trace");
  for (const char* out : {"link.trace", "dangling.trace"}) {
    const CliResult r = run_pprsim(dir.path(), std::string("gen --events 10 -o ") + out);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(fs::is_symlink(dir / out)) << out << " is no longer a link";
  }
  EXPECT_TRUE(slurp(dir / "real.trace").starts_with("# ")) << slurp(dir / "real.trace");
  EXPECT_TRUE(slurp(dir / "made.trace").starts_with("# "));
  EXPECT_EQ(listing(dir.path()),
            (std::set<std::string>{"real.trace", "link.trace", "dangling.trace", "made.trace"}));
}

TEST(Output, ReplacedFileKeepsItsMode) {
  TempDir dir("out_mode");
  for (const char* cmd : {"gen --events 10 -o out", "replay SAMPLE --json out",
                          "convert SAMPLE out"}) {
    write_all(dir / "out", "secret\n");
    ASSERT_EQ(::chmod((dir / "out").c_str(), 0600), 0);
    std::string args = cmd;
    if (const auto at = args.find("SAMPLE"); at != std::string::npos)
      args.replace(at, 6, kSample);
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_EQ(r.status, 0) << r.out;
    struct stat st {};
    ASSERT_EQ(::stat((dir / "out").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << cmd;
    EXPECT_NE(slurp(dir / "out"), "secret\n") << cmd;
  }
  // A new file gets what the umask allows (not a fixed 0644).
  const std::string cmd = "cd '" + dir.path().string() + "' && umask 027 && timeout -s KILL 60 " +
                          PPRSIM_BINARY + " gen --events 10 -o new";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(Output, OutputThatIsTheInputIsRefusedBeforeAnythingIsTouched) {
  TempDir dir("out_same");
  const std::string text = slurp(kSample);
  write_all(dir / "in.trace", text);
  fs::create_symlink("in.trace", dir / "alias.trace");
  fs::create_hard_link(dir / "in.trace", dir / "hard.trace");
  for (const char* args : {"convert in.trace in.trace", "convert in.trace alias.trace",
                           "convert in.trace hard.trace", "convert alias.trace in.trace",
                           "replay in.trace --json in.trace", "replay in.trace --json hard.trace",
                           "replay in.trace --alloc dmmalloc,shared --json alias.trace"}) {
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_EQ(line_count(r.out), 1u) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("same file"), std::string::npos) << r.out;
    EXPECT_EQ(slurp(dir / "in.trace"), text) << args;
    EXPECT_EQ(listing(dir.path()),
              (std::set<std::string>{"in.trace", "alias.trace", "hard.trace"}))
        << args;
  }
}

TEST(Output, LostWritesAreExitTwoWithOneLine) {
  TempDir dir("out_full");
  MAKE_CHAR_DEVICE(dir / "full", 7);
  const std::string text = slurp(kSample);
  write_all(dir / "in.trace", text);
  struct Case {
    std::string args, redirect;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"replay in.trace --json -", "> full 2>&1"},
           {"replay in.trace", "> full 2>&1"},
           {"gen --events 10", "> full 2>&1"},
           {"gen --events 100000000", "> full 2>&1"},
           {"gen --events 10 -o full", "2>&1"},
           {"replay in.trace --json full", "2>&1"},
           {"convert in.trace full", "2>&1"},
           {"convert in.trace -", "> full 2>&1"},
           {"selftest --runs 1 --json -", "> full 2>&1"},
       }) {
    // Standard error goes to a file of its own, to be read back.
    const std::string redirect =
        c.redirect == "2>&1" ? "2> err" : c.redirect.substr(0, c.redirect.find(" 2>&1")) + " 2> err";
    const CliResult r = run_pprsim(dir.path(), c.args, redirect);
    const std::string err = slurp(dir / "err");
    EXPECT_EQ(r.status, 2) << c.args << "\n" << err;
    EXPECT_EQ(line_count(err), 1u) << c.args << "\n" << err;
    EXPECT_NE(err.find("No space left on device"), std::string::npos) << c.args << "\n" << err;
    EXPECT_TRUE(is_char_device(dir / "full"));
    fs::remove(dir / "err");
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"full", "in.trace"})) << c.args;
  }
}

TEST(Output, UnwritableFolderIsOneLineAndTouchesNothing) {
  TempDir dir("out_nodir");
  for (const char* args : {"gen --events 10 -o missing/x.trace", "gen --events 10 -o .",
                           "replay SAMPLE --json missing/x.json"}) {
    std::string a = args;
    if (const auto at = a.find("SAMPLE"); at != std::string::npos) a.replace(at, 6, kSample);
    const CliResult r = run_pprsim(dir.path(), a);
    EXPECT_EQ(r.status, 2) << a << "\n" << r.out;
    EXPECT_EQ(line_count(r.out), 1u) << r.out;
    EXPECT_TRUE(listing(dir.path()).empty()) << a;
  }
}

}  // namespace
}  // namespace pprsim
