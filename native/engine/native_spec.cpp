// Parsing of `native:SPEC` (native_spec.h).
#include "native/engine/native_spec.h"

#include <fmt/format.h>

#include <optional>
#include <system_error>

#include "native/engine/native_build_error.h"

namespace pprsim {
namespace {

constexpr std::string_view kExpected =
    "expected sources (.c, .cc, .cpp), objects (.o) or archives (.a) and one port=FILE.c, separated by commas";

[[noreturn]] void bad(const std::string& what) {
  throw NativeBuildError(NativeBuildError::Kind::Spec, fmt::format("native: {}", what));
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() > tail.size() && s.substr(s.size() - tail.size()) == tail;
}

std::optional<NativeInput::Kind> kind_of(std::string_view path) {
  if (ends_with(path, ".c")) return NativeInput::Kind::CSource;
  if (ends_with(path, ".cc") || ends_with(path, ".cpp")) return NativeInput::Kind::CxxSource;
  if (ends_with(path, ".o")) return NativeInput::Kind::Object;
  if (ends_with(path, ".a")) return NativeInput::Kind::Archive;
  return std::nullopt;
}

void must_exist(const std::string& path, std::string_view role) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) bad(fmt::format("{} '{}' does not exist", role, path));
  if (!std::filesystem::is_regular_file(path, ec)) bad(fmt::format("{} '{}' is not a regular file", role, path));
}

// One item of the list: either port=... or an input path.
void take_item(std::string_view item, std::size_t index, NativeSpec& spec, bool& have_port,
               const std::filesystem::path& bop_port) {
  if (item.empty()) bad(fmt::format("item {} is empty; {}", index, kExpected));
  const auto eq = item.find('=');
  if (eq != std::string_view::npos) {
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key != "port") bad(fmt::format("unknown option '{}'; the only option is port=FILE.c", item));
    if (have_port) bad(fmt::format("port= given twice ('{}' and '{}'); expected exactly one", spec.port, value));
    if (value.empty()) bad("port= names no file; expected port=FILE.c or port=bop");
    have_port = true;
    if (value == "bop") {
      if (bop_port.empty()) bad("port=bop: this pprsim ships no BOP port; expected port=FILE.c");
      spec.port = bop_port.string();
      spec.port_is_bop = true;
      must_exist(spec.port, "the shipped BOP port");
      return;
    }
    if (!ends_with(value, ".c")) bad(fmt::format("port '{}' is not a C file; expected port=FILE.c or port=bop", value));
    spec.port = std::string(value);
    must_exist(spec.port, "port");
    return;
  }
  const auto kind = kind_of(item);
  if (!kind) bad(fmt::format("'{}' is not a source (.c, .cc, .cpp), an object (.o) or an archive (.a)", item));
  for (const NativeInput& in : spec.inputs)
    if (in.path == item) bad(fmt::format("'{}' is named twice; expected each input once", item));
  spec.inputs.push_back({*kind, std::string(item)});
  must_exist(spec.inputs.back().path, "input");
}

}  // namespace

NativeSpec parse_native_spec(std::string_view text, const std::filesystem::path& bop_port) {
  if (text.empty()) bad(fmt::format("the spec is empty; {}", kExpected));
  NativeSpec spec;
  bool have_port = false;
  std::size_t index = 1, start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    take_item(item, index, spec, have_port, bop_port);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
    ++index;
  }
  if (!have_port) bad("no port=FILE.c; expected one port, the C file naming the allocator's entry points");
  for (const NativeInput& in : spec.inputs)
    if (in.path == spec.port) bad(fmt::format("'{}' is both the port and an input; expected it once", spec.port));
  return spec;
}

}  // namespace pprsim
