// The HTML report as a person sees it: a real browser (headless Chromium) loads the page, runs
// its script without an error, sorts and filters the conflict table and opens a conflict's
// detail from the timeline (the page's #selftest does what a person would, and leaves the
// outcome in the DOM), and draws it to a PNG with tools/screenshot.sh. Skipped, with a message,
// where Chromium is not installed (CI installs it).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
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
  std::ifstream in(png, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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

}  // namespace
}  // namespace pprsim
