// The native build from spec to cached shared object (native_build.h).
#include "native/engine/native_build.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "native/engine/build_cache.h"
#include "native/engine/compile_inputs.h"
#include "native/engine/content_hash.h"
#include "native/engine/native_build_error.h"
#include "native/engine/object_symbols.h"
#include "native/engine/pinned_compiler.h"
#include "native/engine/subprocess.h"
#include "native/engine/symbol_rules.h"

namespace pprsim {
namespace {

std::filesystem::path make_scratch() {
  std::string pattern = (std::filesystem::temp_directory_path() / "pprsim-native-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw NativeBuildError(NativeBuildError::Kind::Io, fmt::format("native: cannot create a folder like {}", pattern));
  return pattern;
}

void add_all(ContentHash& h, std::string_view what, const std::vector<std::string>& items) {
  h.add(what);
  for (const std::string& s : items) h.add(s);
}

// What decides the build apart from the headers: see build_cache.h.
std::string base_key(const NativeSpec& spec, const PinnedCompiler& compiler) {
  ContentHash h;
  h.add(kNativeBuildVersion).add(compiler.version_line);
  add_all(h, "c", c_compile_flags());
  add_all(h, "c++", cxx_compile_flags());
  add_all(h, "link", link_flags());
  for (const RenamedSymbol& r : renamed_symbols()) h.add(r.from).add(r.to);
  std::vector<NativeInput> all = spec.inputs;
  all.push_back({NativeInput::Kind::CSource, spec.port});
  for (const NativeInput& in : all) {
    // The path as written is part of the build (assert messages and debug lines carry it).
    h.add(fmt::format("{}", static_cast<int>(in.kind))).add(in.path);
    if (!h.add_file(in.path))
      throw NativeBuildError(NativeBuildError::Kind::Spec, fmt::format("native: cannot read '{}'", in.path));
  }
  return h.hex();
}

// "lib.a[member.o]" in nm's words as "lib.a(member.o)" with the archive's spec path.
std::string shown_name(const BuiltInput& in, const std::string& nm_name) {
  if (!in.archive) return in.shown;
  const auto open = nm_name.find('[');
  return open == std::string::npos ? in.shown : fmt::format("{}({})", in.shown, nm_name.substr(open + 1, nm_name.size() - open - 2));
}

[[noreturn]] void refuse(const std::string& object, const std::string& symbol) {
  NativeBuildError e(NativeBuildError::Kind::RefusedSymbol,
                     fmt::format("native: {} calls {}, which pprsim cannot track ({}; allowed: {})", object, symbol,
                                 refusal_reason(symbol), allowed_summary()));
  e.symbol = symbol;
  e.object = object;
  throw e;
}

// Renames the calls of every input to the shims, then refuses any call left that is neither
// defined by another input nor on the allow-list.
void rename_and_check(const std::vector<BuiltInput>& inputs, const std::filesystem::path& work) {
  std::vector<std::vector<ObjectSymbols>> symbols;
  std::set<std::string> defined;
  for (const BuiltInput& in : inputs) {
    symbols.push_back(read_symbols(in.file, work));
    for (const ObjectSymbols& o : symbols.back()) defined.insert(o.defined.begin(), o.defined.end());
  }
  // A function the allocator defines itself (its own memset, say) is instrumented code: calls
  // to it stay as they are, and renaming would rename its definition too.
  std::map<std::string, std::string> table;
  for (const RenamedSymbol& r : renamed_symbols())
    if (!defined.contains(std::string(r.from))) table.emplace(r.from, r.to);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::map<std::string, std::string> used;
    for (const ObjectSymbols& o : symbols[i])
      for (const std::string& u : o.undefined)
        if (auto it = table.find(u); it != table.end()) used.insert(*it);
    if (!used.empty()) rename_symbols(inputs[i].file, used, work);
    for (const ObjectSymbols& o : symbols[i])
      for (const std::string& u : o.undefined)
        if (!table.contains(u) && !defined.contains(u) && !symbol_allowed(u)) refuse(shown_name(inputs[i], o.name), u);
  }
}

void link_library(const PinnedCompiler& compiler, const std::vector<BuiltInput>& inputs,
                  const std::filesystem::path& output, const std::filesystem::path& work) {
  bool cxx = false;
  for (const BuiltInput& in : inputs) cxx = cxx || in.cxx;
  std::vector<std::string> argv = {cxx ? compiler.cxx_driver : compiler.c_driver};
  argv.insert(argv.end(), link_flags().begin(), link_flags().end());
  argv.insert(argv.end(), {"-o", output.string()});
  // Every member of an archive is linked: what was checked is what runs. (Strings, not literals:
  // gcc 12 under LTO warned that building one from the 20-byte literal read past 16 bytes.)
  static const std::string whole = "-Wl,--whole-archive", no_whole = "-Wl,--no-whole-archive";
  for (const BuiltInput& in : inputs) {
    if (in.archive) argv.push_back(whole);
    argv.push_back(in.file.string());
    if (in.archive) argv.push_back(no_whole);
  }
  const ProcessResult r = run_process(argv, work);
  if (r.status != 0) {
    NativeBuildError e(NativeBuildError::Kind::Compile,
                       fmt::format("native: the objects do not link: {}", first_error_line(r.err)));
    e.first_error = first_error_line(r.err);
    throw e;
  }
  // The linker may add references of its own; they face the same allow-list.
  for (const ObjectSymbols& o : read_symbols(output, work))
    for (const std::string& u : o.undefined) {
      const std::string bare = u.substr(0, u.find('@'));
      if (!symbol_allowed(bare)) refuse("the linked library", bare);
    }
}

void write_build_notes(const std::filesystem::path& file, const NativeBuildResult& r) {
  std::ofstream out(file);
  out << "compiler: " << r.compiler << "\nversion: " << r.compiler_version << "\nc flags:";
  for (const auto& f : r.c_flags) out << ' ' << f;
  out << "\nc++ flags:";
  for (const auto& f : r.cxx_flags) out << ' ' << f;
  out << "\nlink flags:";
  for (const auto& f : r.link_flags) out << ' ' << f;
  out << '\n';
}

}  // namespace

NativeBuildResult build_native(const NativeSpec& spec, const NativeBuildOptions& options) {
  const std::filesystem::path root = options.cache_dir.empty() ? default_native_cache_dir() : options.cache_dir;
  const std::filesystem::path scratch = make_scratch();
  RemoveOnExit scratch_guard(scratch);
  const PinnedCompiler compiler = find_pinned_compiler(scratch);
  NativeBuildResult result{{}, {}, false, compiler.c_driver, compiler.version_line,
                           c_compile_flags(), cxx_compile_flags(), link_flags()};
  const std::string base = base_key(spec, compiler);
  if (const auto key = cached_key(root, base); key && entry_present(root, *key)) {
    result.key = *key;
    result.cached = true;
    result.shared_object = root / *key / kNativeLibraryName;
    return result;
  }
  const CompiledInputs compiled = compile_inputs(spec, compiler, scratch);
  rename_and_check(compiled.files, scratch);
  const auto key = key_with_headers(base, compiled.headers);
  if (!key)
    throw NativeBuildError(NativeBuildError::Kind::Io, "native: a header the sources included cannot be read back");
  const std::filesystem::path staging = make_staging(root, *key);
  RemoveOnExit staging_guard(staging);
  link_library(compiler, compiled.files, staging / kNativeLibraryName, scratch);
  write_build_notes(staging / "build.txt", result);
  const std::filesystem::path entry = publish_entry(root, staging, *key);
  staging_guard.release();
  write_header_list(root, base, compiled.headers);
  result.key = *key;
  result.shared_object = entry / kNativeLibraryName;
  return result;
}

}  // namespace pprsim
