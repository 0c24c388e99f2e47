#include "sim/plugin_allocator.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <type_traits>
#include <utility>
#include <vector>

#include "alloc/pprsim_plugin.h"
#include "sim/address_space.h"
#include "sim/call_guard.h"
#include "sim/plugin_edges.h"
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
  if (api->abi_version < PPRSIM_PLUGIN_ABI_OLDEST || api->abi_version > PPRSIM_PLUGIN_ABI_VERSION) {
    throw PluginError(fmt::format("{}: plugin ABI version {}, this pprsim reads versions {} to {}", where,
                                  api->abi_version, PPRSIM_PLUGIN_ABI_OLDEST, PPRSIM_PLUGIN_ABI_VERSION));
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
  note_plugin_object(path, handle);  // for its edge coverage, if it was built with it
  loaded.emplace(path, api);
  return *api;
}

// The memory handed to the plugin: SimMemory behind C callbacks that never throw. The first
// fault of a call is kept and raised when the call returns; so is any other error of pprsim's
// own (the simulation's memory limit reached while a plugin grows), which must not unwind
// through the plugin's C frames either.
struct Bridge {
  SimMemory* mem = nullptr;
  bool faulted = false;
  Addr fault_addr = 0;
  std::exception_ptr error;  // the first error that is not a fault
  pprsim_memory c{};

  // Runs pprsim's side of a callback. The watchdog never jumps over these frames: a hang it
  // noticed meanwhile is acted on by the C entry point once this returned (see hang_point).
  template <class F>
  static void guard(void* ctx, F&& f) {
    Bridge& b = *static_cast<Bridge*>(ctx);
    const CallbackScope scope;
    try {
      f(*b.mem);
    } catch (const MemoryFault& e) {
      if (!b.faulted) {
        b.faulted = true;
        b.fault_addr = e.addr();
      }
    } catch (...) {
      if (!b.error) b.error = std::current_exception();
    }
  }
  static void hang_point() { CallbackScope::act_on_pending_hang(); }

  explicit Bridge(SimMemory* m) : mem(m) {
    c.ctx = this;
    c.load64 = [](void* ctx, pprsim_addr a) -> std::uint64_t {
      std::uint64_t v = 0;
      guard(ctx, [&](SimMemory& m) { v = m.load64(a); });
      hang_point();
      return v;
    };
    c.store64 = [](void* ctx, pprsim_addr a, std::uint64_t v) {
      guard(ctx, [&](SimMemory& m) { m.store64(a, v); });
      hang_point();
    };
    c.read = [](void* ctx, pprsim_addr a, void* out, std::uint64_t n) {
      bool ok = false;
      guard(ctx, [&](SimMemory& m) {
        m.read(a, out, n);
        ok = true;
      });
      if (!ok && n != 0) std::memset(out, 0, n);
      hang_point();
    };
    c.write = [](void* ctx, pprsim_addr a, const void* in, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.write(a, in, n); });
      hang_point();
    };
    c.zero = [](void* ctx, pprsim_addr a, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.zero(a, n); });
      hang_point();
    };
    c.copy = [](void* ctx, pprsim_addr d, pprsim_addr s, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.copy(d, s, n); });
      hang_point();
    };
    c.sys_alloc = [](void* ctx, std::uint64_t n) -> pprsim_addr {
      pprsim_addr a = 0;
      guard(ctx, [&](SimMemory& m) { a = m.sys_alloc(n); });
      hang_point();
      return a;
    };
    c.sys_free = [](void* ctx, pprsim_addr a, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.sys_free(a, n); });
      hang_point();
    };
    c.task_sys_alloc = [](void* ctx, std::uint64_t n) -> pprsim_addr {
      pprsim_addr a = 0;
      guard(ctx, [&](SimMemory& m) { a = m.task_sys_alloc(n); });
      hang_point();
      return a;
    };
    c.sys_grow = [](void* ctx, pprsim_addr a, std::uint64_t n, std::uint64_t new_n) -> pprsim_addr {
      pprsim_addr r = 0;
      guard(ctx, [&](SimMemory& m) { r = m.sys_grow(a, n, new_n); });
      hang_point();
      return r;
    };
    c.sys_idle = [](void* ctx, pprsim_addr a, std::uint64_t n) {
      guard(ctx, [&](SimMemory& m) { m.sys_idle(a, n); });
      hang_point();
    };
  }
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Raises the error, else the fault, of the call that just returned, if it had one.
  void settle() {
    if (error) {
      faulted = false;
      std::rethrow_exception(std::exchange(error, nullptr));
    }
    if (!faulted) return;
    faulted = false;
    throw MemoryFault(fault_addr);
  }
};

