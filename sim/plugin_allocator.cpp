#include "sim/plugin_allocator.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <type_traits>
#include <vector>

#include "alloc/pprsim_plugin.h"
#include "sim/address_space.h"
#include "sim/process.h"

namespace pprsim {

namespace {

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// Loaded plugins by path; never unloaded (states may outlive any one run's allocators).
const pprsim_allocator& load(const std::string& path) {
  static std::map<std::string, const pprsim_allocator*> loaded;
  if (const auto it = loaded.find(path); it != loaded.end()) return *it->second;
  const std::string where = fmt::format("{}{}", kPluginPrefix, path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw PluginError(where + ": no such file");
  const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = ::dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = ::dlerror();
    throw PluginError(fmt::format("{}: not a loadable shared object ({})", where, one_line(e ? e : "dlopen failed")));
  }
  ::dlerror();
  void* sym = ::dlsym(handle, "pprsim_plugin");
  if (sym == nullptr) {
    ::dlclose(handle);
    throw PluginError(where + ": no symbol pprsim_plugin (not a pprsim plugin)");
  }
  using Entry = const pprsim_allocator* (*)();
  Entry entry;
  static_assert(sizeof entry == sizeof sym);
  std::memcpy(&entry, &sym, sizeof entry);
  const pprsim_allocator* api = entry();
  if (api == nullptr) throw PluginError(where + ": pprsim_plugin() returned NULL");
  if (api->abi_version != PPRSIM_PLUGIN_ABI_VERSION) {
    throw PluginError(fmt::format("{}: plugin ABI version {}, this pprsim reads version {}", where,
                                  api->abi_version, PPRSIM_PLUGIN_ABI_VERSION));
  }
  const std::pair<const char*, bool> required[] = {
      {"create", api->create != nullptr},
      {"clone", api->clone != nullptr},
      {"destroy", api->destroy != nullptr},
      {"malloc", api->malloc != nullptr},
      {"calloc", api->calloc != nullptr},
      {"memalign", api->memalign != nullptr},
      {"realloc", api->realloc != nullptr},
      {"free", api->free != nullptr},
      {"usable_size", api->usable_size != nullptr},
      {"group_init", api->group_init != nullptr},
      {"task_init", api->task_init != nullptr},
      {"understudy_init", api->understudy_init != nullptr},
      {"merge", api->merge != nullptr},
      {"gave_up", api->gave_up != nullptr},
  };
  for (const auto& [fn, present] : required) {
    if (!present) throw PluginError(fmt::format("{}: the required function {} is NULL", where, fn));
  }
  if ((api->walk_region == nullptr) != (api->walk_free == nullptr)) {
    throw PluginError(where + ": walk_region and walk_free come together (give both or neither)");
  }
  loaded.emplace(path, api);
  return *api;
}

// The memory handed to the plugin: SimMemory behind C callbacks that never throw. The first
// fault of a call is kept and raised when the call returns.
struct Bridge {
  SimMemory* mem = nullptr;
  bool faulted = false;
  Addr fault_addr = 0;
  pprsim_memory c{};

  template <class F>
  static void guard(void* ctx, F&& f) {
    Bridge& b = *static_cast<Bridge*>(ctx);
    try {
      f(*b.mem);
    } catch (const MemoryFault& e) {
      if (!b.faulted) {
        b.faulted = true;
        b.fault_addr = e.addr();
      }
    }
  }

