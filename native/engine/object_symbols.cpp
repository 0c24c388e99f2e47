// nm and objcopy over the allocator's objects (object_symbols.h).
#include "native/engine/object_symbols.h"

#include <fmt/format.h>

#include <sstream>

#include "native/engine/native_build_error.h"
#include "native/engine/subprocess.h"

namespace pprsim {
namespace {

ProcessResult run_tool(const std::vector<std::string>& argv, const std::filesystem::path& scratch) {
  ProcessResult r = run_process(argv, scratch);
  if (r.status != 0) {
    const std::string why = r.status == 127 ? "not found; install binutils" : r.err.substr(0, r.err.find('\n'));
    throw NativeBuildError(NativeBuildError::Kind::Tool, fmt::format("native: {} failed: {}", argv[0], why));
  }
  return r;
}

// nm's symbol types: U undefined, w and v weak undefined; upper case a global definition
// (W and V weak ones); lower case a local one, which no other object can see.
bool is_undefined(char type) { return type == 'U' || type == 'w' || type == 'v'; }
bool is_global_definition(char type) { return type >= 'A' && type <= 'Z' && type != 'U'; }

}  // namespace

std::vector<ObjectSymbols> read_symbols(const std::filesystem::path& file, const std::filesystem::path& scratch) {
  // POSIX format with the file on every line: "x.o: name T value size", for an archive
  // "lib.a[member.o]: name U". The objects are pprsim's copies, with names free of spaces.
  const ProcessResult r = run_tool({"nm", "-P", "-A", file.string()}, scratch);
  std::vector<ObjectSymbols> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string object, symbol, type;
    if (!(words >> object >> symbol >> type) || object.size() < 2 || object.back() != ':' || type.size() != 1) continue;
    object.pop_back();
    if (out.empty() || out.back().name != object) out.push_back({object, {}, {}});
    if (is_undefined(type[0]))
      out.back().undefined.insert(symbol);
    else if (is_global_definition(type[0]))
      out.back().defined.insert(symbol);
  }
  return out;
}

void rename_symbols(const std::filesystem::path& file, const std::map<std::string, std::string>& renames,
                    const std::filesystem::path& scratch) {
  // objcopy refuses two renames to the same target in one run (should the table ever send two
  // names to one shim), so each pass takes at most one rename per target.
  std::map<std::string, std::string> left = renames;
  while (!left.empty()) {
    std::vector<std::string> argv = {"objcopy"};
    std::set<std::string> targets;
    for (auto it = left.begin(); it != left.end();) {
      if (!targets.insert(it->second).second) {
        ++it;
        continue;
      }
      argv.push_back(fmt::format("--redefine-sym={}={}", it->first, it->second));
      it = left.erase(it);
    }
    argv.push_back(file.string());
    run_tool(argv, scratch);
  }
}

}  // namespace pprsim
