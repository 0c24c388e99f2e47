// TraceWriter and format_event: the canonical native lines.
#include "traces/trace_writer.h"

#include <gtest/gtest.h>

#include <sstream>

#include "traces/trace_reader.h"

namespace pprsim {
namespace {

TEST(FormatEvent, CanonicalLines) {
  EXPECT_EQ(format_event(Event{Op::PprBegin}), "ppr");
  EXPECT_EQ(format_event(Event{Op::PprEnd}), "end");
  EXPECT_EQ(format_event(Event{Op::Malloc, 3, 16}), "a 3 16");
  EXPECT_EQ(format_event(Event{Op::Calloc, 4, 8, 2}), "c 4 2 8");
  EXPECT_EQ(format_event(Event{Op::Memalign, 5, 100, 0, 64}), "m 5 64 100");
  EXPECT_EQ(format_event(Event{Op::Realloc, 3, 32}), "r 3 32");
  EXPECT_EQ(format_event(Event{Op::Free, -1}), "f -1");
  EXPECT_EQ(format_event(Event{Op::Write, 3, 8, 0, 0, 0}), "w 3 0 8");
  EXPECT_EQ(format_event(Event{Op::Use, 3, 4, 0, 0, 12}), "u 3 12 4");
  // The line is not part of the text; extreme values fit.
  EXPECT_EQ(format_event(Event{Op::Use, INT64_MIN, UINT64_MAX, 0, 0, UINT64_MAX, 99}),
            "u -9223372036854775808 18446744073709551615 18446744073709551615");
  EXPECT_EQ(format_event(Event{Op::Calloc, INT64_MAX, UINT64_MAX, UINT64_MAX}),
            "c 9223372036854775807 18446744073709551615 18446744073709551615");
}

TEST(OpName, EveryOp) {
  EXPECT_EQ(op_name(Op::PprBegin), "ppr");
  EXPECT_EQ(op_name(Op::PprEnd), "end");
  EXPECT_EQ(op_name(Op::Malloc), "a");
  EXPECT_EQ(op_name(Op::Calloc), "c");
  EXPECT_EQ(op_name(Op::Memalign), "m");
  EXPECT_EQ(op_name(Op::Realloc), "r");
  EXPECT_EQ(op_name(Op::Free), "f");
  EXPECT_EQ(op_name(Op::Write), "w");
  EXPECT_EQ(op_name(Op::Use), "u");
}

TEST(TraceWriter, HeaderEventsAndComments) {
  std::ostringstream out;
  TraceWriter writer(out, "converted from ls.rep\nby pprsim");
  writer.write(Event{Op::PprBegin});
  writer.write(Event{Op::Malloc, 0, 5});
  writer.comment("note");
  writer.write(Event{Op::PprEnd});
  EXPECT_EQ(out.str(),
            "# converted from ls.rep\n# by pprsim\npprtrace 1\nppr\na 0 5\n# note\nend\n");
  EXPECT_EQ(writer.lines_written(), 7u);
}

TEST(TraceWriter, NoCommentMeansHeaderFirst) {
  std::ostringstream out;
  TraceWriter writer(out);
  EXPECT_EQ(out.str(), "pprtrace 1\n");
  EXPECT_EQ(writer.lines_written(), 1u);
}

TEST(TraceWriter, CommentsAreAlwaysReadableBack) {
  std::ostringstream out;
  static const char kText[] = "tab\there, nul \0, cr \r, bad \xff, ok \xc3\xa9";
  TraceWriter writer(out, std::string(kText, sizeof kText - 1));
  writer.comment(std::string(10000, 'x'));
  writer.write(Event{Op::Malloc, 1, 1});
  std::istringstream in(out.str());
  auto reader = read_native(in, "comments.trace");
  Event ev;
  ASSERT_TRUE(reader->next(ev));
  EXPECT_EQ(ev.line, 4u);
  EXPECT_NE(out.str().find("# tab\there, nul ?, cr ?, bad ?, ok \xc3\xa9\n"), std::string::npos);
}

}  // namespace
}  // namespace pprsim
