// The access log against a byte-by-byte model: the last write's line and the first exposed
// read's line of every byte, the pages it lists, and the runs of written bytes a commit copies;
// the same for a log reset after other accesses (a recycled task's).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "sim/access_log.h"

namespace pprsim {
namespace {

constexpr Addr kBase = 0x40000;
constexpr std::uint64_t kPages = 5;

struct ByteModel {
  std::map<Addr, std::uint32_t> read, write;
};

// Writes and reads over a few pages: single bytes, words (half the time aligned, as the
// allocator's are), headers, chunk-sized and whole-page spans.
void random_accesses(AccessLog& log, ByteModel& m) {
  const int steps = *rc::gen::inRange(1, 120);
  for (int s = 0; s < steps; ++s) {
    const std::uint32_t line = static_cast<std::uint32_t>(s + 1);
    log.set_line(line);
    const std::uint64_t len = *rc::gen::element<std::uint64_t>(1, 8, 16, 100, AccessLog::Lines::kChunk,
                                                               2 * AccessLog::Lines::kChunk, kPageSize, kPageSize + 40);
    Addr a = kBase + *rc::gen::inRange<std::uint64_t>(0, kPages * kPageSize - len + 1);
    if (*rc::gen::arbitrary<bool>()) a -= a % 8;  // aligned, as the allocator's words are
    if (*rc::gen::arbitrary<bool>()) {
      log.on_write(a, len);
      for (Addr b = a; b < a + len; ++b) m.write[b] = line;
    } else {
      log.on_read(a, len);
      for (Addr b = a; b < a + len; ++b) {
        if (m.write.count(b) == 0 && m.read.count(b) == 0) m.read[b] = line;
      }
    }
  }
}

// Half the time the log has had a life before: other accesses, then reset().
void maybe_used_before(AccessLog& log) {
  if (!*rc::gen::arbitrary<bool>()) return;
  ByteModel forgotten;
  random_accesses(log, forgotten);
  log.reset();
}

std::uint32_t at(const std::map<Addr, std::uint32_t>& m, Addr b) {
  const auto it = m.find(b);
  return it == m.end() ? 0 : it->second;
}

RC_GTEST_PROP(AccessLog, KeepsTheLinesOfAByteModel, ()) {
  AccessLog log;
  maybe_used_before(log);
  ByteModel m;
  random_accesses(log, m);
  std::set<std::uint64_t> touched;
  for (const auto& [b, line] : m.read) touched.insert(b / kPageSize);
  for (const auto& [b, line] : m.write) touched.insert(b / kPageSize);
  std::vector<std::uint64_t> listed;
  for (const auto& [pn, plog] : log.pages()) {
    listed.push_back(pn);
    RC_ASSERT(log.page(pn) == plog);
    for (std::uint64_t o = 0; o < kPageSize; ++o) {
      const Addr b = pn * kPageSize + o;
      RC_ASSERT(plog->write_line[o] == at(m.write, b));
      RC_ASSERT(plog->read_line[o] == at(m.read, b));
    }
  }
  // Listed in page order, each page once; a page may be listed and untouched only when an
  // access reached it with no byte left to record (a read of bytes written before).
  RC_ASSERT(std::is_sorted(listed.begin(), listed.end()));
  RC_ASSERT(std::adjacent_find(listed.begin(), listed.end()) == listed.end());
  for (const std::uint64_t pn : touched) RC_ASSERT(log.page(pn) != nullptr);
}

RC_GTEST_PROP(AccessLog, RunsAreTheWrittenBytes, ()) {
  AccessLog log;
  maybe_used_before(log);
  ByteModel m;
  random_accesses(log, m);
  for (const auto& [pn, plog] : log.pages()) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> expected, runs;
    for (std::uint64_t o = 0; o < kPageSize;) {
      if (at(m.write, pn * kPageSize + o) == 0) {
        ++o;
        continue;
      }
      std::uint64_t e = o;
      while (e < kPageSize && at(m.write, pn * kPageSize + e) != 0) ++e;
      expected.emplace_back(o, e);
      o = e;
    }
    plog->write_line.for_each_run([&](std::uint64_t from, std::uint64_t to) { runs.emplace_back(from, to); });
    RC_ASSERT(runs == expected);
  }
}

TEST(AccessLog, ARunCrossesChunksAndStopsAtTheFirstUnwrittenByte) {
  AccessLog log;
  const Addr page = kBase;
  log.on_write(page + 250, 20);  // bytes 250..269: across the first chunk's end
  log.on_write(page + 512, AccessLog::Lines::kChunk);  // a whole chunk, one line
  log.on_write(page + 768, 1);   // joins it
  log.on_write(page + kPageSize - 1, 1);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
  log.page(page / kPageSize)->write_line.for_each_run([&](std::uint64_t a, std::uint64_t b) { runs.emplace_back(a, b); });
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> expected{
      {250, 270}, {512, 769}, {kPageSize - 1, kPageSize}};
  EXPECT_EQ(runs, expected);
}

}  // namespace
}  // namespace pprsim
