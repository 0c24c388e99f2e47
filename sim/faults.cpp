#include "sim/faults.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <vector>

namespace pprsim {

namespace {

std::uint32_t parse_probability(std::string_view kind, std::string_view v) {
  auto bad = [&] {
    return std::invalid_argument(
        fmt::format("fault '{}': '{}' is not a probability between 0 and 1 (e.g. 0.05)", kind, v));
  };
  if (v.empty()) throw bad();
  std::uint64_t whole = 0, frac = 0, scale = FaultPlan::kOne;
  std::size_t i = 0;
  for (; i < v.size() && v[i] != '.'; ++i) {
    if (v[i] < '0' || v[i] > '9' || i > 2) throw bad();
    whole = whole * 10 + static_cast<std::uint64_t>(v[i] - '0');
  }
  if (i < v.size()) {
    ++i;
    if (i == v.size()) throw bad();
    for (; i < v.size(); ++i) {
      if (v[i] < '0' || v[i] > '9') throw bad();
      if (scale == 1) {
        if (v[i] != '0') throw std::invalid_argument(fmt::format("fault '{}': at most 6 decimals in '{}'", kind, v));
        continue;
      }
      scale /= 10;
      frac += static_cast<std::uint64_t>(v[i] - '0') * scale;
    }
  }
  const std::uint64_t ppm = whole * FaultPlan::kOne + frac;
  if (ppm > FaultPlan::kOne) throw bad();
  return static_cast<std::uint32_t>(ppm);
}

std::string format_probability(std::uint32_t ppm) {
  std::string s = fmt::format("{}.{:06}", ppm / FaultPlan::kOne, ppm % FaultPlan::kOne);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

FaultPlan FaultPlan::parse(std::string_view spec) {
  FaultPlan plan;
  if (spec.empty()) return plan;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view item = spec.substr(start, comma - start);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      throw std::invalid_argument(fmt::format("fault '{}': expected KIND=PROBABILITY", item));
    }
    const std::string_view kind = item.substr(0, eq);
    for (std::size_t at = 0; at < start; at = std::min(spec.find(',', at), spec.size()) + 1) {
      if (spec.substr(at).starts_with(std::string(kind) + "="))
        throw std::invalid_argument(fmt::format("fault kind '{}' given twice", kind));
    }
    const std::uint32_t p = parse_probability(kind, item.substr(eq + 1));
    if (kind == "task-abort") {
      plan.task_abort = p;
    } else if (kind == "oom") {
      plan.oom = p;
    } else if (kind == "fork-fail") {
      plan.fork_fail = p;
    } else if (kind == "understudy-win") {
      plan.understudy_win = p;
    } else if (kind == "pressure") {
      plan.pressure = p;
    } else {
      throw std::invalid_argument(fmt::format(
          "unknown fault kind '{}' (known: task-abort, oom, fork-fail, understudy-win, pressure)", kind));
    }
    start = comma + 1;
  }
  return plan;
}

std::string FaultPlan::to_string() const {
  std::vector<std::string> parts;
  if (task_abort) parts.push_back("task-abort=" + format_probability(task_abort));
  if (oom) parts.push_back("oom=" + format_probability(oom));
  if (fork_fail) parts.push_back("fork-fail=" + format_probability(fork_fail));
  if (understudy_win) parts.push_back("understudy-win=" + format_probability(understudy_win));
  if (pressure) parts.push_back("pressure=" + format_probability(pressure));
  return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace pprsim
