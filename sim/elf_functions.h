// The functions a shared object's symbol table names, for the edge coverage of a plugin
// (sim/plugin_edges.h): which function an instrumented edge belongs to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pprsim {

struct ElfFunction {
  std::string name;
  std::uint64_t start = 0;  // its address in the file (add the load bias for the address in memory)
  std::uint64_t size = 0;
};

// The defined functions (STT_FUNC) of the 64-bit ELF file at `path`, from its full symbol table
// (.symtab), which names static functions too, or else from its dynamic one (.dynsym, exported
// functions only); sorted by start, then name. Empty when the file cannot be read or is not a
// 64-bit ELF file of this machine's byte order.
std::vector<ElfFunction> elf_functions(const std::string& path);

}  // namespace pprsim
