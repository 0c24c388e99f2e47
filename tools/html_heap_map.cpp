// The heap maps of the HTML report: a bar per system region, its blocks coloured by state and by
// the task that allocated them. The blocks a heap check fails on (two objects in one block, an
// object past its block, a block nothing accounts for) have colours of their own, are drawn last
// and at least kMinWidth pixels wide, so that a 32-byte block in a 2 MiB region is seen; a map
// with such blocks opens with a zoom on the first of them.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/html_parts.h"

namespace pprsim::html {

namespace {

constexpr int kLabel = 170;
constexpr int kBar = 18;
constexpr int kRow = 24;
constexpr double kMinWidth = 4;

struct State {
  const char* name;
  const char* colour;
  const char* legend;
};
// The failing states first: the order the legend lists them.
constexpr State kStates[] = {
    {"double", "#d10074", "handed out twice (two objects in one block, or an object in a free block)"},
    {"overlap", "#5b2bd6", "an object running past its block"},
    {"lost", "#111111", "lost (no object and no free list holds it)"},
    {"corrupt", "#e15759", "corrupt (no valid block header)"},
    {"free", "#d9d9d9", "free"},
};

const State* state_of(const std::string& s) {
  for (const State& st : kStates) {
    if (s == st.name) return &st;
  }
  return nullptr;
}

bool failing(const std::string& s) { return s == "double" || s == "overlap" || s == "lost" || s == "corrupt"; }

struct Run {
  std::uint64_t off, len;
  std::string state;
  int task;
  std::uint64_t blocks;
};

std::vector<Run> runs_of(const Json& region) {
  std::vector<Run> out;
  for (const Json& run : field(region, "runs")) {
    if (!run.is_array() || run.size() != 5 || !run[2].is_string() || !run[3].is_number_integer()) {
      throw std::invalid_argument("a heap map run is not [offset, size, state, task, blocks]");
    }
    out.push_back({u64_at(run, 0), u64_at(run, 1), run[2].get<std::string>(), run[3].get<int>(), u64_at(run, 4)});
  }
  return out;
}

std::string fill_of(const Run& r) {
  const State* st = state_of(r.state);
  return st != nullptr ? st->colour : owner_colour(r.task);
}

std::string title_of(const Run& r) {
  const std::string who = r.task < 0 ? "MAIN" : fmt::format("task {}", r.task);
  std::string what;
  if (r.state == "live") {
    what = " live, allocated by " + who;
  } else if (const State* st = state_of(r.state); st != nullptr) {
    what = std::string(" ") + st->legend;
  } else {
    what = " " + esc(r.state);
  }
  return fmt::format("{} block{}{}: {} at +{:#x}", r.blocks, r.blocks == 1 ? "" : "s", what, bytes_text(r.len), r.off);
}

// The blocks of [from, to) of a region as rects in a bar at y: ordinary ones first, failing ones
// on top at kMinWidth at least.
void bar(std::string& out, const std::vector<Run>& runs, std::uint64_t from, std::uint64_t to, int y) {
  const double scale = static_cast<double>(kWidth - kLabel - 10) / static_cast<double>(std::max<std::uint64_t>(1, to - from));
  for (int pass = 0; pass < 2; ++pass) {
    for (const Run& r : runs) {
      if (failing(r.state) != (pass == 1) || r.off + r.len <= from || r.off >= to) continue;
      const std::uint64_t a = std::max(r.off, from), b = std::min(r.off + r.len, to);
      double x = kLabel + static_cast<double>(a - from) * scale;
      double w = static_cast<double>(b - a) * scale;
      if (pass == 1 && w < kMinWidth) {
        x = std::max<double>(kLabel, x + w / 2 - kMinWidth / 2);
        w = kMinWidth;
      }
      out += fmt::format(
          "<rect class=\"block {}\" data-task=\"{}\" data-detail=\"\" x=\"{:.2f}\" y=\"{}\" width=\"{:.2f}\" height=\"{}\" "
          "fill=\"{}\"><title>{}</title></rect>",
          esc(r.state), r.task, x, y, std::max(0.5, w), kBar, fill_of(r), title_of(r));
    }
  }
}

void legend(std::string& out) {
  out += "<p class=\"legend\">";
  for (const State& st : kStates) {
    out += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", st.colour, st.legend);
  }
  out += fmt::format("<span><i style=\"background:{}\"></i>live, allocated by MAIN</span>", kMainColour);
  for (std::size_t k = 0; k < kTaskColours.size(); ++k) {
    out += fmt::format("<span><i style=\"background:{}\"></i>task {}{}</span>", kTaskColours[k], k,
                       k + 1 == kTaskColours.size() ? " (and k mod 8)" : "");
  }
  out += "</p>\n";
}

// A zoom on the first failing block of the map (of the gravest state it has): the bytes around
// it, 16 times its size (512 bytes at least) each side, in one bar.
void zoom(std::string& out, const Json& m, std::size_t run, std::size_t map) {
  // The first block of the gravest failing state there is: handed out twice, then overlap, lost, corrupt.
  const Json* where = nullptr;
  std::vector<Run> runs;
  std::vector<Run>::const_iterator it;
  for (std::size_t grave = 0; grave < 4 && where == nullptr; ++grave) {
    for (const Json& reg : field(m, "regions")) {
      runs = runs_of(reg);
      it = std::find_if(runs.begin(), runs.end(), [&](const Run& r) { return r.state == kStates[grave].name; });
      if (it != runs.end()) {
        where = &reg;
        break;
      }
    }
  }
  if (where != nullptr) {
    const Json& reg = *where;
    const std::uint64_t size = u64(reg, "size");
    const std::uint64_t margin = std::max<std::uint64_t>(it->len * 16, 512);
    const std::uint64_t from = it->off > margin ? it->off - margin : 0;
    const std::uint64_t to = std::min(size, it->off + it->len + margin);
    std::size_t failing_here = 0;
    for (const Run& r : runs) failing_here += failing(r.state) && r.off < to && r.off + r.len > from ? 1 : 0;
    out += fmt::format("<figure class=\"heap-zoom\" id=\"zoom-{}-{}\"><figcaption>Zoom: {} &#8211; {} of region {} "
                       "({} of {}), around its first block {} ({} failing block run{} here)</figcaption>",
                       run, map, fmt::format("+{:#x}", from), fmt::format("+{:#x}", to), esc(text_of(field(reg, "addr"))),
                       bytes_text(to - from), bytes_text(size), state_of(it->state)->legend, failing_here,
                       failing_here == 1 ? "" : "s");
    const int height = kRow + 4;
    out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">", kWidth,
                       height, kWidth, height);
    out += fmt::format("<text x=\"0\" y=\"15\">{}+{:#x}</text>", esc(text_of(field(reg, "addr"))), from);
    out += fmt::format("<rect class=\"region-bar\" x=\"{}\" y=\"2\" width=\"{}\" height=\"{}\" fill=\"#f7f7f7\" stroke=\"#ccc\"></rect>",
                       kLabel, kWidth - kLabel - 10, kBar);
    bar(out, runs, from, to, 2);
    out += "</svg></figure>\n";
    return;
  }
}

}  // namespace

