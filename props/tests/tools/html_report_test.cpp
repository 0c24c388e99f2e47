// The HTML report, read back with a real HTML parser (libxml2) and checked against the JSON of
// the same run: the figures, one drawing per group worth showing and a fold for the rest, every
// conflict drawn and listed, the heap maps, nothing fetched from anywhere, and the same page
// from `replay --html` and from `report RUN.json -o`.
#include <gtest/gtest.h>
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

using test::slurp;

// A parsed page and XPath over it.
class Page {
 public:
  explicit Page(const std::string& html)
      : doc_(htmlReadMemory(html.data(), static_cast<int>(html.size()), "report.html", "utf-8",
                            HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET),
             xmlFreeDoc) {}
  bool ok() const { return doc_ != nullptr; }

  double number(const std::string& xpath) const {
    auto r = eval(xpath);
    return r ? r->floatval : -1;
  }
  std::string text(const std::string& xpath) const {
    auto r = eval("string(" + xpath + ")");
    return r && r->stringval != nullptr ? reinterpret_cast<const char*>(r->stringval) : "";
  }

 private:
  using Result = std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObjectPtr)>;
  Result eval(const std::string& xpath) const {
    std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContextPtr)> ctx(xmlXPathNewContext(doc_.get()),
                                                                         xmlXPathFreeContext);
    return Result(xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx.get()),
                  xmlXPathFreeObject);
  }
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc_;
};

// A replay of a generated trace with --json and --html; the run's JSON and the page.
struct Drawn {
  Json run;
  std::string html;
  int status = -1;
};

Drawn draw(const test::TempDir& d, const std::string& name, const std::string& replay_args) {
  const fs::path json = d.path() / (name + ".json"), html = d.path() / (name + ".html");
  const auto r = test::run_pprsim("replay " + replay_args + " --quiet --json " + json.string() + " --html " + html.string());
  Drawn out;
  out.status = r.status;
  EXPECT_TRUE(r.status == 0 || r.status == 1) << r.out;
  out.run = Json::parse(slurp(json));
  out.html = slurp(html);
  return out;
}

fs::path gen(const test::TempDir& d, const std::string& args) {
  const fs::path t = d.path() / "t.trace";
  const auto r = test::run_pprsim("gen " + args + " -o " + t.string());
  EXPECT_EQ(r.status, 0) << r.out;
  return t;
}

