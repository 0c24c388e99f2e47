#include "sim/json_text.h"
#include "tools/html_parts.h"

#include <fmt/format.h>

#include <algorithm>

namespace pprsim::html {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// j[key], or null when j is no object or has no such key: the page is drawn from JSON a user
// may hand to `pprsim report`, where a missing key must not be undefined behaviour.
const Json& field(const Json& j, const char* key) {
  static const Json null;
  if (!j.is_object()) return null;
  const auto it = j.find(key);
  return it == j.end() ? null : *it;
}

// j[key] as a count: 0 when missing, negative or not an integer.
std::uint64_t u64(const Json& j, const char* key) {
  const Json& v = field(j, key);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) return static_cast<std::uint64_t>(std::max<std::int64_t>(0, v.get<std::int64_t>()));
  return 0;
}

std::string text_of(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return json_text(j);
}


std::string bytes_text(std::uint64_t n) {
  if (n >= (std::uint64_t{1} << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
  if (n >= (std::uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
  if (n >= (std::uint64_t{1} << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / (1 << 10));
  return fmt::format("{} B", n);
}


std::uint64_t u64_at(const Json& a, std::size_t i) {
  if (!a.is_array() || i >= a.size()) return 0;
  const Json& v = a[i];
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) return static_cast<std::uint64_t>(std::max<std::int64_t>(0, v.get<std::int64_t>()));
  return 0;
}

Budget budget_for(std::size_t runs) {
  if (runs <= 4) return {};
  return {.groups = 6, .rows = 25, .full_heap = false, .bars = 40};
}

std::string group_id(std::size_t run, std::uint64_t group) { return fmt::format("g-{}-{}", run, group); }

}  // namespace pprsim::html
