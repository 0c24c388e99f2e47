#include "sim/coverage.h"
#include "sim/coverage_report.h"

#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pprsim {

void Coverage::merge(const Coverage& other) {
  for (unsigned i = 0; i < kProbeCount; ++i) hits_[i] += other.hits_[i];
  pairs_ |= other.pairs_;
  edges_ |= other.edges_;
}

std::size_t Coverage::new_over(const Coverage& seen) const {
  std::size_t n = 0;
  for (unsigned i = 0; i < kProbeCount; ++i) n += hits_[i] != 0 && seen.hits_[i] == 0 ? 1 : 0;
  return n + (pairs_ & ~seen.pairs_).count() + (edges_ & ~seen.edges_).count();
}

unsigned Coverage::reached_in(const ProbeFamily& family) const {
  unsigned n = 0;
  for (unsigned i = family.first; i < family.first + family.count; ++i) n += reached(i) ? 1 : 0;
  return n;
}

std::vector<const ProbeFamily*> probe_families(std::string_view allocator) {
  if (allocator == "dmmalloc" || allocator == "shared" || allocator.starts_with("mutant:")) {
    return {&kProbeFamilies[0]};
  }
  if (allocator == "comalloc") return {&kProbeFamilies[1], &kProbeFamilies[2]};
  return {};
}

std::string coverage_text(const Coverage& c, std::string_view allocator) {
  std::string out;
  for (const ProbeFamily* f : probe_families(allocator)) {
    std::vector<std::string_view> never;
    for (unsigned i = f->first; i < f->first + f->count; ++i) {
      if (!c.reached(i)) never.push_back(probe_info(i).name);
    }
    out += fmt::format("exercised {} of {} {} paths", f->count - never.size(), f->count, f->name);
    out += never.empty() ? "\n" : fmt::format("; never: {}\n", fmt::join(never, ", "));
  }
  return out + edge_coverage_text(c, allocator);
}

nlohmann::ordered_json coverage_json(const Coverage& c, std::string_view allocator) {
  nlohmann::ordered_json j;
  const std::vector<const ProbeFamily*> families = probe_families(allocator);
  unsigned paths = 0;
  unsigned exercised = 0;
  auto list = nlohmann::ordered_json::array();
  for (const ProbeFamily* f : families) {
    paths += f->count;
    exercised += c.reached_in(*f);
    for (unsigned i = f->first; i < f->first + f->count; ++i) {
      nlohmann::ordered_json p;
      p["family"] = f->name;
      p["probe"] = probe_info(i).name;
      p["guards"] = probe_info(i).guards;
      p["hits"] = c.hits(i);
      list.push_back(std::move(p));
    }
  }
  j["paths"] = paths;
  j["exercised"] = exercised;
  std::vector<unsigned> ids;
  for (const ProbeFamily* f : families) {
    for (unsigned i = f->first; i < f->first + f->count; ++i) ids.push_back(i);
  }
  std::size_t pairs = 0;  // one probe after another in the same process
  for (const unsigned a : ids) {
    for (const unsigned b : ids) pairs += c.pair(a, b) ? 1 : 0;
  }
  j["pairs"] = pairs;
  j["probes"] = std::move(list);
  add_edge_coverage_json(j, c, allocator);
  return j;
}

}  // namespace pprsim

namespace pprsim {

nlohmann::ordered_json merge_coverage_json(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
  if (a.is_null()) return b;
  if (b.is_null()) return a;
  const auto probes_of = [](const nlohmann::ordered_json& j) {
    return j.is_object() && j.contains("probes") && j["probes"].is_array() ? j["probes"] : nlohmann::ordered_json();
  };
  const nlohmann::ordered_json pa = probes_of(a);
  const nlohmann::ordered_json pb = probes_of(b);
  if (pa.is_null() || pb.is_null() || pa.size() != pb.size()) return nullptr;
  nlohmann::ordered_json out;
  out["paths"] = pa.size();
  std::uint64_t exercised = 0;
  auto list = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    if (!pa[i].is_object() || !pb[i].is_object() || pa[i].value("probe", "") != pb[i].value("probe", "")) return nullptr;
    nlohmann::ordered_json p = pa[i];
    p["hits"] = pa[i].value("hits", std::uint64_t{0}) + pb[i].value("hits", std::uint64_t{0});
    exercised += p["hits"].get<std::uint64_t>() != 0 ? 1 : 0;
    list.push_back(std::move(p));
  }
  out["exercised"] = exercised;
  out["probes"] = std::move(list);
  if (!merge_edge_coverage_json(a, b, out)) return nullptr;
  return out;
}

void print_coverage(std::ostream& out, const Coverage& c, std::string_view allocator) {
  const std::string text = coverage_text(c, allocator);
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    out << "  coverage: " << text.substr(at, end - at) << '\n';
    at = end + 1;
  }
}

}  // namespace pprsim
