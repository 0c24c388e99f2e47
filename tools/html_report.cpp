#include "sim/json_text.h"
#include "tools/html_report.h"
#include "tools/html_parts.h"
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

using namespace html;  // NOLINT: the parts' shared helpers

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
table.conflicts th,table.compare th{cursor:pointer;user-select:none}
th[data-dir=asc]::after{content:" \25B2"}th[data-dir=desc]::after{content:" \25BC"}
table.compare td.cell a{display:block;color:#fff;text-decoration:none;padding:0 4px}
table.compare td.verified{background:#2e7d32}table.compare td.failed{background:#c62828}
tr.selected td{background:#fff3c4}
table.conflicts thead th,table.compare thead th{position:sticky;top:0;z-index:1}
.flash{outline:3px solid #f2b705;outline-offset:2px}
.first-failure{color:#c62828;font-weight:700}.failed-here{fill:#c62828;font-weight:700}
.cap{background:#fff8e1;border-left:3px solid #f2b705;padding:4px 8px}
svg[data-dense] line.conflict{stroke-width:1;stroke-opacity:.3}svg[data-dense] circle{r:1.5px;opacity:.5}
.overview svg{display:block}g.ov-bin{cursor:pointer}g.ov-bin:hover rect.ov-hit{fill:#0001}
.provenance{color:#555;font-size:12px}
.filters{margin:6px 0}.filters input{width:5em}
#detail{position:fixed;right:16px;bottom:16px;max-width:520px;background:#fff;border:1px solid #999;box-shadow:0 2px 8px #0003;padding:8px 12px}
#detail pre{white-space:pre-wrap;margin:4px 0}
)";

constexpr const char* kScript = R"(
(function () {
  'use strict';
  window.addEventListener('error', function (e) { document.body.dataset.error = String(e.message); });
  function value(row, i, type) {
    var cell = row.children[i];
    if (cell.dataset.v !== undefined) return Number(cell.dataset.v);
    var s = cell.textContent;
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
  document.querySelectorAll('table.conflicts th, table.compare th').forEach(function (th) {
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
    var count = f.querySelector('.count');
    var total = Number(count.dataset.total || rows.length);
    count.textContent = shown + ' of ' + rows.length + ' listed shown' +
      (total > rows.length ? '; ' + (total - rows.length) + ' of the run\'s ' + total + ' conflicts not listed (see the note above)' : '');
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
    if (row) { row.hidden = false; row.classList.add('selected'); row.scrollIntoView({block: 'center'}); }
  });
  // Jumps: the first-failure link and the overview's bars land on a group (or its fold line).
  function jump(id) {
    var target = id ? document.getElementById(id) : null;
    if (!target) return null;
    target.scrollIntoView({block: 'start'});
    document.querySelectorAll('.flash').forEach(function (t) { t.classList.remove('flash'); });
    target.classList.add('flash');
    return target;
  }
  document.addEventListener('click', function (e) {
    var el = e.target.closest ? e.target.closest('a.first-failure, g.ov-bin, .compare a[data-target]') : null;
    if (!el || !el.dataset.target) return;
    if (jump(el.dataset.target)) e.preventDefault();
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
    var first = document.querySelector('a.first-failure');
    if (first) {
      window.scrollTo(0, 0);
      first.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}));
      var t = document.getElementById(first.dataset.target);
      out.first_failure_target = first.dataset.target;
      out.scroll_y = Math.round(window.scrollY);
      out.target_top = t ? Math.round(t.getBoundingClientRect().top) : null;
    }
    var dbl = document.querySelector('.heap-zoom rect.block.double') || document.querySelector('rect.block.double');
    if (dbl) {
      dbl.scrollIntoView({block: 'center'});
      var b = dbl.getBoundingClientRect();
      out.double_block = {x: Math.round(b.left + b.width / 2 + window.scrollX), y: Math.round(b.top + b.height / 2 + window.scrollY),
                          width: b.width, on_top: document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2) === dbl};
    }
    var cap = document.querySelector('p.cap');
    out.cap = cap ? cap.textContent : '';
    out.overview_bins = document.querySelectorAll('g.ov-bin').length;
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
  Budget budget;

  void figures(const Json& runs) {
    const bool many = runs.size() > 4;  // a column a run: folded away behind the comparison matrix
    out += fmt::format("<section id=\"summary\"><h2>{}</h2>{}<table id=\"figures\"{}><thead><tr><th>figure</th>",
                       runs.size() == 1 ? "The run" : "Runs",
                       many ? "<details><summary>Every figure, a column a run</summary>" : "",
                       runs.size() == 1 ? " class=\"single\"" : "");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      std::string trace = text_of(field(runs[i], "trace"));
      if (const auto slash = trace.find_last_of('/'); slash != std::string::npos) trace = trace.substr(slash + 1);
      out += fmt::format("<th><a href=\"#run-{}\">{}. {} &#183; {} &#183; G={}</a></th>", i, i + 1, esc(trace),
                         esc(text_of(field(runs[i], "allocator"))), u64(runs[i], "group_size"));
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
    out += many ? "</tbody></table></details></section>\n" : "</tbody></table></section>\n";
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
    problems(r);
    overview(out, r, index, budget);
    std::map<std::uint64_t, std::vector<ConflictRef>> by_group;
    const Json& details = field(r, "conflicts_detail");  // null (no entries) when missing
    for (std::size_t i = 0; i < std::min(details.size(), budget.rows); ++i) {
      by_group[details[i].value("group", std::uint64_t{0})].push_back({&details[i], fmt::format("c-{}-{}", index, i)});
    }
    // The heap before the timeline: a bar per region, so the failing blocks stay near the top
    // however many groups the timeline draws.
    heap_maps(out, r, index, budget);
    timeline(r, index, by_group);
    conflicts(r, index, details);
    out += html_coverage(r);
    out += "</section>\n";
  }

 private:
  static constexpr int kLeft = 90;
  static constexpr int kLane = 14;
  static constexpr int kGap = 4;
  static constexpr int kTop = 16;
  static constexpr std::size_t kDense = 40;  // more conflicts in a group: drawn faint, so that their density shows

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
    std::size_t drawn = 0;
    Rest rest;
    for (const Json& e : field(t, "entries")) {
      if (drawn == budget.groups) {
        rest.add(e);
      } else if (e.contains("folded")) {
        fold_line(e, index, u64(t, "shown_groups"));
      } else {
        group(e, index, by_group, field(r, "first_failing_group"));
        ++drawn;
      }
    }
    if (rest.groups > 0) {
      out += fmt::format(
          "<div class=\"folded\" id=\"rest-{}\" data-groups=\"{}\" data-first-group=\"{}\" data-last-group=\"{}\" "
          "data-not-shown=\"{}\" data-conflicts=\"{}\">{} more groups (groups {}&#8211;{}, lines {}&#8211;{}) not drawn "
          "on this comparison page, <b>{} of them with something to show</b> ({} conflicts); the run's own page "
          "(pprsim report RUN.json -o) draws them</div>\n",
          index, rest.groups, rest.first_group, rest.last_group, rest.worth, rest.conflicts, rest.groups, rest.first_group,
          rest.last_group, rest.first_line, rest.last_line, rest.worth, rest.conflicts);
    }
    if (const std::uint64_t n = u64(t, "not_shown"); n > 0) {
      out += fmt::format("<p class=\"note\">{} more groups with something to show are folded: the report draws the "
                         "first {}.</p>\n",
                         n, u64(t, "shown_groups"));
    }
    out += "</div>\n";
  }

  // A line for groups folded: how many, which, and of what kind, so that none is hidden silently.
  void fold_line(const Json& e, std::size_t index, std::uint64_t shown) {
    const std::uint64_t n = u64(e, "folded"), a = u64(e, "first_group"), b = u64(e, "last_group");
    const std::uint64_t past_cap = u64(e, "not_shown"), conflicts = u64(e, "conflicts");
    const std::uint64_t quiet = n >= past_cap ? n - past_cap : 0;
    std::string what;
    if (past_cap == 0) {
      what = fmt::format("{} with nothing to show (every task committed, no conflict)", quiet == 1 ? "it has" : "all");
    } else {
      what = fmt::format("{} with nothing to show; <b>{} with something to show</b> ({} conflict{}) not drawn: the report "
                         "draws the first {} such groups",
                         quiet, past_cap, conflicts, conflicts == 1 ? "" : "s", shown);
    }
    out += fmt::format(
        "<div class=\"folded\" id=\"fold-{}-{}\" data-groups=\"{}\" data-first-group=\"{}\" data-last-group=\"{}\" "
        "data-not-shown=\"{}\" data-conflicts=\"{}\">{} group{} folded ({}, lines {}&#8211;{}): {}</div>\n",
        index, a, n, a, b, past_cap, conflicts, n, n == 1 ? "" : "s",
        a == b ? fmt::format("group {}", a) : fmt::format("groups {}&#8211;{}", a, b), u64(e, "first_line"),
        u64(e, "last_line"), what);
  }

  // The groups past the page's budget, summed into one line.
  struct Rest {
    std::uint64_t groups = 0, worth = 0, conflicts = 0, first_group = 0, last_group = 0, first_line = 0, last_line = 0;
    void add(const Json& e) {
      const bool fold = e.contains("folded");
      if (groups == 0) {
        first_group = fold ? u64(e, "first_group") : u64(e, "group");
        first_line = u64(e, "first_line");
      }
      last_group = fold ? u64(e, "last_group") : u64(e, "group");
      last_line = std::max(last_line, u64(e, "last_line"));
      groups += fold ? u64(e, "folded") : 1;
      worth += fold ? u64(e, "not_shown") : 1;
      conflicts += u64(e, "conflicts");
    }
  };

  void problems(const Json& r) {
    constexpr std::size_t kOpen = 3;
    const Json& list = field(r, "problems");
    std::size_t i = 0;
    for (const Json& p : list) {
      if (i == kOpen) out += fmt::format("<details class=\"problems\"><summary>{} more problems</summary>\n", list.size() - kOpen);
      out += "<p class=\"problem\">" + esc(text_of(p)) + "</p>\n";
      ++i;
    }
    if (i > kOpen) out += "</details>\n";
  }

  void group(const Json& g, std::size_t index, const std::map<std::uint64_t, std::vector<ConflictRef>>& by_group,
             const Json& first_failing) {
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
        "<svg class=\"group\"{} id=\"{}\" data-group=\"{}\" data-tasks=\"{}\" data-conflicts=\"{}\" width=\"{}\" "
        "height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">",
        n_conflicts > kDense ? " data-dense=\"\"" : "", group_id(index, gi), gi, tasks, n_conflicts, kWidth, height, kWidth, height);
    const bool failed_here = first_failing.is_number_integer() && first_failing.get<std::int64_t>() >= 0 &&
                             first_failing.get<std::uint64_t>() == gi;
    out += fmt::format("<text x=\"0\" y=\"11\">group {}{} &#183; lines {}&#8211;{} &#183; understudy {} &#183; {} "
                       "conflict{}{}</text>",
                       gi, g.value("serial", false) ? " (serial)" : "", first, last, esc(understudy),
                       u64(g, "conflicts"), u64(g, "conflicts") == 1 ? "" : "s",
                       n_conflicts < u64(g, "conflicts") ? fmt::format(" ({} drawn: the sample kept)", n_conflicts) : "");
    if (failed_here) {
      out += fmt::format("<text class=\"failed-here\" x=\"{}\" y=\"11\" text-anchor=\"end\">FIRST FAILURE</text>", kWidth - 10);
    }
    // The first task that did not commit: the ordered commit aborts every task after it.
    std::size_t first_stopped = tasks;
    for (const Json& t : field(g, "tasks")) {
      if (text_of(field(t, "outcome")) != "committed") {
        first_stopped = std::min(first_stopped, static_cast<std::size_t>(u64(t, "task")));
      }
    }
    for (const Json& t : field(g, "tasks")) {
      const std::size_t k = static_cast<std::size_t>(t.value("task", 0));
      std::string outcome = text_of(field(t, "outcome"));
      std::string why;
      if (outcome == "aborted" && understudy == "won") {
        why = " (the understudy won)";
      } else if (outcome == "aborted" && first_stopped < k) {
        why = fmt::format(" (after task {} did not commit)", first_stopped);
      } else if (outcome == "aborted") {
        why = " (the first of the group not to commit)";
      }
      const std::uint64_t a = u64(t, "first_line"), b = u64(t, "last_line");
      const double x0 = a == 0 ? kLeft : x(a);
      const double w = a == 0 ? 3.0 : std::max(3.0, x(b) - x0);
      out += fmt::format("<text x=\"0\" y=\"{}\">task {}</text>", lane_y(k) + 11, k);
      out += fmt::format(
          "<rect class=\"task {}\" data-task=\"{}\" data-detail=\"\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" "
          "height=\"{}\"><title>group {}, task {}: {}, {}</title></rect>",
          esc(outcome), k, x0, lane_y(k), w, kLane, gi, k,
          a == 0 ? std::string("no events") : fmt::format("lines {}&#8211;{}", a, b), esc(outcome) + why);
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

  void conflicts(const Json& r, std::size_t index, const Json& details) {
    out += "<h3>Conflicts</h3>\n";
    const std::uint64_t total = u64(field(r, "conflicts"), "allocator_induced") + u64(field(r, "conflicts"), "true_dependence");
    if (details.empty()) {
      out += total == 0 ? "<p class=\"note\">No conflict.</p>\n"
                        : fmt::format("<p class=\"cap\">{} conflicts, none kept in detail.</p>\n", total);
      pair_counts(r);
      return;
    }
    const std::uint64_t groups_with = field(field(r, "conflict_counts"), "by_group").size();
    const std::uint64_t pairs = field(field(r, "conflict_counts"), "by_pair").size();
    const std::size_t listed = std::min(details.size(), budget.rows);
    if (listed < details.size()) {
      out += fmt::format("<p class=\"cap\" data-total=\"{}\" data-kept=\"{}\"><b>{} of the run's {} conflicts are listed "
                         "on this comparison page</b> (the run keeps {}, spread over all its groups and task pairs; "
                         "its own page lists them). The counts per group and per task pair are complete.</p>\n",
                         total, listed, listed, total, details.size());
    } else if (total > details.size()) {
      out += fmt::format(
          "<p class=\"cap\" data-total=\"{}\" data-kept=\"{}\"><b>{} of the run's {} conflicts are listed</b> ({} left "
          "out): a sample spread over the {} group{} with conflicts and the {} task pair{} (every pair keeps its "
          "first, a busy pair every n-th). The counts per group (in the timeline) and per task pair (below) are "
          "complete.</p>\n",
          total, details.size(), details.size(), total, total - details.size(), groups_with, groups_with == 1 ? "" : "s",
          pairs, pairs == 1 ? "" : "s");
    }
    pair_counts(r);
    out += fmt::format(
        "<div class=\"filters\" data-table=\"conflicts-{}\">group <input type=\"text\" class=\"f-group\"> class "
        "<select class=\"f-class\"><option value=\"\">any</option><option>allocator_induced</option>"
        "<option>true_dependence</option></select> kind <select class=\"f-kind\"><option value=\"\">any</option>"
        "<option>raw</option><option>waw</option></select> <span class=\"count\" data-total=\"{}\"></span></div>\n",
        index, total);
    out += fmt::format(
        "<table class=\"conflicts\" id=\"conflicts-{}\"><thead><tr><th data-type=\"num\">group</th>"
        "<th data-type=\"num\">first task</th><th data-type=\"num\">second task</th><th>kind</th><th>class</th>"
        "<th data-type=\"hex\">addr</th><th data-type=\"num\">len</th><th>what</th><th data-type=\"num\">first line</th>"
        "<th data-type=\"num\">second line</th></tr></thead><tbody>\n",
        index);
    for (std::size_t i = 0; i < listed; ++i) {
      const Json& c = details[i];
      out += fmt::format(
          "<tr id=\"c-{}-{}\" data-group=\"{}\" data-class=\"{}\" data-kind=\"{}\"><td>{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          index, i, u64(c, "group"), esc(text_of(field(c, "class"))), esc(text_of(field(c, "kind"))), u64(c, "group"),
          u64(c, "first_task"), u64(c, "second_task"), esc(text_of(field(c, "kind"))), esc(text_of(field(c, "class"))),
          esc(text_of(field(c, "addr"))), u64(c, "len"), esc(text_of(field(c, "what"))), u64(c, "first_line"), u64(c, "second_line"));
    }
    out += "</tbody></table>\n";
  }

  // Every conflict, counted by task pair and class: complete where the table is a sample.
  void pair_counts(const Json& r) {
    const Json& pairs = field(field(r, "conflict_counts"), "by_pair");
    if (pairs.empty()) return;
    out += "<details class=\"pair-counts\"><summary>Conflicts by task pair (all of them)</summary><table class=\"pairs\">"
           "<thead><tr><th>first task</th><th>second task</th><th>class</th><th>conflicts</th><th>listed</th></tr></thead>"
           "<tbody>\n";
    for (const Json& p : pairs) {
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", u64_at(p, 0), u64_at(p, 1),
                         p.is_array() && p.size() > 2 ? esc(text_of(p[2])) : "", u64_at(p, 3), u64_at(p, 4));
    }
    out += "</tbody></table></details>\n";
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
  p.budget = budget_for(runs.size());
  bool all_ok = true;
  for (const Json& r : runs) all_ok = all_ok && r.value("verified", false);
  std::string title = runs.size() == 1 ? fmt::format("{} with {}: {}", text_of(field(runs[0], "trace")), text_of(field(runs[0], "allocator")),
                                                      all_ok ? "VERIFIED" : "FAILED")
                                       : fmt::format("{} runs: {}", runs.size(), all_ok ? "all VERIFIED" : "some FAILED");
  p.out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  p.out += "<title>pprsim report: " + esc(title) + "</title><style>" + kStyle + "</style></head>\n<body>\n";
  p.out += "<h1>pprsim report: " + esc(title) + "</h1>\n";
  provenance(p.out, runs);
  comparison(p.out, runs);
  p.figures(runs);
  for (std::size_t i = 0; i < runs.size(); ++i) p.run(runs[i], i);
  p.out += "<aside id=\"detail\" hidden><button type=\"button\">close</button><pre></pre></aside>\n";
  p.out += std::string("<script>") + kScript + "</script>\n</body></html>\n";
  return p.out;
}

}  // namespace pprsim
