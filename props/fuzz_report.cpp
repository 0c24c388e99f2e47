#include "props/fuzz_report.h"

#include "sim/coverage.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>

namespace pprsim {

namespace {

int parse_positive(const std::string& text, const std::string& what) {
  int v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v < 1 || text.front() == '+') {
    throw std::invalid_argument(fmt::format("expected K/N with 1 <= K <= N, but {} is '{}'", what, text));
  }
  return v;
}

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& name) {
  if (!j.contains(key)) throw ReportError(fmt::format("{}: not the JSON of pprsim fuzz: no key \"{}\"", name, key));
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ReportError(fmt::format("{}: key \"{}\" has the wrong type ({})", name, key, j.at(key).dump()));
  }
}

}  // namespace

Shard Shard::parse(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw std::invalid_argument(fmt::format("expected K/N, such as 1/4, not '{}'", text));
  Shard s;
  s.index = parse_positive(text.substr(0, slash), "K");
  s.count = parse_positive(text.substr(slash + 1), "N");
  if (s.index > s.count) throw std::invalid_argument(fmt::format("expected K/N with 1 <= K <= N, not '{}'", text));
  return s;
}

std::string Shard::to_string() const { return fmt::format("{}/{}", index, count); }

int Shard::size(int runs) const { return runs >= index ? (runs - index) / count + 1 : 0; }

nlohmann::ordered_json fuzz_report_json(const FuzzReport& r) {
  nlohmann::ordered_json j;
  j["version"] = r.version;
  j["allocator"] = r.allocator;
  j["seed"] = r.seed;
  j["faults"] = r.faults;
  j["requested_runs"] = r.requested_runs;
  j["keep_going"] = r.keep_going;
  if (r.shard.count > 1) j["shard"] = r.shard.to_string();
  j["runs"] = r.runs;
  j["failures"] = r.counterexamples.size();
  auto list = nlohmann::ordered_json::array();
  for (const FuzzFinding& f : r.counterexamples) {
    list.push_back({{"run", f.run}, {"violated", f.violated}, {"events", f.events}, {"trace", f.trace}, {"command", f.command}});
  }
  j["counterexamples"] = std::move(list);
  if (!r.coverage.is_null()) j["coverage"] = r.coverage;
  j["seconds"] = r.seconds;
  return j;
}

FuzzReport read_fuzz_report(const nlohmann::json& j, const std::string& name) {
  if (!j.is_object()) throw ReportError(fmt::format("{}: not the JSON of pprsim fuzz: not an object", name));
  FuzzReport r;
  // Written since the version was added; a report without it comes from an older pprsim.
  if (j.contains("version")) r.version = field<std::string>(j, "version", name);
  r.allocator = field<std::string>(j, "allocator", name);
  r.seed = field<std::uint64_t>(j, "seed", name);
  r.faults = field<std::string>(j, "faults", name);
  r.requested_runs = field<int>(j, "requested_runs", name);
  r.keep_going = field<bool>(j, "keep_going", name);
  if (j.contains("shard")) {
    try {
      r.shard = Shard::parse(field<std::string>(j, "shard", name));
    } catch (const std::invalid_argument& e) {
      throw ReportError(fmt::format("{}: key \"shard\": {}", name, e.what()));
    }
  }
  r.runs = field<int>(j, "runs", name);
  r.seconds = field<double>(j, "seconds", name);
  if (j.contains("coverage")) r.coverage = nlohmann::ordered_json(j.at("coverage"));
  if (r.requested_runs < 1 || r.runs < 0 || r.runs > r.shard.size(r.requested_runs)) {
    throw ReportError(fmt::format("{}: {} runs checked, but shard {} of {} runs has {}", name, r.runs,
                                  r.shard.to_string(), r.requested_runs, r.shard.size(r.requested_runs)));
  }
  const auto& list = j.contains("counterexamples") ? j.at("counterexamples") : nlohmann::json();
  if (!list.is_array()) throw ReportError(fmt::format("{}: key \"counterexamples\" is not a list", name));
  int last = -1;
  for (const auto& c : list) {
    FuzzFinding f;
    f.run = field<int>(c, "run", name);
    f.violated = field<std::vector<std::string>>(c, "violated", name);
    f.events = field<std::uint64_t>(c, "events", name);
    f.trace = field<std::string>(c, "trace", name);
    f.command = field<std::string>(c, "command", name);
    // The runs this shard checked: its first `runs` indices.
    const int covered_end = r.runs == 0 ? 0 : r.shard.index - 1 + (r.runs - 1) * r.shard.count + 1;
    if (!r.shard.owns(f.run) || f.run < 0 || f.run >= covered_end || f.run <= last) {
      throw ReportError(fmt::format("{}: counterexample of run {} is not among the runs this shard checked", name, f.run));
    }
    last = f.run;
    r.counterexamples.push_back(std::move(f));
  }
  if (field<std::size_t>(j, "failures", name) != r.counterexamples.size()) {
    throw ReportError(fmt::format("{}: \"failures\" does not count the counterexamples", name));
  }
  return r;
}