// The plugin's functions run under the call guard (sim/call_guard.h): a crash or a hang in one
// is an AllocatorCrash, and from then on every copy of the allocator (the group's processes
// share the mark) refuses to run the plugin's code again, so that reporting the failure (a heap
// map, dropping the processes) never calls into a plugin that is known to be broken.
class PluginAllocator final : public SimAllocator {
 public:
  // The states of a plugin that crashed: not destroyed (destroy() is its code), kept reachable
  // for the program's life.
  static std::vector<void*>& quarantine() {
    static auto* states = new std::vector<void*>;
    return *states;
  }

  PluginAllocator(std::string name, const pprsim_allocator& api, SimMemory& mem, void* state,
                  std::shared_ptr<std::string> broken)
      : name_(std::move(name)), api_(api), bridge_(&mem), state_(state), broken_(std::move(broken)) {}
  ~PluginAllocator() override {
    if (!broken_->empty()) {
      // Its state may be anything now: never handed to the plugin again, kept where it is.
      quarantine().push_back(state_);
      return;
    }
    try {
      guarded("destroy", [&] { api_.destroy(state_); });
    } catch (const AllocatorCrash& e) {
      *broken_ = e.call();
    }
  }
  PluginAllocator(const PluginAllocator&) = delete;
  PluginAllocator& operator=(const PluginAllocator&) = delete;

  static std::unique_ptr<SimAllocator> create(const std::string& path, SimMemory& mem) {
    const pprsim_allocator& api = load(path);
    const std::string name = fmt::format("{}{}", kPluginPrefix, path);
    Bridge probe(&mem);
    void* state = nullptr;
    try {
      state = guarded("create", [&] { return api.create(&probe.c); });
    } catch (const AllocatorCrash& e) {
      throw PluginError(fmt::format("{}: create() crashed: {}", name, e.reason()));
    }
    try {
      probe.settle();
    } catch (const MemoryFault& f) {
      throw PluginError(fmt::format("{}: create() touched memory it never obtained ({})", name, f.what()));
    }
    if (state == nullptr) throw PluginError(name + ": create() returned NULL");
    return std::make_unique<PluginAllocator>(name, api, mem, state, std::make_shared<std::string>());
  }

