#include "sim/native_engine.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

#include "native/engine/native_build.h"
#include "native/engine/native_build_error.h"
#include "native/engine/pprsim_port.h"
#include "native/engine/native_spec.h"
#include "sim/native_allocator.h"
#include "sim/plugin_allocator.h"
#include "sim/sim_engine.h"

namespace pprsim {

namespace {

// A spec of one shared object is an allocator built already (with the flags pprsim prints).
bool prebuilt(std::string_view spec) { return spec.find(',') == std::string_view::npos && spec.ends_with(".so"); }

// Where pprsim_port.h is, for the port's #include: the source tree pprsim was built from, else
// an installed pprsim's include folder.
std::string port_header_dir() {
#ifdef PPRSIM_PORT_HEADER_DIR
  if (::access(PPRSIM_PORT_HEADER_DIR "/pprsim_port.h", R_OK) == 0) return PPRSIM_PORT_HEADER_DIR;
#endif
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string();
  dir.resize(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
  return dir + "/../include/pprsim";
}

// Where the BOP-compatibility port and the BOP headers it defines are (native/bop), beside
// pprsim_port.h's folder in the source tree and in an installed pprsim's include folder.
std::filesystem::path bop_port_dir() {
  const std::filesystem::path dir = std::filesystem::path(port_header_dir()).parent_path() / "bop";
  return std::filesystem::exists(dir / "bop_port.c") ? dir : std::filesystem::path(port_header_dir()) / "bop";
}

// A spec without its variant=NAME item (the port's configuration for this run, which the build
// does not see), and that NAME ("" without one).
std::pair<std::string, std::string> split_variant(std::string_view spec) {
  std::string rest;
  std::string variant;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view item = spec.substr(start, comma - start);
    if (item.starts_with("variant=")) {
      variant = std::string(item.substr(8));
    } else {
      if (!rest.empty()) rest += ',';
      rest += item;
    }
    start = comma + 1;
  }
  return {rest, variant};
}

// The library a spec names: a prebuilt one as it is, else pprsim's build of the sources (from its
// cache when built before), looked up once per spec and process: the name check and every run of
// a fuzz campaign ask again, and a cache lookup runs the compiler for its version. Throws
// PluginError: a spec, a compile or a symbol pprsim refuses.
std::string library_of(std::string_view spec) {
  if (prebuilt(spec)) return std::string(spec);
  static std::mutex mutex;
  static std::map<std::string, std::string, std::less<>> built;
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = built.find(spec); it != built.end()) return it->second;
  try {
    const std::filesystem::path bop = bop_port_dir();
    NativeSpec parsed = parse_native_spec(spec, std::filesystem::exists(bop / "bop_port.c") ? bop / "bop_port.c" : "");
    parsed.include_dirs.push_back(port_header_dir());
    // Last, so that an allocator's own headers beside its sources come first: the BOP headers,
    // for port=bop and for a port of a few lines that includes bop_port.c with other names.
    parsed.include_dirs.push_back(bop.string());
    return built.emplace(std::string(spec), build_native(parsed).shared_object.string()).first->second;
  } catch (const NativeBuildError& e) {
    throw PluginError(e.what());
  }
}

class NativeEngine final : public SimEngine {
 public:
  NativeEngine(const std::string& library, const std::string& variant, std::uint64_t memory_limit,
               std::uint64_t slice_bytes)
      : SimEngine(memory_limit, slice_bytes) {
    Process& m = main();
    std::unique_ptr<NativeWorker> worker;
    try {
      worker = NativeWorker::start(library);
    } catch (const std::runtime_error& e) {
      throw PluginError(fmt::format("native:{}: {}", library, e.what()));
    }
    // The port's name and init, the globals' window and bytes.
    wire::Request hello;
    hello.op = wire::Op::Hello;
    hello.payload = variant.size() + 1;
    NativeWorker::Reply r;
    try {
      // The variant, with its terminating zero, is the port's to read (pprsim_native_variant).
      r = worker->call("init", hello, variant.c_str(), variant.size() + 1, nullptr);
    } catch (const AllocatorFailure& e) {
      // The worker could not load the library, or its port is incomplete (it said so on stderr).
      throw PluginError(fmt::format("native:{}: the worker could not start the allocator ({})", library, e.what()));
    }
    if (r.msg.result < 1 || r.msg.result > PPRSIM_PORT_VERSION) {
      throw PluginError(fmt::format("native:{}: port version {} (this pprsim reads versions 1 to {})", library,
                                    r.msg.result, PPRSIM_PORT_VERSION));
    }
    const auto* text = reinterpret_cast<const char*>(r.extra.data());
    const std::size_t name_len = strnlen(text, r.extra.size());
    auto layout = std::make_shared<NativeLayout>();
    layout->name = fmt::format("native:{}{}", std::string_view(text, name_len), variant.empty() ? "" : "/" + variant);
    layout->globals_lo = r.msg.a;
    layout->globals_hi = r.msg.b;
    layout->keeps_state = (r.msg.gave_up & wire::kHasTaskState) != 0;
    layout->learns = (r.msg.gave_up & wire::kHasLearnStates) != 0;
    layout->census = (r.msg.gave_up & wire::kHasCensus) != 0;
    layout->verifies = (r.msg.gave_up & wire::kHasVerify) != 0;
    const std::uint64_t globals = layout->globals_hi - layout->globals_lo;
    if (name_len == r.extra.size() || r.extra.size() - name_len - 1 != globals) {
      throw PluginError(fmt::format("native:{}: the worker's greeting is malformed", library));
    }
    if (globals != 0) {
      m.space.map(wire::kGlobalsBase, globals);
      m.space.write(wire::kGlobalsBase, r.extra.data() + name_len + 1, globals);
    }
    layout_ = layout;
    auto alloc = std::make_unique<NativeAllocator>(std::move(worker), m.mem, std::move(layout), -1);
    alloc->replay(r);  // what init did in the heap
    m.alloc = std::move(alloc);
  }

