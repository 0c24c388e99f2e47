// The whole-run overview at the top of a run in the HTML report: one chart over the trace's
// lines with every group (the run's timeline.overview bins: committed, aborted, serial), the
// conflicts, MAIN's live heap and its system memory; a click on a bin jumps to its first group
// drawn below (or to the fold line that holds it). Above it, the first failure, one click away.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "tools/html_parts.h"

namespace pprsim::html {

namespace {

constexpr int kLeft = 110;
constexpr int kRight = 10;
constexpr int kBand = 26;
constexpr int kGap = 6;

// Where a jump to a group lands: the groups drawn and the fold lines, by their group ranges.
struct Target {
  std::uint64_t first, last;
  std::string id;
};

std::vector<Target> targets_of(const Json& run, std::size_t index, std::size_t max_groups) {
  std::vector<Target> out;
  std::size_t drawn = 0;
  for (const Json& e : field(field(run, "timeline"), "entries")) {
    if (drawn == max_groups) {  // the rest of the run is one fold line (html_report.cpp)
      const std::uint64_t a = e.contains("folded") ? u64(e, "first_group") : u64(e, "group");
      const std::uint64_t b = e.contains("folded") ? u64(e, "last_group") : u64(e, "group");
      out.push_back({a, b, fmt::format("rest-{}", index)});
    } else if (e.contains("folded")) {
      out.push_back({u64(e, "first_group"), u64(e, "last_group"), fmt::format("fold-{}-{}", index, u64(e, "first_group"))});
    } else {
      out.push_back({u64(e, "group"), u64(e, "group"), group_id(index, u64(e, "group"))});
      ++drawn;
    }
  }
  return out;
}

// The id of the first entry at or after `group`, or "" when there is none.
std::string target_for(const std::vector<Target>& targets, std::uint64_t group) {
  const auto it = std::lower_bound(targets.begin(), targets.end(), group,
                                   [](const Target& t, std::uint64_t g) { return t.last < g; });
  return it == targets.end() ? std::string() : it->id;
}

void first_failure(std::string& out, const Json& run, std::size_t index, const std::vector<Target>& targets) {
  const Json& g = field(run, "first_failing_group");
  const std::string failure = text_of(field(run, "failure"));
  const bool has_group = g.is_number_integer() && g.get<std::int64_t>() >= 0;
  if (!has_group && failure.empty() && run.value("verified", false)) return;
  std::string href, what;
  if (has_group) {
    const std::uint64_t group = g.get<std::uint64_t>();
    href = target_for(targets, group);
    const bool induced = u64(field(run, "conflicts"), "allocator_induced") > 0;
    what = fmt::format("group {}{}", group,
                       induced ? ": the first allocator-induced conflict" : ": the heap check after it failed");
  }
  if (href.empty()) {
    href = fmt::format("heap-{}", index);
    what = failure.empty() ? "the heap where the run ended" : "the heap where the run stopped";
  }
  out += fmt::format("<p class=\"first-failure-line\"><a class=\"first-failure\" href=\"#{}\" data-target=\"{}\">First "
                     "failure: {}</a>{}</p>\n",
                     href, href, esc(what), failure.empty() ? "" : " &#183; stopped: " + esc(failure));
}

// At most `bars` bins: each `k` neighbours of `bins` as one (counts summed, memory the most).
Json merged_bins(const Json& bins, std::size_t bars) {
  if (!bins.is_array() || bars == 0 || bins.size() <= bars) return bins.is_array() ? bins : Json::array();
  const std::size_t k = (bins.size() + bars - 1) / bars;
  Json out = Json::array();
  for (std::size_t i = 0; i < bins.size(); i += k) {
    std::array<std::uint64_t, 11> m{};
    for (std::size_t j = i; j < std::min(bins.size(), i + k); ++j) {
      const Json& b = bins[j];
      if (j == i) {
        m[0] = u64_at(b, 0);
        m[2] = u64_at(b, 2);
      }
      m[1] = u64_at(b, 1);
      m[3] = std::max(m[3], u64_at(b, 3));
      for (std::size_t f = 4; f <= 8; ++f) m[f] += u64_at(b, f);
      m[9] = std::max(m[9], u64_at(b, 9));
      m[10] = std::max(m[10], u64_at(b, 10));
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace

void overview(std::string& out, const Json& run, std::size_t index, const Budget& budget) {
  const std::vector<Target> targets = targets_of(run, index, budget.groups);
  first_failure(out, run, index, targets);
  const Json& ov = field(field(run, "timeline"), "overview");
  const Json bins = merged_bins(field(ov, "bins"), budget.bars);
  if (bins.empty()) return;
  const std::uint64_t bin_groups = u64(ov, "bin_groups") * ((field(ov, "bins").size() + budget.bars - 1) / std::max<std::size_t>(1, budget.bars));
  std::uint64_t last_line = 1, most_conflicts = 1, most_bytes = 1, groups = 0;
  for (const Json& b : bins) {
    last_line = std::max(last_line, u64_at(b, 3));
    most_conflicts = std::max(most_conflicts, u64_at(b, 8));
    most_bytes = std::max({most_bytes, u64_at(b, 9), u64_at(b, 10)});
    groups += u64_at(b, 4);
  }
  const double span = static_cast<double>(kWidth - kLeft - kRight);
  auto x = [&](std::uint64_t line) { return kLeft + span * static_cast<double>(line) / static_cast<double>(last_line); };
  const int height = 4 * (kBand + kGap) + 22;
  out += fmt::format("<figure class=\"overview\" id=\"overview-{}\" data-groups=\"{}\" data-bins=\"{}\"><figcaption>The "
                     "whole run: {} group{} over {} trace lines{}; click a bar to see its groups</figcaption>",
                     index, groups, bins.size(), groups, groups == 1 ? "" : "s", last_line,
                     bin_groups > 1 ? fmt::format(", up to {} groups a bar", bin_groups) : "");
  out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">", kWidth,
                     height, kWidth, height);
  const char* names[] = {"groups", "conflicts", "live heap", "system memory"};
  for (int band = 0; band < 4; ++band) {
    const int y = band * (kBand + kGap);
    out += fmt::format("<text x=\"0\" y=\"{}\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{:.0f}\" height=\"{}\" fill=\"#fafafa\" "
                       "stroke=\"#eee\"></rect>",
                       y + 16, names[band], kLeft, y, span, kBand);
  }
  std::string live_points, system_points;
  for (const Json& b : bins) {
    const std::uint64_t g0 = u64_at(b, 0), g1 = u64_at(b, 1), l0 = u64_at(b, 2), l1 = u64_at(b, 3);
    const std::uint64_t n = std::max<std::uint64_t>(1, u64_at(b, 4)), committed = u64_at(b, 5), aborted = u64_at(b, 6),
                        serial = u64_at(b, 7), conflicts = u64_at(b, 8), live = u64_at(b, 9), sys = u64_at(b, 10);
    const double x0 = x(l0), w = std::max(1.5, x(l1) - x0);
    const std::string target = target_for(targets, g0);
    out += fmt::format("<g class=\"ov-bin\" data-first-group=\"{}\" data-last-group=\"{}\" data-target=\"{}\" "
                       "data-conflicts=\"{}\"><title>group{} {}, lines {}&#8211;{}: {} committed, {} aborted, {} serial; "
                       "{} conflict{}{}; system memory {}</title>",
                       g0, g1, target, conflicts, g0 == g1 ? "" : "s", g0 == g1 ? fmt::format("{}", g0) : fmt::format("{}&#8211;{}", g0, g1),
                       l0, l1, committed, aborted, serial, conflicts, conflicts == 1 ? "" : "s",
                       live > 0 ? "; live heap " + bytes_text(live) : "", bytes_text(sys));
    // Groups: stacked committed (bottom), aborted, serial, as shares of the bin.
    double y = kBand;
    for (const auto& [count, colour] : {std::pair{committed, "#59a14f"}, {aborted, "#f28e2b"}, {serial, "#4e79a7"}}) {
      if (count == 0) continue;
      const double h = kBand * static_cast<double>(count) / static_cast<double>(n);
      y -= h;
      out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"></rect>", x0, y, w, h, colour);
    }
    if (conflicts > 0) {
      const double h = std::max(2.0, kBand * static_cast<double>(conflicts) / static_cast<double>(most_conflicts));
      out += fmt::format("<rect class=\"ov-conflicts\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                         "fill=\"#c62828\"></rect>",
                         x0, (kBand + kGap) + kBand - h, w, h);
    }
    // A transparent cover over the whole column: what the click lands on.
    out += fmt::format("<rect class=\"ov-hit\" x=\"{:.1f}\" y=\"0\" width=\"{:.1f}\" height=\"{}\" fill=\"transparent\" "
                       "data-detail=\"\"></rect></g>",
                       x0, w, 4 * (kBand + kGap));
    const double xm = x0 + w / 2;
    if (live > 0) live_points += fmt::format("{:.1f},{:.1f} ", xm, 2 * (kBand + kGap) + kBand - kBand * static_cast<double>(live) / static_cast<double>(most_bytes));
    system_points += fmt::format("{:.1f},{:.1f} ", xm, 3 * (kBand + kGap) + kBand - kBand * static_cast<double>(sys) / static_cast<double>(most_bytes));
  }
  if (!live_points.empty()) out += "<polyline class=\"ov-live\" fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"1.5\" points=\"" + live_points + "\"></polyline>";
  out += "<polyline class=\"ov-system\" fill=\"none\" stroke=\"#9c755f\" stroke-width=\"1.5\" points=\"" + system_points + "\"></polyline>";
  const Json& fg = field(run, "first_failing_group");
  if (fg.is_number_integer() && fg.get<std::int64_t>() >= 0) {
    const std::uint64_t g = fg.get<std::uint64_t>();
    for (const Json& b : bins) {
      if (u64_at(b, 0) <= g && g <= u64_at(b, 1)) {
        const double xf = x(u64_at(b, 2));
        out += fmt::format("<line class=\"ov-failure\" x1=\"{:.1f}\" y1=\"0\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#c62828\" "
                           "stroke-width=\"2\" stroke-dasharray=\"4 2\"></line>",
                           xf, xf, 4 * (kBand + kGap));
        break;
      }
    }
  }
  // The axis: trace lines.
  const int ay = 4 * (kBand + kGap) + 14;
  for (int t = 0; t <= 4; ++t) {
    const std::uint64_t line = last_line * static_cast<std::uint64_t>(t) / 4;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"{}\">line {}</text>", x(line), ay,
                       t == 0 ? "start" : t == 4 ? "end" : "middle", line);
  }
  out += fmt::format("</svg><p class=\"legend\"><span><i style=\"background:#59a14f\"></i>groups committed</span>"
                     "<span><i style=\"background:#f28e2b\"></i>aborted or lost to the understudy</span><span><i "
                     "style=\"background:#4e79a7\"></i>serial</span><span><i style=\"background:#c62828\"></i>conflicts "
                     "(most {} a bar)</span><span>{}</span></p></figure>\n",
                     most_conflicts,
                     most_bytes > 1 ? "lines: live heap (measured a bar) and system memory, up to " + bytes_text(most_bytes)
                                    : std::string("no memory measured (the run stopped inside its groups)"));
}

}  // namespace pprsim::html
