#include "native/engine/elf_symbols.h"

#include <elf.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <tuple>

namespace pprsim {

namespace {

// Read by hand with <elf.h>: only the section headers, one symbol table and its string table
// are needed, which is a few dozen lines and spares a library dependency (libelf) for it.
// Every offset is checked against the file's size before it is used.
template <class T>
bool read_at(const std::string& bytes, std::uint64_t offset, T& out) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + offset, sizeof(T));
  return true;
}

bool native_elf64(const Elf64_Ehdr& h) {
  constexpr unsigned char kOwnOrder = std::endian::native == std::endian::little ? ELFDATA2LSB : ELFDATA2MSB;
  return std::memcmp(h.e_ident, ELFMAG, SELFMAG) == 0 && h.e_ident[EI_CLASS] == ELFCLASS64 &&
         h.e_ident[EI_DATA] == kOwnOrder && h.e_shentsize == sizeof(Elf64_Shdr);
}

std::vector<ElfSymbol> symbols_of(const std::string& bytes, const Elf64_Ehdr& h, Elf64_Word table_type, unsigned type) {
  std::vector<ElfSymbol> out;
  for (unsigned i = 0; i < h.e_shnum; ++i) {
    Elf64_Shdr sec{};
    if (!read_at(bytes, h.e_shoff + std::uint64_t{i} * sizeof(Elf64_Shdr), sec) || sec.sh_type != table_type) continue;
    Elf64_Shdr strings{};
    if (!read_at(bytes, h.e_shoff + std::uint64_t{sec.sh_link} * sizeof(Elf64_Shdr), strings)) continue;
    if (strings.sh_offset > bytes.size() || bytes.size() - strings.sh_offset < strings.sh_size) continue;
    const std::string_view names(bytes.data() + strings.sh_offset, strings.sh_size);
    for (std::uint64_t at = 0; at + sizeof(Elf64_Sym) <= sec.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym s{};
      if (!read_at(bytes, sec.sh_offset + at, s)) break;
      if (ELF64_ST_TYPE(s.st_info) != type || s.st_shndx == SHN_UNDEF || s.st_name >= names.size()) continue;
      const std::string_view name = names.substr(s.st_name, names.find('\0', s.st_name) - s.st_name);
      if (!name.empty()) out.push_back({std::string(name), s.st_value, s.st_size});
    }
  }
  return out;
}

}  // namespace

std::vector<ElfSymbol> elf_symbols(const std::string& path, unsigned type) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Elf64_Ehdr h{};
  if (!in.good() && !in.eof()) return {};
  if (!read_at(bytes, 0, h) || !native_elf64(h)) return {};
  std::vector<ElfSymbol> out = symbols_of(bytes, h, SHT_SYMTAB, type);
  if (out.empty()) out = symbols_of(bytes, h, SHT_DYNSYM, type);  // a stripped object
  std::sort(out.begin(), out.end(), [](const ElfSymbol& a, const ElfSymbol& b) {
    return std::tie(a.start, a.name) < std::tie(b.start, b.name);
  });
  return out;
}

std::vector<ElfSymbol> elf_functions(const std::string& path) { return elf_symbols(path, STT_FUNC); }

}  // namespace pprsim
