// Running the build's tools (clang, objcopy, nm) as child processes: no shell, the arguments as
// a vector, standard output and standard error captured whole.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace pprsim {

struct ProcessResult {
  int status = -1;       // exit status; 128+N when ended by signal N; 127 when it could not start
  std::string out, err;  // what it wrote to standard output and standard error
};

// Runs argv[0] (looked up on PATH when it has no slash) with `argv`, in the current directory,
// and waits for it. Output goes through two files in `scratch` (an existing folder), so a tool
// that writes much to both streams cannot block on a full pipe.
ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& scratch);

// The command as one line, for error messages.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace pprsim