FuzzReport merge_fuzz_shards(const std::vector<FuzzReport>& shards, const std::vector<std::string>& names) {
  if (shards.empty()) throw ReportError("no fuzz report to merge");
  const FuzzReport& first = shards.front();
  const auto same_campaign = [&](const FuzzReport& s, const std::string& name) {
    auto differ = [&](const char* what, const std::string& a, const std::string& b) {
      throw ReportError(fmt::format("{}: shard of another campaign: {} {}, but {} has {}", name, what, a, names.front(), b));
    };
    if (s.version != first.version) {
      const auto of = [](const std::string& v) { return v.empty() ? std::string("an unknown version") : v; };
      throw ReportError(fmt::format("{}: shard of pprsim {}, but {} is of pprsim {}: merge shards of one version only",
                                    name, of(s.version), names.front(), of(first.version)));
    }
    if (s.allocator != first.allocator) differ("allocator", s.allocator, first.allocator);
    if (s.seed != first.seed) differ("seed", std::to_string(s.seed), std::to_string(first.seed));
    if (s.faults != first.faults) differ("faults", "'" + s.faults + "'", "'" + first.faults + "'");
    if (s.requested_runs != first.requested_runs) {
      differ("requested runs", std::to_string(s.requested_runs), std::to_string(first.requested_runs));
    }
    if (s.keep_going != first.keep_going) differ("keep_going", s.keep_going ? "true" : "false", first.keep_going ? "true" : "false");
    if (s.shard.count != first.shard.count) {
      differ("shard count", std::to_string(s.shard.count), std::to_string(first.shard.count));
    }
  };
  std::map<int, std::size_t> by_index;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    same_campaign(shards[i], names[i]);
    const auto [it, fresh] = by_index.emplace(shards[i].shard.index, i);
    if (!fresh) {
      throw ReportError(fmt::format("{}: shard {} is given twice (also {})", names[i], shards[i].shard.to_string(),
                                    names[it->second]));
    }
  }
  for (int k = 1; k <= first.shard.count; ++k) {
    if (!by_index.contains(k)) throw ReportError(fmt::format("shard {}/{} is missing", k, first.shard.count));
  }
  // The whole campaign checked the runs below `end`: the first run some shard did not check.
  int end = first.requested_runs;
  std::vector<const FuzzFinding*> found;
  for (const FuzzReport& s : shards) {
    if (s.runs < s.shard.size(s.requested_runs)) end = std::min(end, s.shard.index - 1 + s.runs * s.shard.count);
    for (const FuzzFinding& f : s.counterexamples) found.push_back(&f);
  }
  std::sort(found.begin(), found.end(), [](const FuzzFinding* a, const FuzzFinding* b) { return a->run < b->run; });
  FuzzReport merged = first;
  merged.shard = Shard{};
  merged.counterexamples.clear();
  merged.seconds = 0;
  for (const FuzzReport& s : shards) merged.seconds = std::max(merged.seconds, s.seconds);
  merged.coverage = nullptr;
  for (const FuzzReport& s : shards) merged.coverage = merge_coverage_json(merged.coverage, s.coverage);
  for (const FuzzFinding* f : found) {
    if (f->run >= end) break;
    merged.counterexamples.push_back(*f);
    if (!merged.keep_going) {
      end = f->run + 1;  // one process stops at its first failing run
      break;
    }
  }
  merged.runs = end;
  return merged;
}

}  // namespace pprsim