TEST(HtmlReport, TheSharedControlsFailureReadsAsItsJson) {
  test::TempDir d("html");
  const fs::path t = gen(d, "--events 3000 --seed 5 --ppr 0.6");
  const Drawn s = draw(d, "shared", t.string() + " --alloc shared --group-size 4");
  ASSERT_EQ(s.status, 1);
  const Json& j = s.run;
  Page p(s.html);
  ASSERT_TRUE(p.ok());

  EXPECT_NE(p.text("//title").find("FAILED"), std::string::npos);
  EXPECT_EQ(p.text("//section[@id='run-0']//span[contains(@class,'verdict')]"), "FAILED");
  EXPECT_EQ(p.text("//table[@id='figures']//tr[@data-key='allocator']/td"), "shared");
  EXPECT_EQ(p.text("//table[@id='figures']//tr[@data-key='events']/td"), std::to_string(j["events"].get<int>()));
  EXPECT_EQ(p.text("//table[@id='figures']//tr[@data-key='groups']/td"), std::to_string(j["groups"].get<int>()));
  EXPECT_EQ(p.text("//table[@id='figures']//tr[@data-key='allocator_induced']/td"),
            std::to_string(j["conflicts"]["allocator_induced"].get<int>()));

  // The timeline: a drawing per group worth showing, with a lane per task; a fold for the rest.
  int shown = 0, folds = 0, folded_groups = 0;
  for (const Json& e : j["timeline"]["entries"]) {
    if (e.contains("folded")) {
      ++folds;
      folded_groups += e["folded"].get<int>();
      continue;
    }
    ++shown;
    const std::string svg = "//svg[@class='group'][@data-group='" + std::to_string(e["group"].get<int>()) + "']";
    EXPECT_EQ(p.number("count(" + svg + ")"), 1) << svg;
    EXPECT_EQ(p.number("count(" + svg + "//rect[contains(@class,'task')])"), e["tasks"].size()) << svg;
    for (const Json& k : e["tasks"]) {
      const std::string rect = svg + "//rect[@data-task='" + std::to_string(k["task"].get<int>()) + "']";
      EXPECT_EQ(p.text(rect + "/@class"), "task " + k["outcome"].get<std::string>()) << rect;
    }
  }
  EXPECT_GT(shown, 0);
  EXPECT_EQ(p.number("count(//svg[@class='group'])"), shown);
  EXPECT_EQ(p.number("count(//div[@class='folded'])"), folds);
  EXPECT_EQ(p.number("sum(//div[@class='folded']/@data-groups)"), folded_groups);
  EXPECT_EQ(shown + folded_groups, j["groups"].get<int>()) << "every group is drawn or folded";

  // Every conflict is drawn between its two tasks and listed in the table.
  const Json& details = j["conflicts_detail"];
  ASSERT_GT(details.size(), 0u);
  EXPECT_EQ(p.number("count(//line[contains(@class,'conflict')])"), details.size());
  EXPECT_EQ(p.number("count(//table[@id='conflicts-0']/tbody/tr)"), details.size());
  for (std::size_t i = 0; i < details.size(); i += 7) {
    const std::string row = "//tr[@id='c-0-" + std::to_string(i) + "']";
    EXPECT_EQ(p.text(row + "/td[6]"), details[i]["addr"].get<std::string>()) << row;
    EXPECT_EQ(p.text(row + "/td[5]"), details[i]["class"].get<std::string>()) << row;
    EXPECT_EQ(p.text(row + "/td[9]"), std::to_string(details[i]["first_line"].get<int>())) << row;
    const std::string line = "//line[@data-row='c-0-" + std::to_string(i) + "']";
    EXPECT_EQ(p.number("count(" + line + ")"), 1) << line;
    EXPECT_NE(p.text(line + "/title").find(details[i]["addr"].get<std::string>()), std::string::npos);
  }

  // The heap maps: before and after the first failing group, and the end, a rectangle per run
  // of blocks.
  ASSERT_EQ(j["heap_maps"].size(), 3u);
  EXPECT_EQ(j["heap_maps"][0]["when"], "before the first failing group");
  EXPECT_EQ(j["heap_maps"][1]["when"], "first failing group");
  EXPECT_EQ(j["heap_maps"][0]["group"], j["heap_maps"][1]["group"].get<int>() - 1) << "taken before its commit";
  EXPECT_EQ(p.number("count(//figure[@class='heap-map'])"), 3);
  for (std::size_t m = 0; m < 3; ++m) {
    std::size_t runs = 0;
    for (const Json& r : j["heap_maps"][m]["regions"]) runs += r["runs"].size();
    const std::string fig = "//figure[@class='heap-map'][" + std::to_string(m + 1) + "]";
    EXPECT_EQ(p.number("count(" + fig + "//rect[starts-with(@class,'block')])"), runs) << fig;
    EXPECT_EQ(p.number("count(" + fig + "//g[@class='region'])"), j["heap_maps"][m]["regions"].size()) << fig;
  }

  // Self-contained: nothing is fetched.
  EXPECT_EQ(p.number("count(//*[@src])"), 0);
  EXPECT_EQ(p.number("count(//link)"), 0);
  EXPECT_EQ(p.number("count(//script[@src])"), 0);
  std::string rest = s.html;
  for (std::size_t at; (at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;) rest.erase(at, 26);
  EXPECT_EQ(rest.find("http"), std::string::npos) << "a URL in the page";
}

// A failure only the heap check after a group finds (no conflict marks the group while it
// runs): the report still has the heap before that group beside the heap where the run stopped,
// taken by a second run of the trace to where the group starts.
TEST(HtmlReport, AHeapCheckFailureHasTheHeapBeforeItsGroupToo) {
  test::TempDir d("html");
  const Drawn r = draw(d, "deferred", std::string(PPRSIM_SOURCE_DIR) +
                                          "/traces/samples/ppr-demo.trace --alloc mutant:merge-drops-deferred --group-size 4");
  ASSERT_EQ(r.status, 1);
  ASSERT_EQ(r.run["stop"], "heap-check") << r.run.dump();
  const std::int64_t failing = r.run["first_failing_group"].get<std::int64_t>();
  ASSERT_GE(failing, 0);
  const Json& maps = r.run["heap_maps"];
  ASSERT_EQ(maps.size(), 2u) << maps.dump();
  EXPECT_EQ(maps[0]["when"], "before the first failing group");
  EXPECT_EQ(maps[0]["group"].get<std::int64_t>(), failing);
  EXPECT_EQ(maps[1]["when"], "where the run stopped");
  EXPECT_EQ(maps[1]["group"].get<std::int64_t>(), failing + 1);
  EXPECT_NE(r.html.find("data-when=\"before the first failing group\""), std::string::npos);
}

TEST(HtmlReport, ReportDrawsTheSamePageFromTheSavedJson) {
  test::TempDir d("html");
  const fs::path t = gen(d, "--events 2000 --seed 8 --ppr 0.5");
  const Drawn a = draw(d, "a", t.string() + " --alloc shared --group-size 3");
  const fs::path again = d.path() / "again.html";
  const auto r = test::run_pprsim("report " + (d.path() / "a.json").string() + " -o " + again.string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(slurp(again), a.html);
  // One seed and one command, one page, byte for byte (the seconds a run took are not on it;
  // the date on it is fixed by SOURCE_DATE_EPOCH, test_support.h).
  const Drawn b = draw(d, "a", t.string() + " --alloc shared --group-size 3");
  EXPECT_EQ(a.html, b.html);
}

TEST(HtmlReport, SeveralRunsMakeOneComparisonPage) {
  test::TempDir d("html");
  const fs::path t = gen(d, "--events 2000 --seed 9 --ppr 0.5");
  draw(d, "runs", t.string() + " --alloc dmmalloc,comalloc,shared --group-size 4");
  const Json runs = Json::parse(slurp(d.path() / "runs.json"));
  ASSERT_EQ(runs.size(), 3u);
  Page p(slurp(d.path() / "runs.html"));
  EXPECT_EQ(p.number("count(//section[@class='run'])"), 3);
  EXPECT_EQ(p.number("count(//table[@id='figures']/thead//th)"), 4) << "a figure column and one per run";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(p.text("//table[@id='figures']//tr[@data-key='allocator']/td[" + std::to_string(i + 1) + "]"),
              runs[i]["allocator"].get<std::string>());
    EXPECT_EQ(p.text("//section[@id='run-" + std::to_string(i) + "']//span[contains(@class,'verdict')]"),
              runs[i]["verified"].get<bool>() ? "VERIFIED" : "FAILED");
    for (const char* key : {"task_grown_bytes", "adopted_bytes"}) {  // growth inside tasks, beside the carve
      const std::string cell =
          p.text("//table[@id='figures']//tr[@data-key='" + std::string(key) + "']/td[" + std::to_string(i + 1) + "]");
      EXPECT_EQ(cell == "0 B", runs[i][key].get<std::uint64_t>() == 0) << key << ": " << cell;
    }
  }
  EXPECT_GT(runs[0]["task_grown_bytes"].get<std::uint64_t>(), 0u) << "dmmalloc's tasks grew";
  // And report merges runs saved apart into the same kind of page.
  test::run_pprsim("replay " + t.string() + " --alloc dmmalloc --group-size 4 --quiet --json " + (d.path() / "one.json").string());
  test::run_pprsim("replay " + t.string() + " --alloc shared --group-size 4 --quiet --json " + (d.path() / "two.json").string());
  const auto r = test::run_pprsim("report " + (d.path() / "one.json").string() + " " + (d.path() / "two.json").string() +
                                  " -o " + (d.path() / "both.html").string());
  EXPECT_EQ(r.status, 1) << r.out;
  Page both(slurp(d.path() / "both.html"));
  EXPECT_EQ(both.number("count(//section[@class='run'])"), 2);
  // The matrix: a row for the trace, a cell a run in its verdict's colour, linked to the run.
  EXPECT_EQ(p.number("count(//table[@id='compare-table']/tbody/tr)"), 1);
  for (int i = 0; i < 3; ++i) {
    const std::string cell = "//table[@id='compare-table']//td[a/@href='#run-" + std::to_string(i) + "']";
    EXPECT_EQ(p.text(cell + "/@class"), runs[i]["verified"].get<bool>() ? "cell verified" : "cell failed");
  }
}

TEST(HtmlReport, ProvenanceNamesTheVersionCommandAndDate) {
  test::TempDir d("html");
  const fs::path t = gen(d, "--events 500 --seed 3 --ppr 0.5");
  const Drawn s = draw(d, "p", t.string() + " --alloc dmmalloc --group-size 2 --seed 7");
  const Json& p = s.run["provenance"];
  EXPECT_EQ(p["version"].get<std::string>().rfind("pprsim ", 0), 0u) << p;
  EXPECT_NE(p["command"].get<std::string>().find("replay " + t.string() + " --alloc dmmalloc"), std::string::npos) << p;
  EXPECT_EQ(p["date"], "2023-11-14T22:13:20Z") << "SOURCE_DATE_EPOCH (the tests set it) fixes the date";
  Page page(s.html);
  const std::string line = page.text("//p[@class='provenance']");
  EXPECT_NE(line.find("seed 7"), std::string::npos) << line;
  EXPECT_NE(line.find("2023-11-14T22:13:20Z"), std::string::npos) << line;
  // Without SOURCE_DATE_EPOCH the date is the clock's.
  const auto r = test::run_shell("env -u SOURCE_DATE_EPOCH " + std::string(PPRSIM_BINARY) + " replay " + t.string() +
                                 " --quiet --json -");
  EXPECT_EQ(Json::parse(r.out)["provenance"]["date"].get<std::string>().size(), 20u) << r.out;
}

TEST(HtmlReport, SixtyRunsOfTheCsappTracesMakeAPageUnderThreeMegabytes) {
  PPRSIM_REQUIRE_CSAPP(dir);
  test::TempDir d("html");
  std::string traces;
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".rep") {
      traces += " " + e.path().string();
      ++n;
    }
  }
  ASSERT_EQ(n, 20u);
  const fs::path html = d.path() / "sixty.html";
  const auto r = test::run_pprsim("replay" + traces + " --alloc dmmalloc,comalloc,shared --group-size 4 --ppr-every 50 "
                                  "--quiet --html " + html.string() + " >/dev/null");
  EXPECT_EQ(r.status, 1) << r.out;
  const std::string page = slurp(html);
  EXPECT_LT(page.size(), 3u << 20);
  Page p(page);
  EXPECT_EQ(p.number("count(//table[@id='compare-table']//td[contains(@class,'cell')])"), 60);
  EXPECT_EQ(p.number("count(//table[@id='compare-table']/tbody/tr)"), 20);
  EXPECT_EQ(p.number("count(//section[@class='run'])"), 60);
}

