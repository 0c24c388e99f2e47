#include "sim/sim_allocator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "alloc/builtin.h"
#include "alloc/mutants.h"
#include "alloc/ppr_allocator.h"
#include "sim/native_engine.h"
#include "sim/plugin_allocator.h"

namespace pprsim {

namespace {

// Adapts an allocator template instantiated on SimMemory to the virtual interface. The census
// and verify parts of the contract are optional, as for a plugin: without them the run says
// which checks it made.
template <PprCore<SimMemory> Impl>
class Adapter final : public SimAllocator {
 public:
  Adapter(std::string name, Impl impl) : name_(std::move(name)), impl_(std::move(impl)) {}

  std::unique_ptr<SimAllocator> clone(SimMemory& mem) const override {
    auto copy = std::make_unique<Adapter>(name_, impl_);
    copy->impl_.bind(&mem);
    return copy;
  }
  std::string_view name() const override { return name_; }

  Addr malloc(std::uint64_t n) override { return impl_.malloc(n); }
  Addr calloc(std::uint64_t count, std::uint64_t size) override { return impl_.calloc(count, size); }
  Addr memalign(std::uint64_t align, std::uint64_t n) override { return impl_.memalign(align, n); }
  Addr realloc(Addr p, std::uint64_t n) override { return impl_.realloc(p, n); }
  void free(Addr p) override { impl_.free(p); }
  std::uint64_t usable_size(Addr p) override { return impl_.usable_size(p); }

  bool group_init(int g) override { return impl_.group_init(g); }
  void task_init(int k) override { impl_.task_init(k); }
  void understudy_init() override { impl_.understudy_init(); }
  void merge(std::span<const SimAllocator* const> tasks, std::size_t committed) override {
    impl_.merge(impls(tasks), committed);
  }
  void learn(std::span<const SimAllocator* const> tasks) override { impl_.learn(impls(tasks)); }

  bool gave_up() const override { return impl_.gave_up(); }
  std::uint64_t reserved_bytes() const override { return impl_.reserved_bytes(); }
  std::uint64_t task_allocated_bytes() const override { return impl_.task_allocated_bytes(); }

  bool has_census() const override { return PprCensus<Impl>; }
  bool has_verify() const override { return PprVerify<Impl>; }
  bool walk_region(Addr base, std::uint64_t size, const BlockVisit& visit) override {
    if constexpr (PprCensus<Impl>) return impl_.walk_region(base, size, visit);
    return true;
  }
  void walk_free(std::uint64_t max_steps, const FreeVisit& visit) override {
    if constexpr (PprCensus<Impl>) impl_.walk_free(max_steps, visit);
  }
  std::string describe(Addr base, std::uint64_t size, Addr a) override {
    if constexpr (PprCensus<Impl>) return impl_.describe(base, size, a);
    return fmt::format("allocator memory at {:#x}", a);
  }
  std::string verify() override {
    if constexpr (PprVerify<Impl>) return impl_.verify();
    return "";
  }

 private:
  static std::vector<const Impl*> impls(std::span<const SimAllocator* const> tasks) {
    std::vector<const Impl*> out;
    out.reserve(tasks.size());
    for (const SimAllocator* t : tasks) out.push_back(&static_cast<const Adapter*>(t)->impl_);
    return out;
  }

  std::string name_;
  Impl impl_;
};

}  // namespace

const std::vector<std::string>& allocator_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const BuiltinAllocator& b : kBuiltinAllocators) {
      if (b.in_all) out.emplace_back(b.name);
    }
    return out;
  }();
  return names;
}

std::string allocator_name_error(std::string_view name) {
  for (const std::string& n : allocator_names()) {
    if (name == n) return "";
  }
  if (name == kExampleName) return "";
  if (name.starts_with(kMutantPrefix)) {
    for (const MutantInfo& m : kMutants) {
      if (name.substr(kMutantPrefix.size()) == m.name) return "";
    }
    return fmt::format("unknown mutant '{}' (selftest lists them)", name.substr(kMutantPrefix.size()));
  }
  if (name.starts_with(kNativePrefix)) return native_spec_error(name.substr(kNativePrefix.size()));
  if (name.starts_with(kPluginPrefix)) {
    try {
      check_plugin(std::string(name.substr(kPluginPrefix.size())));
      return "";
    } catch (const PluginError& e) {
      return e.what();
    }
  }
  return fmt::format("unknown allocator '{}' (known: {})", name, allocator_help());
}

std::string allocator_help() {
  std::vector<std::string_view> mutants;
  for (const MutantInfo& m : kMutants) mutants.push_back(m.name);
  return fmt::format("{}, {}, {}NAME (NAME: {}), {}PATH.so, {}SOURCES,port=PORT.c (an unmodified C/C++ allocator)",
                     fmt::join(allocator_names(), ", "), kExampleName, kMutantPrefix, fmt::join(mutants, ", "),
                     kPluginPrefix, kNativePrefix);
}

bool is_allocator_name(std::string_view name) { return allocator_name_error(name).empty(); }

std::unique_ptr<SimAllocator> make_allocator(std::string_view name, SimMemory& mem) {
  std::unique_ptr<SimAllocator> builtin =
      visit_builtin<SimMemory>(name, [&]<class A>(std::type_identity<A>) -> std::unique_ptr<SimAllocator> {
        return std::make_unique<Adapter<A>>(std::string(name), A(&mem));
      });
  if (builtin) return builtin;
  if (name.starts_with(kMutantPrefix)) {
    for (const MutantInfo& m : kMutants) {
      if (name.substr(kMutantPrefix.size()) == m.name) {
        using Mu = DmMallocMutant<SimMemory>;
        return std::make_unique<Adapter<Mu>>(std::string(name), Mu(&mem, m.mutant));
      }
    }
  }
  if (name.starts_with(kPluginPrefix)) {
    return make_plugin_allocator(std::string(name.substr(kPluginPrefix.size())), mem);
  }
  throw std::invalid_argument(std::string(name));
}

}  // namespace pprsim