  // Runs one plugin function under the guard, then raises the memory fault it met, if any.
  template <class F>
  auto call(const char* what, F&& f) const -> decltype(f()) {
    if (!broken_->empty()) {
      throw AllocatorFailure(fmt::format("{} is not called again: the allocator crashed in {}", what, *broken_));
    }
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        guarded(what, f);
        bridge_.settle();
      } else {
        auto r = guarded(what, f);
        bridge_.settle();
        return r;
      }
    } catch (const AllocatorCrash& e) {
      *broken_ = e.call();
      bridge_.faulted = false;
      bridge_.error = nullptr;
      throw;
    }
  }

  std::unique_ptr<SimAllocator> clone(SimMemory& mem) const override {
    if (!broken_->empty()) throw AllocatorFailure(fmt::format("the allocator crashed in {}", *broken_));
    void* copy = nullptr;
    try {
      copy = guarded("clone", [&] { return api_.clone(state_); });
    } catch (const AllocatorCrash& e) {
      *broken_ = e.call();
      throw;
    }
    if (copy == nullptr) throw AllocatorFailure(name_ + ": clone() returned NULL");
    return std::make_unique<PluginAllocator>(name_, api_, mem, copy, broken_);
  }
  std::string_view name() const override { return name_; }

  Addr malloc(std::uint64_t n) override { return call("malloc", [&] { return api_.malloc(state_, &bridge_.c, n); }); }
  Addr calloc(std::uint64_t count, std::uint64_t size) override {
    return call("calloc", [&] { return api_.calloc(state_, &bridge_.c, count, size); });
  }
  Addr memalign(std::uint64_t align, std::uint64_t n) override {
    return call("memalign", [&] { return api_.memalign(state_, &bridge_.c, align, n); });
  }
  Addr realloc(Addr p, std::uint64_t n) override {
    return call("realloc", [&] { return api_.realloc(state_, &bridge_.c, p, n); });
  }
  void free(Addr p) override { call("free", [&] { api_.free(state_, &bridge_.c, p); }); }
  std::uint64_t usable_size(Addr p) override {
    return call("usable_size", [&] { return api_.usable_size(state_, &bridge_.c, p); });
  }

  bool group_init(int g) override { return call("group_init", [&] { return api_.group_init(state_, &bridge_.c, g); }) != 0; }
  void task_init(int k) override { call("task_init", [&] { api_.task_init(state_, &bridge_.c, k); }); }
  void understudy_init() override { call("understudy_init", [&] { api_.understudy_init(state_, &bridge_.c); }); }
  void merge(std::span<const SimAllocator* const> tasks, std::size_t committed) override {
    const std::vector<const void*> states = states_of(tasks);
    call("merge", [&] { api_.merge(state_, &bridge_.c, states.data(), states.size(), committed); });
  }
  void learn(std::span<const SimAllocator* const> tasks) override {
    if (api_.learn == nullptr) return;
    const std::vector<const void*> states = states_of(tasks);
    call("learn", [&] { api_.learn(state_, states.data(), states.size()); });
  }

  bool gave_up() const override { return call("gave_up", [&] { return api_.gave_up(state_); }) != 0; }
  std::uint64_t reserved_bytes() const override {
    if (api_.reserved_bytes == nullptr) return 0;
    return call("reserved_bytes", [&] { return api_.reserved_bytes(state_); });
  }
  std::uint64_t task_allocated_bytes() const override {
    if (api_.task_allocated_bytes == nullptr) return 0;
    return call("task_allocated_bytes",
                                                    [&] { return api_.task_allocated_bytes(state_); });
  }

  bool has_census() const override { return api_.walk_region != nullptr; }
  bool has_verify() const override { return api_.verify != nullptr; }

  bool walk_region(Addr base, std::uint64_t size, const BlockVisit& visit) override {
    if (api_.walk_region == nullptr) return true;
    auto thunk = [](void* cookie, const pprsim_block* b) {
      const CallbackScope scope;
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
    return call("walk_region", [&] {
      return api_.walk_region(state_, &bridge_.c, base, size, thunk, const_cast<BlockVisit*>(&visit));
    }) != 0;
  }
  void walk_free(std::uint64_t max_steps, const FreeVisit& visit) override {
    if (api_.walk_free == nullptr) return;
    auto thunk = [](void* cookie, pprsim_addr block, std::int32_t size_class) {
      const CallbackScope scope;
      (*static_cast<const FreeVisit*>(cookie))(FreeEntry{block, size_class});
    };
    call("walk_free", [&] { api_.walk_free(state_, &bridge_.c, max_steps, thunk, const_cast<FreeVisit*>(&visit)); });
  }
  std::string describe(Addr base, std::uint64_t size, Addr a) override {
    std::array<char, 256> buf{};
    if (api_.describe != nullptr) {
      call("describe", [&] { api_.describe(state_, &bridge_.c, base, size, a, buf.data(), buf.size()); });
      buf.back() = '\0';
    }
    if (buf[0] == '\0') return fmt::format("allocator memory at {:#x}", a);
    return one_line(buf.data());
  }
  std::string verify() override {
    if (api_.verify == nullptr) return "";
    std::array<char, 512> buf{};
    const int bad = call("verify", [&] { return api_.verify(state_, &bridge_.c, buf.data(), buf.size()); });
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
  mutable Bridge bridge_;
  void* state_;
  std::shared_ptr<std::string> broken_;  // the call it crashed in; empty while it has not
};

}  // namespace

void check_plugin(const std::string& path) { load(path); }

std::unique_ptr<SimAllocator> make_plugin_allocator(const std::string& path, SimMemory& mem) {
  return PluginAllocator::create(path, mem);
}

}  // namespace pprsim