  explicit Bridge(SimMemory* m) : mem(m) {
    c.ctx = this;
    c.load64 = [](void* ctx, pprsim_addr a) -> std::uint64_t {
      std::uint64_t v = 0;
      guard(ctx, [&](SimMemory& m) { v = m.load64(a); });
      return v;
    };
    c.store64 = [](void* ctx, pprsim_addr a, std::uint64_t v) { guard(ctx, [&](SimMemory& m) { m.store64(a, v); }); };
    c.read = [](void* ctx, pprsim_addr a, void* out, std::uint64_t n) {
      bool ok = false;
      guard(ctx, [&](SimMemory& m) {
        m.read(a, out, n);
        ok = true;
      });
      if (!ok && n != 0) std::memset(out, 0, n);
    };
    c.write = [](void* ctx, pprsim_addr a, const void* in, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.write(a, in, n); });
    };
    c.zero = [](void* ctx, pprsim_addr a, std::uint64_t n) { guard(ctx, [&](SimMemory& m) { m.zero(a, n); }); };
    c.copy = [](void* ctx, pprsim_addr d, pprsim_addr s, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.copy(d, s, n); });
    };
    c.sys_alloc = [](void* ctx, std::uint64_t n) -> pprsim_addr {
      pprsim_addr a = 0;
      guard(ctx, [&](SimMemory& m) { a = m.sys_alloc(n); });
      return a;
    };
    c.sys_free = [](void* ctx, pprsim_addr a, std::uint64_t n) { guard(ctx, [&](SimMemory& m) { m.sys_free(a, n); }); };
  }
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Raises the fault of the call that just returned, if it had one.
  void settle() {
    if (!faulted) return;
    faulted = false;
    throw MemoryFault(fault_addr);
  }
};

class PluginAllocator final : public SimAllocator {
 public:
  PluginAllocator(std::string name, const pprsim_allocator& api, SimMemory& mem, void* state)
      : name_(std::move(name)), api_(api), bridge_(&mem), state_(state) {}
  ~PluginAllocator() override { api_.destroy(state_); }
  PluginAllocator(const PluginAllocator&) = delete;
  PluginAllocator& operator=(const PluginAllocator&) = delete;

  static std::unique_ptr<SimAllocator> create(const std::string& path, SimMemory& mem) {
    const pprsim_allocator& api = load(path);
    Bridge probe(&mem);
    void* state = api.create(&probe.c);
    probe.settle();
    if (state == nullptr) throw PluginError(fmt::format("{}{}: create() returned NULL", kPluginPrefix, path));
    return std::make_unique<PluginAllocator>(fmt::format("{}{}", kPluginPrefix, path), api, mem, state);
  }

  // Runs one plugin function, then raises the memory fault it met, if any.
  template <class F>
  std::invoke_result_t<F> call(F&& f) {
    auto r = f();
    bridge_.settle();
    return r;
  }

  std::unique_ptr<SimAllocator> clone(SimMemory& mem) const override {
    void* copy = api_.clone(state_);
    if (copy == nullptr) throw AllocatorFailure(name_ + ": clone() returned NULL");
    return std::make_unique<PluginAllocator>(name_, api_, mem, copy);
  }
  std::string_view name() const override { return name_; }

  Addr malloc(std::uint64_t n) override { return call([&] { return api_.malloc(state_, &bridge_.c, n); }); }
  Addr calloc(std::uint64_t count, std::uint64_t size) override {
    return call([&] { return api_.calloc(state_, &bridge_.c, count, size); });
  }
  Addr memalign(std::uint64_t align, std::uint64_t n) override {
    return call([&] { return api_.memalign(state_, &bridge_.c, align, n); });
  }
  Addr realloc(Addr p, std::uint64_t n) override { return call([&] { return api_.realloc(state_, &bridge_.c, p, n); }); }
  void free(Addr p) override {
    call([&] {
      api_.free(state_, &bridge_.c, p);
      return 0;
    });
  }
  std::uint64_t usable_size(Addr p) override { return call([&] { return api_.usable_size(state_, &bridge_.c, p); }); }