TEST(HtmlReport, ALongRunStaysLightQuietGroupsFold) {
  test::TempDir d("html");
  // 4,000 groups, every one worth showing (the understudy wins each): the page draws the first
  // 1,000 and folds the rest, so its size does not grow with the run.
  const fs::path t = gen(d, "--events 16000 --seed 2 --ppr 8000 --ppr-length 2 --ppr-run 1000");
  const Drawn s = draw(d, "long", t.string() + " --alloc dmmalloc --group-size 2 --understudy always");
  ASSERT_EQ(s.status, 0);
  EXPECT_EQ(s.run["groups"], 4000);
  EXPECT_EQ(s.run["timeline"]["shown_groups"], 1000);
  EXPECT_EQ(s.run["timeline"]["not_shown"], 3000);
  Page p(s.html);
  EXPECT_EQ(p.number("count(//svg[@class='group'])"), 1000);
  EXPECT_LT(s.html.size(), 2u << 20);
  // The fold line says what it folds: the 3,000 groups past the cap had something to show.
  EXPECT_EQ(p.number("sum(//div[@class='folded']/@data-not-shown)"), 3000);
  EXPECT_NE(p.text("//div[@class='folded'][@data-not-shown='3000']").find("3000 with something to show"), std::string::npos)
      << p.text("//div[@class='folded'][last()]");
  // The overview covers every group, in at most 1,024 bars.
  const Json& bins = s.run["timeline"]["overview"]["bins"];
  EXPECT_LE(bins.size(), 1024u);
  std::uint64_t binned = 0;
  for (const Json& b : bins) binned += b[4].get<std::uint64_t>();
  EXPECT_EQ(binned, 4000u);
  EXPECT_EQ(p.number("count(//g[@class='ov-bin'])"), static_cast<double>(bins.size()));
  // A verified run with nothing to show folds every group into one line.
  const Drawn quiet = draw(d, "quiet", t.string() + " --alloc dmmalloc --group-size 2 --understudy never");
  Page q(quiet.html);
  EXPECT_LT(q.number("count(//svg[@class='group'])"), 1000);
  EXPECT_EQ(q.number("count(//svg[@class='group']) + sum(//div[@class='folded']/@data-groups)"), 4000);
}

