#include "sim/plugin_edges.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include "native/engine/elf_symbols.h"
#include "sim/plugin_allocator.h"

namespace pprsim {

namespace {

// One instrumented shared object.
struct Module {
  std::uint32_t first = 0;  // guard number of its first edge
  std::uint32_t count = 0;
  const std::uintptr_t* pcs = nullptr;  // `count` (address, flags) pairs, once known
  const link_map* object = nullptr;     // the loaded object the pc-table lies in
  std::unique_ptr<EdgeMap> map;         // built on first use
};

struct Registry {
  std::vector<std::uint64_t> hits = std::vector<std::uint64_t>(1, 0);
  std::deque<Module> modules;
  std::vector<std::pair<const std::uintptr_t*, const std::uintptr_t*>> loose_pcs;  // before their guards
  std::map<std::string, const link_map*, std::less<>> plugins;                       // path -> object
};

Registry& registry() {
  static auto* r = new Registry;  // never destroyed: plugins stay loaded for the program's life
  return *r;
}

const link_map* object_of(const void* address) {
  Dl_info info{};
  link_map* lm = nullptr;
  if (::dladdr1(address, &info, reinterpret_cast<void**>(&lm), RTLD_DL_LINKMAP) == 0) return nullptr;
  return lm;
}

void attach_pcs(Module& m, const std::uintptr_t* begin) {
  m.pcs = begin;
  m.object = object_of(begin);
}

// The name of the function whose code holds `offset` (an address in the file): the symbol that
// starts at or before it and covers it, the smallest name among symbols starting at one place.
std::string name_at(const std::vector<ElfSymbol>& fns, std::uint64_t offset) {
  auto it = std::upper_bound(fns.begin(), fns.end(), offset,
                             [](std::uint64_t off, const ElfSymbol& f) { return off < f.start; });
  if (it == fns.begin()) return "?";
  const std::uint64_t start = std::prev(it)->start;
  it = std::lower_bound(fns.begin(), it, start, [](const ElfSymbol& f, std::uint64_t s) { return f.start < s; });
  for (; it != fns.end() && it->start == start; ++it) {
    if (offset < it->start + std::max<std::uint64_t>(it->size, 1)) return it->name;
  }
  return "?";
}

std::unique_ptr<EdgeMap> build_map(const Module& m, const std::string& path) {
  auto out = std::make_unique<EdgeMap>();
  out->edges = m.count;
  const std::vector<ElfSymbol> fns = elf_functions(path);
  std::map<std::string, std::vector<std::uint32_t>> by_name;
  std::string current = "?";  // edges before the first function entry
  for (std::uint32_t i = 0; i < m.count; ++i) {
    if ((m.pcs[2 * i + 1] & 1) != 0) current = name_at(fns, m.pcs[2 * i] - m.object->l_addr);
    by_name[current].push_back(i);
  }
  for (auto& [name, edges] : by_name) out->functions.push_back({name, std::move(edges)});
  return out;
}

Module* module_of(std::string_view allocator) {
  if (!allocator.starts_with(kPluginPrefix)) return nullptr;
  const std::string path(allocator.substr(kPluginPrefix.size()));
  try {
    check_plugin(path);
  } catch (const PluginError&) {
    return nullptr;
  }
  Registry& r = registry();
  const auto it = r.plugins.find(path);
  if (it == r.plugins.end() || it->second == nullptr) return nullptr;
  for (Module& m : r.modules) {
    if (m.object == it->second && m.pcs != nullptr) return &m;
  }
  return nullptr;
}

}  // namespace

namespace edge_hooks {

std::uint64_t* hits = registry().hits.data();

void add_guards(std::uint32_t* start, std::uint32_t* stop) {
  if (start == stop || *start != 0) return;  // numbered already
  Registry& r = registry();
  Module m;
  m.first = static_cast<std::uint32_t>(r.hits.size());
  m.count = static_cast<std::uint32_t>(stop - start);
  for (std::uint32_t i = 0; i < m.count; ++i) start[i] = m.first + i;
  r.hits.resize(r.hits.size() + m.count, 0);
  hits = r.hits.data();
  for (auto it = r.loose_pcs.begin(); it != r.loose_pcs.end(); ++it) {
    if (static_cast<std::size_t>(it->second - it->first) == 2 * std::size_t{m.count}) {
      attach_pcs(m, it->first);
      r.loose_pcs.erase(it);
      break;
    }
  }
  r.modules.push_back(std::move(m));
}

void add_pcs(const std::uintptr_t* begin, const std::uintptr_t* end) {
  Registry& r = registry();
  for (auto it = r.modules.rbegin(); it != r.modules.rend(); ++it) {
    if (it->pcs == begin) return;  // already attached
    if (it->pcs == nullptr && 2 * std::size_t{it->count} == static_cast<std::size_t>(end - begin)) {
      attach_pcs(*it, begin);
      return;
    }
  }
  // A table without guards yet (or of another kind of instrumentation, which gives none).
  r.loose_pcs.emplace_back(begin, end);
}

}  // namespace edge_hooks

void note_plugin_object(const std::string& path, void* handle) {
  link_map* lm = nullptr;
  if (::dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0) lm = nullptr;
  registry().plugins[path] = lm;
}

const EdgeMap* edge_map(std::string_view allocator) {
  Module* m = module_of(allocator);
  if (m == nullptr) return nullptr;
  if (!m->map) m->map = build_map(*m, std::string(allocator.substr(kPluginPrefix.size())));
  return m->map.get();
}

EdgeSnapshot edge_snapshot(std::string_view allocator) {
  EdgeSnapshot s;
  const Module* m = module_of(allocator);
  if (m == nullptr) return s;
  s.first = m->first;
  const std::vector<std::uint64_t>& hits = registry().hits;
  s.hits.assign(hits.begin() + m->first, hits.begin() + m->first + m->count);
  return s;
}

void add_edges_since(const EdgeSnapshot& before, Coverage& c) {
  if (before.first == 0) return;
  const std::vector<std::uint64_t>& hits = registry().hits;
  for (std::size_t i = 0; i < before.hits.size(); ++i) {
    if (hits[before.first + i] != before.hits[i]) c.hit_edge(i);
  }
}

}  // namespace pprsim