  // The simulator's commit of the tasks' memory, then the same changes in MAIN's worker, task by
  // task, and the port's merge there.
  CommitResult commit(std::vector<Runner>& tasks, std::size_t m) override {
    Process& main_proc = main();
    CommitResult out = commit_memory(main_proc, tasks, m);
    auto& native = static_cast<NativeAllocator&>(*main_proc.alloc);
    for (std::size_t k = 0; k < m; ++k) {
      Process& t = *tasks[k].proc;
      for (const auto& [base, size] : t.sys.obtained()) native.map(base, size);
      native.poke(written(t));
      for (const auto& [base, size] : t.sys.released()) native.unmap(base, size);
    }
    main_proc.alloc->merge(task_allocators(tasks), m);
    return out;
  }

  // The understudy's process becomes MAIN, and its worker's heap the one later tasks fork from.
  void adopt_understudy(Runner& understudy) override {
    SimEngine::adopt_understudy(understudy);
    static_cast<NativeAllocator&>(*main().alloc).adopt();
  }

 private:
  // What task `t` wrote where the worker holds memory, from its access log and its memory.
  NativeAllocator::Pokes written(Process& t) const {
    NativeAllocator::Pokes out;
    if (!t.log) return out;
    for (const auto& [pn, plog] : t.log->pages()) {
      const Addr page = pn * kPageSize;
      if (!plog->write_line.any() || !layout_->in_worker(page) || !t.space.is_mapped(page)) continue;
      const std::uint8_t* bytes = t.space.page_bytes(pn);
      plog->write_line.for_each_run([&](std::uint64_t from, std::uint64_t to) {
        out.add(page + from, bytes + from, to - from);
      });
    }
    return out;
  }

  std::shared_ptr<const NativeLayout> layout_;
};

}  // namespace

std::string native_spec_error(std::string_view spec) {
  std::string library;
  const auto [rest, variant] = split_variant(spec);
  if (spec.find("variant=") != std::string_view::npos && variant.empty())
    return "native: variant= names nothing; expected variant=NAME";
  if (spec.find("variant=") != spec.rfind("variant=")) return "native: variant= given twice; expected one variant=NAME";
  try {
    library = library_of(rest);
  } catch (const PluginError& e) {
    return e.what();
  }
  struct stat st {};
  if (library.empty()) return "native: names no library (native:PATH.so)";
  if (::stat(library.c_str(), &st) != 0) return fmt::format("native:{}: {}", library, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fmt::format("native:{}: not a regular file", library);
  return "";
}

std::unique_ptr<Engine> make_native_engine(std::string_view spec, std::uint64_t memory_limit,
                                           std::uint64_t slice_bytes) {
  const auto [rest, variant] = split_variant(spec);
  return std::make_unique<NativeEngine>(library_of(rest), variant, memory_limit,
                                        slice_bytes != 0 ? slice_bytes : wire::kNativeSliceBytes);
}

}  // namespace pprsim
