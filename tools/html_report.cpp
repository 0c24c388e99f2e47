#include "sim/json_text.h"
#include "tools/html_report.h"
#include "tools/html_coverage.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pprsim {

namespace {

using Json = nlohmann::ordered_json;

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

// Eight task colours (task k takes k mod 8), and MAIN's.
constexpr std::array<const char*, 8> kTaskColours{"#f28e2b", "#59a14f", "#b07aa1", "#edc948",
                                                  "#76b7b2", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr const char* kMainColour = "#4e79a7";

const char* owner_colour(int task) {
  return task < 0 ? kMainColour : kTaskColours[static_cast<std::size_t>(task) % kTaskColours.size()];
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 8px;border-top:1px solid #ddd;padding-top:16px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f5f5f5}
#figures td:not(:first-child){text-align:right}
#figures.single thead{display:none}
#figures.single tbody{display:grid;grid-template-columns:repeat(3,max-content);column-gap:28px}
#figures.single tr{display:flex}#figures.single th{min-width:205px}#figures.single td{min-width:90px}
.verdict{font-weight:700;padding:1px 6px;border-radius:3px;color:#fff}
.verdict.verified{background:#2e7d32}.verdict.failed{background:#c62828}
.stopped,.problem{color:#c62828}
.legend span{display:inline-block;margin-right:12px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;border:1px solid #999}
.timeline svg,.heap svg{display:block;margin:2px 0}
.folded{color:#777;font-size:12px;margin:2px 0 2px 90px;padding:2px 6px;border-left:3px solid #ddd}
rect.committed{fill:#59a14f}rect.aborted{fill:#bbb}rect.gave-up{fill:#f28e2b}rect.crashed{fill:#e15759}
rect.serial{fill:#4e79a7}rect.understudy.won{fill:#4e79a7}rect.understudy.lost{fill:#dde6f0}
line.conflict{stroke-width:2}line.allocator_induced{stroke:#c62828}line.true_dependence{stroke:#7b1fa2}
circle.allocator_induced{fill:#c62828}circle.true_dependence{fill:#7b1fa2}
[data-detail]{cursor:pointer}
text{font-size:11px;fill:#444}
table.conflicts th{cursor:pointer;user-select:none}
table.conflicts th[data-dir=asc]::after{content:" \25B2"}table.conflicts th[data-dir=desc]::after{content:" \25BC"}
tr.selected td{background:#fff3c4}
.filters{margin:6px 0}.filters input{width:5em}
#detail{position:fixed;right:16px;bottom:16px;max-width:520px;background:#fff;border:1px solid #999;box-shadow:0 2px 8px #0003;padding:8px 12px}
#detail pre{white-space:pre-wrap;margin:4px 0}
)";

constexpr const char* kScript = R"(
(function () {
  'use strict';
  window.addEventListener('error', function (e) { document.body.dataset.error = String(e.message); });
  function value(row, i, type) {
    var s = row.children[i].textContent;
    if (type === 'num') return Number(s);
    if (type === 'hex') return parseInt(s, 16);
    return s;
  }
  function sortBy(table, th) {
    var i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var type = th.dataset.type || 'text';
    var dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = dir;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, i, type), y = value(b, i, type);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return dir === 'asc' ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll('table.conflicts th').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th.closest('table'), th); });
  });
  function filter(f) {
    var table = document.getElementById(f.dataset.table);
    var g = f.querySelector('.f-group').value.trim();
    var c = f.querySelector('.f-class').value;
    var k = f.querySelector('.f-kind').value;
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!g || r.dataset.group === g) && (!c || r.dataset.class === c) && (!k || r.dataset.kind === k);
      r.hidden = !ok;
      if (ok) shown++;
    }
    f.querySelector('.count').textContent = shown + ' of ' + rows.length + ' shown';
    return shown;
  }
  document.querySelectorAll('.filters').forEach(function (f) {
    f.addEventListener('input', function () { filter(f); });
    f.addEventListener('change', function () { filter(f); });
    filter(f);
  });
  var detail = document.getElementById('detail');
  detail.querySelector('button').addEventListener('click', function () { detail.hidden = true; });
  document.addEventListener('click', function (e) {
    var el = e.target.closest ? e.target.closest('[data-detail]') : null;
    if (!el) return;
    var title = el.querySelector('title');
    detail.querySelector('pre').textContent = title ? title.textContent : '';
    detail.hidden = false;
    document.querySelectorAll('tr.selected').forEach(function (r) { r.classList.remove('selected'); });
    var row = el.dataset.row ? document.getElementById(el.dataset.row) : null;
    if (row) { row.hidden = false; row.classList.add('selected'); }
  });
  // #selftest: what a person would do first, done by the page itself, the outcome left in the
  // DOM for a headless browser to read: sort the first conflict table by length (twice: largest
  // first), keep the allocator-induced ones, click the first conflict drawn in the timeline.
  if (location.hash === '#selftest') {
    var out = {};
    var table = document.querySelector('table.conflicts');
    if (table) {
      var th = table.querySelectorAll('th')[6];
      sortBy(table, th); sortBy(table, th);
      var lens = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return Number(r.children[6].textContent); });
      out.sorted_descending = lens.every(function (v, i) { return i === 0 || lens[i - 1] >= v; });
      var f = document.querySelector('.filters');
      f.querySelector('.f-class').value = 'allocator_induced';
      out.allocator_induced_rows = filter(f);
      var line = document.querySelector('line.conflict');
      if (line) {
        line.dispatchEvent(new MouseEvent('click', {bubbles: true}));
        out.detail_shown = !detail.hidden && detail.querySelector('pre').textContent.length > 0;
        var sel = document.querySelector('tr.selected');
        out.row_selected = sel ? sel.id : '';
      }
    }
    document.body.dataset.selftest = JSON.stringify(out);
  }
  document.body.dataset.ready = '1';
})();
)";

// One run's conflicts by group, with their row ids in the table.
struct ConflictRef {
  const Json* c;
  std::string row;
};

class Page {
 public:
  std::string out;

  void figures(const Json& runs) {
    out += fmt::format("<section id=\"summary\"><h2>{}</h2><table id=\"figures\"{}><thead><tr><th>figure</th>",
                       runs.size() == 1 ? "The run" : "Runs", runs.size() == 1 ? " class=\"single\"" : "");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      out += fmt::format("<th>run {}</th>", i + 1);
    }
    out += "</tr></thead><tbody>\n";
    auto row = [&](const char* name, const char* key, auto format) {
      out += fmt::format("<tr data-key=\"{}\"><th>{}</th>", key, name);
      for (const Json& r : runs) out += "<td>" + esc(format(r)) + "</td>";
      out += "</tr>\n";
    };
    auto plain = [](const char* key) { return [key](const Json& r) { return text_of(field(r, key)); }; };
    auto bytes = [](const char* key) { return [key](const Json& r) { return bytes_text(u64(r, key)); }; };
    row("verdict", "verified", [](const Json& r) { return r.value("verified", false) ? "VERIFIED" : "FAILED"; });
    row("trace", "trace", plain("trace"));
    row("allocator", "allocator", plain("allocator"));
    row("group size", "group_size", plain("group_size"));
    row("PPR every", "ppr_every", plain("ppr_every"));
    row("seed", "seed", plain("seed"));
    row("understudy", "understudy", plain("understudy"));
    row("faults", "faults", plain("faults"));
    row("events", "events", plain("events"));
    row("groups", "groups", plain("groups"));
    row("tasks committed", "committed", plain("committed"));
    row("tasks aborted", "aborted", plain("aborted"));
    row("understudy wins", "understudy_wins", plain("understudy_wins"));
    row("rescues", "rescues", plain("rescues"));
    row("serial groups", "serial_groups", plain("serial_groups"));
    row("allocator-induced conflicts", "allocator_induced",
        [](const Json& r) { return text_of(field(field(r, "conflicts"), "allocator_induced")); });
    row("true dependences", "true_dependence", [](const Json& r) { return text_of(field(field(r, "conflicts"), "true_dependence")); });
    row("lost blocks", "lost_blocks", plain("lost_blocks"));
    row("double allocations", "double_allocations", plain("double_allocations"));
    row("content mismatches", "content_mismatches", plain("content_mismatches"));
    row("carve reserved", "reserved_bytes", bytes("reserved_bytes"));
    row("tasks allocated", "task_allocated_bytes", bytes("task_allocated_bytes"));
    row("grown inside tasks", "task_grown_bytes", bytes("task_grown_bytes"));
    row("adopted at commit", "adopted_bytes", bytes("adopted_bytes"));
    row("peak system memory", "peak_system_bytes", bytes("peak_system_bytes"));
    row("final live objects", "final_live_objects", plain("final_live_objects"));
    row("final live bytes", "final_live_bytes", bytes("final_live_bytes"));
    out += "</tbody></table></section>\n";
  }

  void run(const Json& r, std::size_t index) {
    const bool ok = r.value("verified", false);
    out += fmt::format("<section class=\"run\" id=\"run-{}\" data-run=\"{}\">\n", index, index);
    out += fmt::format("<h2>{}. {} with {}: <span class=\"verdict {}\">{}</span></h2>\n", index + 1,
                       esc(text_of(field(r, "trace"))), esc(text_of(field(r, "allocator"))), ok ? "verified" : "failed",
                       ok ? "VERIFIED" : "FAILED");
    if (const std::string f = text_of(r.value("failure", Json())); !f.empty()) {
      out += "<p class=\"stopped\">stopped: " + esc(f) + "</p>\n";
    }
    for (const Json& p : field(r, "problems")) out += "<p class=\"problem\">" + esc(text_of(p)) + "</p>\n";
    std::map<std::uint64_t, std::vector<ConflictRef>> by_group;
    const Json& details = field(r, "conflicts_detail");  // null (no entries) when missing
    for (std::size_t i = 0; i < details.size(); ++i) {
      by_group[details[i].value("group", std::uint64_t{0})].push_back({&details[i], fmt::format("c-{}-{}", index, i)});
    }
    timeline(r, index, by_group);
    heap(r);
    conflicts(r, index, details);
    out += html_coverage(r);
    out += "</section>\n";
  }

 private:
  static constexpr int kWidth = 960;
  static constexpr int kLeft = 90;
  static constexpr int kLane = 14;
  static constexpr int kGap = 4;
  static constexpr int kTop = 16;

  void timeline(const Json& r, std::size_t index, const std::map<std::uint64_t, std::vector<ConflictRef>>& by_group) {
    out += "<h3>Timeline</h3>\n";
    if (field(r, "timeline").is_null()) {
      out += "<p class=\"note\">This run kept no timeline.</p>\n";
      return;
    }
    const Json& t = field(r, "timeline");
    out += "<p class=\"legend\"><span><i style=\"background:#59a14f\"></i>committed</span>"
           "<span><i style=\"background:#bbb\"></i>aborted</span><span><i style=\"background:#f28e2b\"></i>gave up</span>"
           "<span><i style=\"background:#e15759\"></i>crashed</span><span><i style=\"background:#4e79a7\"></i>understudy "
           "won / serial</span><span><i style=\"background:#c62828\"></i>allocator-induced conflict</span>"
           "<span><i style=\"background:#7b1fa2\"></i>true dependence</span></p>\n";
    out += fmt::format("<div class=\"timeline\" id=\"timeline-{}\">\n", index);
    if (field(t, "entries").empty()) out += "<p class=\"note\">No PPR groups: the run was sequential.</p>\n";
    for (const Json& e : field(t, "entries")) {
      if (e.contains("folded")) {
        const std::uint64_t n = u64(e, "folded"), a = u64(e, "first_group"), b = u64(e, "last_group");
        out += fmt::format(
            "<div class=\"folded\" data-groups=\"{}\" data-first-group=\"{}\" data-last-group=\"{}\">{} group{} with "
            "nothing to show: {}, lines {}&#8211;{}</div>\n",
            n, a, b, n, n == 1 ? "" : "s", a == b ? fmt::format("group {}", a) : fmt::format("groups {}&#8211;{}", a, b),
            u64(e, "first_line"), u64(e, "last_line"));
        continue;
      }
      group(e, by_group);
    }
    if (const std::uint64_t n = u64(t, "not_shown"); n > 0) {
      out += fmt::format("<p class=\"note\">{} more groups with something to show are folded: the report draws the "
                         "first {}.</p>\n",
                         n, u64(t, "shown_groups"));
    }
    out += "</div>\n";
  }

  void group(const Json& g, const std::map<std::uint64_t, std::vector<ConflictRef>>& by_group) {
    const std::uint64_t gi = u64(g, "group");
    const std::uint64_t first = u64(g, "first_line"), last = u64(g, "last_line");
    const std::string understudy = text_of(field(g, "understudy"));
    const std::size_t tasks = field(g, "tasks").size();
    const std::size_t lanes = tasks + (understudy == "none" ? 0 : 1);
    const int height = kTop + static_cast<int>(lanes) * (kLane + kGap) + 2;
    const double span = static_cast<double>(std::max<std::uint64_t>(1, last - first));
    auto x = [&](std::uint64_t line) {
      const double f = line < first ? 0 : static_cast<double>(line - first) / span;
      return kLeft + f * (kWidth - kLeft - 10);
    };
    auto lane_y = [&](std::size_t k) { return kTop + static_cast<int>(k) * (kLane + kGap); };
    const auto found = by_group.find(gi);
    const std::size_t n_conflicts = found == by_group.end() ? 0 : found->second.size();
    out += fmt::format(
        "<svg class=\"group\" data-group=\"{}\" data-tasks=\"{}\" data-conflicts=\"{}\" width=\"{}\" height=\"{}\" "
        "viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">",
        gi, tasks, n_conflicts, kWidth, height, kWidth, height);
    out += fmt::format("<text x=\"0\" y=\"11\">group {}{} &#183; lines {}&#8211;{} &#183; understudy {} &#183; {} "
                       "conflict{}</text>",
                       gi, g.value("serial", false) ? " (serial)" : "", first, last, esc(understudy),
                       u64(g, "conflicts"), u64(g, "conflicts") == 1 ? "" : "s");
    for (const Json& t : field(g, "tasks")) {
      const std::size_t k = static_cast<std::size_t>(t.value("task", 0));
      const std::string outcome = text_of(field(t, "outcome"));
      const std::uint64_t a = u64(t, "first_line"), b = u64(t, "last_line");
      const double x0 = a == 0 ? kLeft : x(a);
      const double w = a == 0 ? 3.0 : std::max(3.0, x(b) - x0);
      out += fmt::format("<text x=\"0\" y=\"{}\">task {}</text>", lane_y(k) + 11, k);
      out += fmt::format(
          "<rect class=\"task {}\" data-task=\"{}\" data-detail=\"\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" "
          "height=\"{}\"><title>group {}, task {}: {}, {}</title></rect>",
          esc(outcome), k, x0, lane_y(k), w, kLane, gi, k,
          a == 0 ? std::string("no events") : fmt::format("lines {}&#8211;{}", a, b), esc(outcome));
    }
    if (understudy != "none") {
      const std::size_t k = tasks;
      out += fmt::format("<text x=\"0\" y=\"{}\">understudy</text>", lane_y(k) + 11);
      out += fmt::format(
          "<rect class=\"understudy {}\" data-detail=\"\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>group {}: "
          "the understudy {} the race</title></rect>",
          esc(understudy), kLeft, lane_y(k), kWidth - kLeft - 10, kLane, gi, understudy == "won" ? "won" : "lost");
    }
    if (found != by_group.end()) {
      for (const ConflictRef& ref : found->second) {
        const Json& c = *ref.c;
        const std::size_t ft = static_cast<std::size_t>(c.value("first_task", 0));
        const std::size_t st = static_cast<std::size_t>(c.value("second_task", 0));
        const std::string cls = text_of(field(c, "class"));
        const double x1 = x(u64(c, "first_line")), x2 = x(u64(c, "second_line"));
        const int y1 = lane_y(ft) + kLane / 2, y2 = lane_y(st) + kLane / 2;
        out += fmt::format(
            "<g class=\"conflict-mark\"><line class=\"conflict {}\" data-row=\"{}\" data-detail=\"\" x1=\"{:.1f}\" "
            "y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\"><title>{} conflict ({}) in group {}: task {} {} task {}: {} bytes at {} "
            "({}); lines {} and {}</title></line><circle class=\"{}\" cx=\"{:.1f}\" cy=\"{}\" r=\"3\"></circle>"
            "<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{}\" r=\"3\"></circle></g>",
            esc(cls), ref.row, x1, y1, x2, y2, cls == "allocator_induced" ? "allocator-induced" : "true-dependence",
            esc(text_of(field(c, "kind"))), gi, st, text_of(field(c, "kind")) == "raw" ? "read what was written by" : "overwrote",
            ft, u64(c, "len"), esc(text_of(field(c, "addr"))), esc(text_of(field(c, "what"))), u64(c, "first_line"),
            u64(c, "second_line"), esc(cls), x1, y1, esc(cls), x2, y2);
      }
    }
    out += "</svg>\n";
  }

  void heap(const Json& r) {
    out += "<h3>Heap</h3>\n";
    if (field(r, "heap_maps").empty()) {
      out += "<p class=\"note\">This run kept no heap map.</p>\n";
      return;
    }
    out += "<p class=\"legend\"><span><i style=\"background:#d9d9d9\"></i>free</span>"
           "<span><i style=\"background:#e15759\"></i>corrupt</span>";
    out += fmt::format("<span><i style=\"background:{}\"></i>live, allocated by MAIN</span>", kMainColour);
    for (std::size_t k = 0; k < kTaskColours.size(); ++k) {
      out += fmt::format("<span><i style=\"background:{}\"></i>task {}{}</span>", kTaskColours[k], k,
                         k + 1 == kTaskColours.size() ? " (and k mod 8)" : "");
    }
    out += "</p>\n<div class=\"heap\">\n";
    for (const Json& m : field(r, "heap_maps")) {
      const std::size_t regions = field(m, "regions").size();
      constexpr int kBar = 18, kRow = 24, kLabel = 170;
      const int height = static_cast<int>(regions) * kRow + 4;
      out += fmt::format("<figure class=\"heap-map\" data-when=\"{}\" data-regions=\"{}\">", esc(text_of(field(m, "when"))),
                         regions);
      out += fmt::format("<figcaption>{} (after {} group{}): {} live blocks, {} free blocks in {} region{}{}{}"
                         "</figcaption>",
                         esc(text_of(field(m, "when"))), u64(m, "group"), u64(m, "group") == 1 ? "" : "s", u64(m, "live_blocks"), u64(m, "free_blocks"), regions,
                         regions == 1 ? "" : "s", m.value("walked", true) ? "" : "; the allocator has no census walk",
                         m.value("truncated", false) ? "; more than the map holds, the rest left out" : "");
      out += fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">",
                         kWidth, height, kWidth, height);
      int row = 0;
      for (const Json& reg : field(m, "regions")) {
        const std::uint64_t size = std::max<std::uint64_t>(1, u64(reg, "size"));
        const int y = row * kRow + 2;
        const double scale = static_cast<double>(kWidth - kLabel - 10) / static_cast<double>(size);
        out += fmt::format("<g class=\"region\" data-addr=\"{}\" data-size=\"{}\">", esc(text_of(field(reg, "addr"))), size);
        out += fmt::format("<text x=\"0\" y=\"{}\">{} &#183; {}</text>", y + 13, esc(text_of(field(reg, "addr"))), bytes_text(size));
        out += fmt::format("<rect class=\"region-bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f7f7f7\" "
                           "stroke=\"#ccc\"></rect>",
                           kLabel, y, kWidth - kLabel - 10, kBar);
        for (const Json& run : field(reg, "runs")) {
          if (!run.is_array() || run.size() != 5) throw std::invalid_argument("a heap map run is not [offset, size, state, task, blocks]");
          const std::uint64_t off = run[0].get<std::uint64_t>(), len = run[1].get<std::uint64_t>();
          const std::string state = run[2].get<std::string>();
          const int task = run[3].get<int>();
          const std::uint64_t blocks = run[4].get<std::uint64_t>();
          const char* fill = state == "free" ? "#d9d9d9" : state == "corrupt" ? "#e15759" : owner_colour(task);
          const std::string who = state != "live" ? "" : task < 0 ? ", allocated by MAIN" : fmt::format(", allocated by task {}", task);
          out += fmt::format(
              "<rect class=\"block {}\" data-task=\"{}\" data-detail=\"\" x=\"{:.2f}\" y=\"{}\" width=\"{:.2f}\" "
              "height=\"{}\" fill=\"{}\"><title>{} block{}{}: {} at +{:#x}</title></rect>",
              esc(state), task, kLabel + static_cast<double>(off) * scale, y,
              std::max(0.5, static_cast<double>(len) * scale), kBar, fill, blocks, blocks == 1 ? "" : "s",
              state == "live" ? " live" + who : " " + state, bytes_text(len), off);
        }
        out += "</g>";
        ++row;
      }
      out += "</svg></figure>\n";
    }
    out += "</div>\n";
  }

  void conflicts(const Json& r, std::size_t index, const Json& details) {
    out += "<h3>Conflicts</h3>\n";
    const std::uint64_t total = u64(field(r, "conflicts"), "allocator_induced") + u64(field(r, "conflicts"), "true_dependence");
    if (details.empty()) {
      out += "<p class=\"note\">No conflict.</p>\n";
      return;
    }
    out += fmt::format(
        "<div class=\"filters\" data-table=\"conflicts-{}\">group <input type=\"text\" class=\"f-group\"> class "
        "<select class=\"f-class\"><option value=\"\">any</option><option>allocator_induced</option>"
        "<option>true_dependence</option></select> kind <select class=\"f-kind\"><option value=\"\">any</option>"
        "<option>raw</option><option>waw</option></select> <span class=\"count\"></span></div>\n",
        index);
    out += fmt::format(
        "<table class=\"conflicts\" id=\"conflicts-{}\"><thead><tr><th data-type=\"num\">group</th>"
        "<th data-type=\"num\">first task</th><th data-type=\"num\">second task</th><th>kind</th><th>class</th>"
        "<th data-type=\"hex\">addr</th><th data-type=\"num\">len</th><th>what</th><th data-type=\"num\">first line</th>"
        "<th data-type=\"num\">second line</th></tr></thead><tbody>\n",
        index);
    for (std::size_t i = 0; i < details.size(); ++i) {
      const Json& c = details[i];
      out += fmt::format(
          "<tr id=\"c-{}-{}\" data-group=\"{}\" data-class=\"{}\" data-kind=\"{}\"><td>{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          index, i, u64(c, "group"), esc(text_of(field(c, "class"))), esc(text_of(field(c, "kind"))), u64(c, "group"),
          u64(c, "first_task"), u64(c, "second_task"), esc(text_of(field(c, "kind"))), esc(text_of(field(c, "class"))),
          esc(text_of(field(c, "addr"))), u64(c, "len"), esc(text_of(field(c, "what"))), u64(c, "first_line"), u64(c, "second_line"));
    }
    out += "</tbody></table>\n";
    if (total > details.size()) {
      out += fmt::format("<p class=\"note\">&#8230; and {} more conflicts (the run keeps the first {}).</p>\n",
                         total - details.size(), details.size());
    }
  }
};

}  // namespace