TEST(HtmlReport, BadInputIsExitTwoAndNothingWritten) {
  test::TempDir d("html");
  const fs::path t = gen(d, "--events 500 --seed 1 --ppr 0.5");
  draw(d, "ok", t.string() + " --alloc dmmalloc --group-size 2");
  const std::string ok = (d.path() / "ok.json").string();
  const fs::path out = d.path() / "out.html";
  // Not a run, not JSON, a fuzz report with -o, the input as the output.
  std::ofstream(d.path() / "bad.json") << "{\"allocator\": \"x\"}";
  std::ofstream(d.path() / "notjson.json") << "<html>";
  for (const std::string& args : {"report " + ok + " " + (d.path() / "bad.json").string() + " -o " + out.string(),
                                  "report " + (d.path() / "notjson.json").string() + " -o " + out.string(),
                                  "report " + ok + " -o " + ok,
                                  "replay " + t.string() + " --html " + t.string(),
                                  "replay " + t.string() + " --html - --json -"}) {
    const auto r = test::run_pprsim(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(Json::parse(slurp(ok))["allocator"], "dmmalloc") << "the input survived";

  // A run that lacks most keys (written by hand, or by an older pprsim) is still drawn; a heap
  // map whose runs are not [offset, size, state, task, blocks] is refused. Never a crash.
  std::ofstream(d.path() / "bare.json") << R"({"allocator": "x", "events": 1, "verified": false})";
  const auto bare = test::run_pprsim("report " + (d.path() / "bare.json").string() + " -o " + out.string());
  EXPECT_EQ(bare.status, 1) << bare.out;
  EXPECT_TRUE(Page(slurp(out)).ok());
  fs::remove(out);
  std::ofstream(d.path() / "badmap.json")
      << R"({"allocator": "x", "events": 1, "verified": true, "heap_maps": [{"regions": [{"runs": [[1, 2]]}]}]})";
  const auto badmap = test::run_pprsim("report " + (d.path() / "badmap.json").string() + " -o " + out.string());
  EXPECT_EQ(badmap.status, 2) << badmap.out;
  EXPECT_EQ(badmap.out.find('\n'), badmap.out.size() - 1) << badmap.out;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_GT(fs::file_size(t), 100u);
  // Fields of the wrong type: one line and exit 2, with -o and without (it aborted on an
  // uncaught type error).
  std::ofstream(d.path() / "types.json") << R"({"allocator": 1, "events": "x", "verified": "no"})";
  for (const std::string& args : {"report " + (d.path() / "types.json").string() + " -o " + out.string(),
                                  "report " + (d.path() / "types.json").string()}) {
    const auto r = test::run_pprsim(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  }
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace pprsim