void heap_maps(std::string& out, const Json& r, std::size_t index, const Budget& budget) {
  out += fmt::format("<h3 id=\"heap-{}\">Heap</h3>\n", index);
  if (field(r, "heap_maps").empty()) {
    out += "<p class=\"note\">This run kept no heap map.</p>\n";
    return;
  }
  legend(out);
  out += "<div class=\"heap\">\n";
  if (!budget.full_heap) {
    out += "<p class=\"note\">On this comparison page each map shows its failing blocks only (zoomed); the run's "
           "own page (pprsim report RUN.json -o) draws the whole heap.</p>\n";
  }
  // The zooms on failing blocks first, above the whole maps (which may hold hundreds of regions).
  std::size_t map = 0;
  for (const Json& m : field(r, "heap_maps")) {
    if (u64(m, "failed_blocks") > 0) {
      out += fmt::format("<p class=\"zoom-of\">{}: <b class=\"problem\">{} failing block{}</b></p>\n",
                         esc(text_of(field(m, "when"))), u64(m, "failed_blocks"), u64(m, "failed_blocks") == 1 ? "" : "s");
      zoom(out, m, index, map);
    }
    ++map;
  }
  map = 0;
  for (const Json& m : field(r, "heap_maps")) {
    const std::size_t regions = field(m, "regions").size();
    const int height = static_cast<int>(regions) * kRow + 4;
    const std::uint64_t failed = u64(m, "failed_blocks");
    out += fmt::format("<figure class=\"heap-map\" data-when=\"{}\" data-regions=\"{}\" data-failed=\"{}\">",
                       esc(text_of(field(m, "when"))), regions, failed);
    out += fmt::format("<figcaption>{} (after {} group{}): {} live blocks, {} free blocks{} in {} region{}{}{}</figcaption>",
                       esc(text_of(field(m, "when"))), u64(m, "group"), u64(m, "group") == 1 ? "" : "s",
                       u64(m, "live_blocks"), u64(m, "free_blocks"),
                       failed == 0 ? "" : fmt::format(", <b class=\"problem\">{} failing</b>", failed), regions,
                       regions == 1 ? "" : "s", m.value("walked", true) ? "" : "; the allocator has no census walk",
                       m.value("truncated", false) ? "; more than the map holds, the rest left out" : "");
    if (!budget.full_heap) {
      out += "</figure>\n";
      ++map;
      continue;
    }
    out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">", kWidth,
                       height, kWidth, height);
    int row = 0;
    for (const Json& reg : field(m, "regions")) {
      const std::uint64_t size = std::max<std::uint64_t>(1, u64(reg, "size"));
      const int y = row * kRow + 2;
      out += fmt::format("<g class=\"region\" data-addr=\"{}\" data-size=\"{}\">", esc(text_of(field(reg, "addr"))), size);
      out += fmt::format("<text x=\"0\" y=\"{}\">{} &#183; {}</text>", y + 13, esc(text_of(field(reg, "addr"))), bytes_text(size));
      out += fmt::format("<rect class=\"region-bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f7f7f7\" "
                         "stroke=\"#ccc\"></rect>",
                         kLabel, y, kWidth - kLabel - 10, kBar);
      bar(out, runs_of(reg), 0, size, y);
      out += "</g>";
      ++row;
    }
    out += "</svg></figure>\n";
    ++map;
  }
  out += "</div>\n";
}

}  // namespace pprsim::html
