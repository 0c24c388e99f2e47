// The HTML report as a person sees it: a real browser (headless Chromium) loads the page, runs
// its script without an error, sorts and filters the conflict table and opens a conflict's
// detail from the timeline (the page's #selftest does what a person would, and leaves the
// outcome in the DOM), and draws it to a PNG with tools/screenshot.sh. Skipped, with a message,
// where Chromium is not installed (CI installs it).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string shell(const std::string& cmd) { return test::run_shell(cmd).out; }

std::string chromium() {
  std::string path = shell("command -v chromium || command -v chromium-browser || command -v google-chrome");
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  return path;
}

std::string attribute(const std::string& tag, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(tag, m, std::regex(name + "=\"([^\"]*)\""))) return "";
  std::string v = m[1];
  for (std::size_t at; (at = v.find("&quot;")) != std::string::npos;) v.replace(at, 6, "\"");
  for (std::size_t at; (at = v.find("&amp;")) != std::string::npos;) v.replace(at, 5, "&");
  return v;
}

struct Shared {
  fs::path html;
  Json run;
};

Shared shared_run(const test::TempDir& d) {
  const fs::path t = d.path() / "t.trace";
  EXPECT_EQ(test::run_pprsim("gen --events 3000 --seed 5 --ppr 0.6 -o " + t.string()).status, 0);
  Shared s{d.path() / "shared.html", {}};
  const fs::path json = d.path() / "shared.json";
  const auto r = test::run_pprsim("replay " + t.string() + " --alloc shared --group-size 4 --quiet --json " +
                                  json.string() + " --html " + s.html.string());
  EXPECT_EQ(r.status, 1) << r.out;
  std::ifstream in(json);
  s.run = Json::parse(in);
  return s;
}

TEST(HtmlInBrowser, ThePageRunsAndItsTableAndTimelineRespond) {
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium not installed (apt-get install chromium): the page is not rendered";
  test::TempDir d("browser");
  const Shared s = shared_run(d);
  const std::string dom = shell("timeout 120 " + browser +
                                " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                                (d.path() / "profile").string() + " --dump-dom 'file://" + s.html.string() +
                                "#selftest' 2>/dev/null");
  std::smatch body;
  ASSERT_TRUE(std::regex_search(dom, body, std::regex("<body[^>]*>"))) << dom.substr(0, 500);
  const std::string tag = body.str();
  EXPECT_EQ(attribute(tag, "data-ready"), "1") << "the script ran to its end: " << tag;
  EXPECT_EQ(attribute(tag, "data-error"), "") << "a script error: " << tag;
  const Json self = Json::parse(attribute(tag, "data-selftest"));
  int induced = 0;
  for (const Json& c : s.run["conflicts_detail"]) induced += c["class"] == "allocator_induced";
  EXPECT_EQ(self["sorted_descending"], true) << self;
  EXPECT_EQ(self["allocator_induced_rows"], induced) << self;
  EXPECT_EQ(self["detail_shown"], true) << self;
  EXPECT_EQ(self["row_selected"], "c-0-0") << "the first conflict drawn is the first listed: " << self;
}

TEST(HtmlInBrowser, TheScreenshotScriptDrawsThePage) {
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium not installed (apt-get install chromium): the page is not rendered";
  test::TempDir d("browser");
  const Shared s = shared_run(d);
  const fs::path png = d.path() / "page.png";
  const std::string script = std::string(PPRSIM_SOURCE_DIR) + "/tools/screenshot.sh";
  ASSERT_EQ(std::system(("sh " + script + " " + s.html.string() + " " + png.string() + " 1000 1200").c_str()), 0);
  const std::string bytes = test::slurp(png);
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  EXPECT_EQ(be32(16), 1000) << "width";
  EXPECT_EQ(be32(20), 1200) << "height";
  // A blank 1000 x 1200 page compresses to a few kB; tables, lanes and lines do not.
  EXPECT_GT(bytes.size(), 30000u);
  // An output that is not a regular file is refused, and left as it was.
  const fs::path dir = d.path() / "a-folder";
  fs::create_directory(dir);
  EXPECT_NE(std::system(("sh " + script + " " + s.html.string() + " " + dir.string() + " 2>/dev/null").c_str()), 0);
  EXPECT_TRUE(fs::is_directory(dir));
}

// The page's #selftest outcome (see html_report.cpp), from a browser window `width` pixels wide.
Json selftest(const std::string& browser, const test::TempDir& d, const fs::path& html, int width = 1400) {
  const std::string dom = shell("timeout 120 " + browser + " --headless --no-sandbox --disable-gpu --no-first-run " +
                                "--hide-scrollbars --window-size=" + std::to_string(width) + ",1000 --user-data-dir=" +
                                (d.path() / "profile").string() + " --dump-dom 'file://" + html.string() +
                                "#selftest' 2>/dev/null");
  std::smatch body;
  if (!std::regex_search(dom, body, std::regex("<body[^>]*>"))) return Json();
  const std::string tag = body.str();
  EXPECT_EQ(attribute(tag, "data-error"), "") << "a script error: " << tag;
  const std::string self = attribute(tag, "data-selftest");
  return self.empty() ? Json() : Json::parse(self);
}

