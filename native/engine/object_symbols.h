// What the allocator's objects define and call, read with nm, and the renaming of their calls
// with objcopy.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace pprsim {

// One object file, or one member of an archive.
struct ObjectSymbols {
  std::string name;                // as nm names it: "x.o", or "lib.a[member.o]"
  std::set<std::string> defined;   // global (and weak) definitions
  std::set<std::string> undefined; // references it leaves to others
};

// Reads the symbols of an object or archive (`nm -P -A`). Throws NativeBuildError (Kind::Tool)
// when nm fails.
std::vector<ObjectSymbols> read_symbols(const std::filesystem::path& file, const std::filesystem::path& scratch);

// Redirects the calls of `file` (an object or archive, rewritten in place) from each key of
// `renames` to its value (`objcopy --redefine-sym`). Throws NativeBuildError (Kind::Tool).
void rename_symbols(const std::filesystem::path& file, const std::map<std::string, std::string>& renames,
                    const std::filesystem::path& scratch);

}  // namespace pprsim
