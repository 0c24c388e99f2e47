// Compiling and copying the inputs of a native build (compile_inputs.h).
#include "native/engine/compile_inputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "native/engine/native_build_error.h"
#include "native/engine/subprocess.h"

namespace pprsim {
namespace {

// A file name for the work folder: the input's position, then its name with anything but
// letters, digits, '.', '-' and '_' replaced, so that nm's output parses word by word.
std::string work_name(std::size_t index, const std::string& path, std::string_view ext) {
  std::string stem = std::filesystem::path(path).stem().string();
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return fmt::format("{:02}-{}{}", index, stem, ext);
}

// The prerequisites of a make rule as clang writes it with -MD: "obj: a.c b.h \<newline> c.h",
// with spaces in names escaped by a backslash.
std::vector<std::string> read_depfile(const std::filesystem::path& file) {
  std::ifstream in(file);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> out;
  std::string word;
  bool past_target = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == ' ')) {
      if (text[i + 1] == ' ') word += ' ';
      ++i;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!word.empty() && past_target) out.push_back(word);
      if (!word.empty() && !past_target && word.back() == ':') past_target = true;
      word.clear();
      continue;
    }
    word += c;
  }
  if (!word.empty() && past_target) out.push_back(word);
  return out;
}

std::filesystem::path absolute_path(const std::string& p) { return std::filesystem::absolute(p).lexically_normal(); }

void compile_one(const PinnedCompiler& compiler, const std::vector<std::string>& include_dirs, const std::string& source,
                 bool cxx, const BuiltInput& out, const std::filesystem::path& work,
                 std::set<std::filesystem::path>& headers) {
  const auto depfile = std::filesystem::path(out.file).replace_extension(".d");
  std::vector<std::string> argv = {cxx ? compiler.cxx_driver : compiler.c_driver};
  const auto& flags = cxx ? cxx_compile_flags() : c_compile_flags();
  argv.insert(argv.end(), flags.begin(), flags.end());
  for (const std::string& dir : include_dirs) argv.insert(argv.end(), {"-I", dir});
  argv.insert(argv.end(), {"-MD", "-MF", depfile.string(), "-c", source, "-o", out.file.string()});
  const ProcessResult r = run_process(argv, work);
  if (r.status != 0) {
    NativeBuildError e(NativeBuildError::Kind::Compile,
                       fmt::format("native: {} does not compile: {}", source,
                                   r.status == 127 ? r.err : first_error_line(r.err)));
    e.first_error = first_error_line(r.err);
    throw e;
  }
  const auto self = absolute_path(source);
  for (const std::string& dep : read_depfile(depfile))
    if (absolute_path(dep) != self) headers.insert(absolute_path(dep));
}

void copy_prebuilt(const std::string& path, const std::filesystem::path& to) {
  std::error_code ec;
  std::filesystem::copy_file(path, to, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec)
    throw NativeBuildError(NativeBuildError::Kind::Io,
                           fmt::format("native: cannot copy {} to {}: {}", path, to.string(), ec.message()));
}

}  // namespace

std::string first_error_line(const std::string& output) {
  std::istringstream lines(output);
  std::string first_nonempty;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(": error: ") != std::string::npos || line.find(": fatal error: ") != std::string::npos)
      return line;
    if (first_nonempty.empty() && !line.empty()) first_nonempty = line;
  }
  return first_nonempty.empty() ? "(the compiler said nothing)" : first_nonempty;
}

CompiledInputs compile_inputs(const NativeSpec& spec, const PinnedCompiler& compiler, const std::filesystem::path& work) {
  std::vector<NativeInput> all = spec.inputs;
  all.push_back({NativeInput::Kind::CSource, spec.port});
  CompiledInputs out;
  std::set<std::filesystem::path> headers;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const NativeInput& in = all[i];
    BuiltInput b;
    b.shown = in.path;
    b.archive = in.kind == NativeInput::Kind::Archive;
    b.cxx = in.kind == NativeInput::Kind::CxxSource;
    b.file = work / work_name(i, in.path, b.archive ? ".a" : ".o");
    if (in.kind == NativeInput::Kind::CSource || in.kind == NativeInput::Kind::CxxSource)
      compile_one(compiler, spec.include_dirs, in.path, b.cxx, b, work, headers);
    else
      copy_prebuilt(in.path, b.file);
    out.files.push_back(b);
  }
  // A header that is itself an input is hashed as an input already.
  for (const NativeInput& in : all) headers.erase(absolute_path(in.path));
  out.headers.assign(headers.begin(), headers.end());
  return out;
}

}  // namespace pprsim