  bool group_init(int g) override { return call([&] { return api_.group_init(state_, &bridge_.c, g); }) != 0; }
  void task_init(int k) override {
    call([&] {
      api_.task_init(state_, &bridge_.c, k);
      return 0;
    });
  }
  void understudy_init() override {
    call([&] {
      api_.understudy_init(state_, &bridge_.c);
      return 0;
    });
  }
  void merge(std::span<const SimAllocator* const> tasks, std::size_t committed) override {
    const std::vector<const void*> states = states_of(tasks);
    call([&] {
      api_.merge(state_, &bridge_.c, states.data(), states.size(), committed);
      return 0;
    });
  }
  void learn(std::span<const SimAllocator* const> tasks) override {
    if (api_.learn == nullptr) return;
    const std::vector<const void*> states = states_of(tasks);
    api_.learn(state_, states.data(), states.size());
  }

  bool gave_up() const override { return api_.gave_up(state_) != 0; }
  std::uint64_t reserved_bytes() const override { return api_.reserved_bytes ? api_.reserved_bytes(state_) : 0; }
  std::uint64_t task_allocated_bytes() const override {
    return api_.task_allocated_bytes ? api_.task_allocated_bytes(state_) : 0;
  }

  bool has_census() const override { return api_.walk_region != nullptr; }
  bool has_verify() const override { return api_.verify != nullptr; }

  bool walk_region(Addr base, std::uint64_t size, const BlockVisit& visit) override {
    if (api_.walk_region == nullptr) return true;
    auto thunk = [](void* cookie, const pprsim_block* b) {
      BlockInfo info{b->start, b->size, BlockInfo::Kind::Corrupt, 0, 0, -1};
      if (b->kind == PPRSIM_BLOCK_LIVE) {
        info.kind = BlockInfo::Kind::Live;
        info.payload = b->payload;
        info.usable = b->usable;
      } else if (b->kind == PPRSIM_BLOCK_FREE) {
        info.kind = BlockInfo::Kind::Free;
      }
      info.size_class = b->size_class;
      (*static_cast<const BlockVisit*>(cookie))(info);
    };
    return call([&] {
      return api_.walk_region(state_, &bridge_.c, base, size, thunk, const_cast<BlockVisit*>(&visit));
    }) != 0;
  }
  void walk_free(std::uint64_t max_steps, const FreeVisit& visit) override {
    if (api_.walk_free == nullptr) return;
    auto thunk = [](void* cookie, pprsim_addr block, std::int32_t size_class) {
      (*static_cast<const FreeVisit*>(cookie))(FreeEntry{block, size_class});
    };
    call([&] {
      api_.walk_free(state_, &bridge_.c, max_steps, thunk, const_cast<FreeVisit*>(&visit));
      return 0;
    });
  }
  std::string describe(Addr base, std::uint64_t size, Addr a) override {
    std::array<char, 256> buf{};
    if (api_.describe != nullptr) {
      call([&] {
        api_.describe(state_, &bridge_.c, base, size, a, buf.data(), buf.size());
        return 0;
      });
      buf.back() = '\0';
    }
    if (buf[0] == '\0') return fmt::format("allocator memory at {:#x}", a);
    return one_line(buf.data());
  }
  std::string verify() override {
    if (api_.verify == nullptr) return "";
    std::array<char, 512> buf{};
    const int bad = call([&] { return api_.verify(state_, &bridge_.c, buf.data(), buf.size()); });
    if (bad == 0) return "";
    buf.back() = '\0';
    return buf[0] == '\0' ? std::string("verify() failed without saying why") : one_line(buf.data());
  }

 private:

  static std::vector<const void*> states_of(std::span<const SimAllocator* const> tasks) {
    std::vector<const void*> out;
    out.reserve(tasks.size());
    for (const SimAllocator* t : tasks) out.push_back(static_cast<const PluginAllocator*>(t)->state_);
    return out;
  }

  std::string name_;
  const pprsim_allocator& api_;
  Bridge bridge_;
  void* state_;
};

}  // namespace

void check_plugin(const std::string& path) { load(path); }

std::unique_ptr<SimAllocator> make_plugin_allocator(const std::string& path, SimMemory& mem) {
  return PluginAllocator::create(path, mem);
}

}  // namespace pprsim
