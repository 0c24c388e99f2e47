// The functions and data objects a shared object's symbol table names: which function an
// instrumented edge of a plugin belongs to (sim/plugin_edges.h), and which global of a native
// allocator a conflict's address is in (native/engine/worker_main.cpp), static ones included.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pprsim {

struct ElfSymbol {
  std::string name;
  std::uint64_t start = 0;  // its address in the file (add the load bias for the address in memory)
  std::uint64_t size = 0;
};

// The defined symbols of type `type` (STT_FUNC for functions, STT_OBJECT for data) of the 64-bit
// ELF file at `path`, from its full symbol table (.symtab), which names static ones too, or else
// from its dynamic one (.dynsym, exported ones only); sorted by start, then name. Empty when the
// file cannot be read or is not a 64-bit ELF file of this machine's byte order.
std::vector<ElfSymbol> elf_symbols(const std::string& path, unsigned type);

// The defined functions (STT_FUNC), as elf_symbols gives them.
std::vector<ElfSymbol> elf_functions(const std::string& path);

}  // namespace pprsim