TEST(HtmlInBrowser, TheFirstFailureIsOneClickAwayFromTheOverview) {
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium not installed (apt-get install chromium): the page is not rendered";
  test::TempDir d("browser");
  const Shared s = shared_run(d);
  const Json self = selftest(browser, d, s.html);
  ASSERT_TRUE(self.is_object()) << "no selftest outcome";
  EXPECT_GT(self["overview_bins"].get<int>(), 0) << "the whole-run overview is drawn: " << self;
  // One click on "First failure" brings its group to the top of the window.
  const std::int64_t first = s.run["first_failing_group"].get<std::int64_t>();
  ASSERT_GE(first, 0);
  EXPECT_EQ(self["first_failure_target"], "g-0-" + std::to_string(first)) << self;
  EXPECT_GT(self["scroll_y"].get<int>(), 0) << "the page scrolled: " << self;
  EXPECT_LE(std::abs(self["target_top"].get<int>()), 2) << "the failing group at the window's top: " << self;
}

TEST(HtmlInBrowser, ADoubleAllocationIsSeenInTheHeapMap) {
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium not installed (apt-get install chromium): the page is not rendered";
  test::TempDir d("browser");
  // A mutant that splits a task's blocks from the shared heap hands a block out twice; the heap
  // check after group 2 stops the run, and the map where it stopped holds that block.
  const fs::path t = d.path() / "t.trace";
  ASSERT_EQ(test::run_pprsim("gen --events 3000 --seed 5 --ppr 0.6 -o " + t.string()).status, 0);
  Shared s{d.path() / "double.html", {}};
  const auto r = test::run_pprsim("replay " + t.string() + " --alloc mutant:split-from-shared --group-size 4 --quiet " +
                                  "--html " + s.html.string());
  ASSERT_EQ(r.status, 1) << r.out;
  const Json self = selftest(browser, d, s.html);
  ASSERT_TRUE(self.is_object()) << "no selftest outcome";
  ASSERT_TRUE(self.contains("double_block")) << "no double allocation drawn: " << self;
  const Json& block = self["double_block"];
  EXPECT_TRUE(block["on_top"].get<bool>()) << self;
  EXPECT_GE(block["width"].get<double>(), 4.0) << "a failing block is at least 4 px wide";
  const int x = block["x"].get<int>(), y = block["y"].get<int>();
  ASSERT_LT(y, 16000) << "the heap map is too far down the page to photograph";
  const fs::path png = d.path() / "page.png";
  const std::string root = PPRSIM_SOURCE_DIR;
  ASSERT_EQ(std::system(("sh " + root + "/tools/screenshot.sh " + s.html.string() + " " + png.string() + " 1400 " +
                         std::to_string(y + 40) + " >/dev/null 2>&1").c_str()), 0);
  const std::string colour = shell("python3 " + root + "/tools/png_pixel.py " + png.string() + " " + std::to_string(x) +
                                   " " + std::to_string(y));
  EXPECT_EQ(colour, "#d10074\n") << "the pixel at the double allocation (" << x << ", " << y << ")";
}

TEST(HtmlInBrowser, ACappedConflictListSaysWhatItLeftOut) {
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "Chromium not installed (apt-get install chromium): the page is not rendered";
  PPRSIM_REQUIRE_CSAPP(dir);
  test::TempDir d("browser");
  const fs::path html = d.path() / "binary.html", json = d.path() / "binary.json";
  const auto r = test::run_pprsim("replay " + (dir / "binary-bal.rep").string() +
                                  " --alloc shared --group-size 8 --ppr-every 50 --quiet --json " + json.string() +
                                  " --html " + html.string());
  ASSERT_EQ(r.status, 1) << r.out;
  std::ifstream in(json);
  const Json run = Json::parse(in);
  const std::uint64_t total = run["conflicts"]["allocator_induced"].get<std::uint64_t>();
  const std::size_t kept = run["conflicts_detail"].size();
  ASSERT_GT(total, kept) << "the run found more conflicts than it keeps";
  const Json self = selftest(browser, d, html);
  ASSERT_TRUE(self.is_object());
  const std::string cap = self["cap"];
  EXPECT_NE(cap.find(std::to_string(kept) + " of the run's " + std::to_string(total) + " conflicts are listed"),
            std::string::npos) << cap;
  EXPECT_NE(cap.find(std::to_string(total - kept) + " left out"), std::string::npos) << cap;
}

}  // namespace
}  // namespace pprsim
