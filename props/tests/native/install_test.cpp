// `cmake --install` puts pprsim, the drop-in library, its C header and a pkg-config file under a
// prefix, and a C program links the allocator from there the usual way.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

using Result = test::CommandResult;

using test::run_command;

TEST(Install, APrefixHoldsEverythingAndPkgConfigLinksAProgram) {
  if (run_command("command -v pkg-config && command -v cc").status != 0) GTEST_SKIP() << "pkg-config or cc not installed";
  // A folder of its own: two builds' suites may run at once.
  std::string tmpl = (std::filesystem::temp_directory_path() / "pprsim-install-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;
  const Result inst = run_command(std::string("cmake --install ") + PPRSIM_BUILD_DIR + " --prefix " + dir.string());
  ASSERT_EQ(inst.status, 0) << inst.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "bin" / "pprsim"));
  EXPECT_TRUE(std::filesystem::exists(dir / "include" / "pprsim_dmmalloc.h"));

  const auto src = dir / "prog.c";
  std::ofstream(src) << "#include <malloc.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <pprsim_dmmalloc.h>\n"
                        "int main(void) {\n"
                        "  void* p = malloc(1);\n"
                        "  int ok = pprsim_dm_group_init(2) == 0;\n"
                        "  pprsim_dm_understudy_init();\n"
                        "  printf(\"%zu %d %d\\n\", malloc_usable_size(p), ok, PPRSIM_DMMALLOC_API_VERSION);\n"
                        "  free(p);\n"
                        "  return 0;\n}\n";
  const std::string pc = "PKG_CONFIG_PATH=" + (dir / "lib" / "pkgconfig").string() + ":" +
                         (dir / "lib64" / "pkgconfig").string() + " pkg-config";
  const Result flags = run_command(pc + " --cflags --libs pprsim_dmmalloc");
  ASSERT_EQ(flags.status, 0) << flags.out;
  const Result cc = run_command("cc -o " + (dir / "prog").string() + " " + src.string() + " $(" + pc +
                                " --cflags --libs pprsim_dmmalloc) -Wl,-rpath,$(" + pc + " --variable=libdir pprsim_dmmalloc)");
  ASSERT_EQ(cc.status, 0) << cc.out;
  // The program's malloc is dmmalloc's (16 usable bytes in the smallest block; glibc gives 24).
  const Result prog = run_command((dir / "prog").string());
  EXPECT_EQ(prog.status, 0);
  EXPECT_EQ(prog.out, "16 1 2\n");
  EXPECT_EQ(run_command((dir / "bin" / "pprsim") .string() + " --help").status, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pprsim