bool is_run_json(const Json& j) {
  auto one = [](const Json& r) { return r.is_object() && r.contains("allocator") && r.contains("events") && r.contains("verified"); };
  if (j.is_array()) return !j.empty() && std::all_of(j.begin(), j.end(), one);
  return one(j);
}

std::string html_report(const Json& runs) {
  if (!runs.is_array() || !is_run_json(runs)) throw std::invalid_argument("expected runs as pprsim replay --json writes them");
  Page p;
  bool all_ok = true;
  for (const Json& r : runs) all_ok = all_ok && r.value("verified", false);
  std::string title = runs.size() == 1 ? fmt::format("{} with {}: {}", text_of(field(runs[0], "trace")), text_of(field(runs[0], "allocator")),
                                                      all_ok ? "VERIFIED" : "FAILED")
                                       : fmt::format("{} runs: {}", runs.size(), all_ok ? "all VERIFIED" : "some FAILED");
  p.out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  p.out += "<title>pprsim report: " + esc(title) + "</title><style>" + kStyle + "</style></head>\n<body>\n";
  p.out += "<h1>pprsim report: " + esc(title) + "</h1>\n";
  p.figures(runs);
  for (std::size_t i = 0; i < runs.size(); ++i) p.run(runs[i], i);
  p.out += "<aside id=\"detail\" hidden><button type=\"button\">close</button><pre></pre></aside>\n";
  p.out += std::string("<script>") + kScript + "</script>\n</body></html>\n";
  return p.out;
}

}  // namespace pprsim
