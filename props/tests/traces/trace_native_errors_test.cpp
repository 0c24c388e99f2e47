// Every error of the native reader: the line it names and what the message says.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "traces/trace_reader.h"

namespace pprsim {
namespace {

// Reads `text` to the end and checks the TraceError it must throw.
void expect_native_error(const std::string& text, std::uint32_t line, const std::string& message) {
  SCOPED_TRACE("trace: " + text.substr(0, 200));
  std::istringstream in(text);
  try {
    auto reader = read_native(in, "bad.trace");
    Event ev;
    while (reader->next(ev)) {
    }
  } catch (const TraceError& e) {
    EXPECT_EQ(e.file(), "bad.trace");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(e.message().find(message), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << message;
    return;
  }
  ADD_FAILURE() << "no TraceError";
}

// The same, for a body after the header line (so line 1 is the header).
void expect_native_body_error(const std::string& body, std::uint32_t line, const std::string& message) {
  expect_native_error("pprtrace 1\n" + body, line, message);
}

TEST(NativeErrors, Header) {
  expect_native_error("", 0, "empty trace: expected header 'pprtrace 1'");
  expect_native_error("# only a comment\n\n   \n", 0, "empty trace: expected header 'pprtrace 1'");
  expect_native_error("a 1 2\npprtrace 1\n", 1, "expected header 'pprtrace 1'");
  expect_native_error("# c\n\npprtrace\n", 3, "expected header 'pprtrace 1'");
  expect_native_error("pprtrace 2\n", 1, "unsupported version '2': expected header 'pprtrace 1'");
  expect_native_error("pprtrace 1 extra\n", 1, "expected header 'pprtrace 1'");
  expect_native_error("PPRTRACE 1\n", 1, "expected header 'pprtrace 1'");
}

TEST(NativeErrors, UnknownEvent) {
  expect_native_body_error("x 1 2\n", 2,
                    "unknown event 'x': expected one of ppr, end, a, c, m, r, f, w, u");
  expect_native_body_error("\nA 1 2\n", 3, "unknown event 'A'");
  expect_native_body_error("alloc 1 2\n", 2, "unknown event 'alloc'");
  expect_native_body_error("pprtrace 1\n", 2, "unknown event 'pprtrace'");
  expect_native_body_error("1 2\n", 2, "unknown event '1'");
}

TEST(NativeErrors, MissingOrExtraFields) {
  expect_native_body_error("ppr 1\n", 2, "'ppr' with 1 field: expected 'ppr'");
  expect_native_body_error("ppr\nend now\n", 3, "'end' with 1 field: expected 'end'");
  expect_native_body_error("a 1\n", 2, "'a' with 1 field: expected 'a ID SIZE'");
  expect_native_body_error("a 1 2 3\n", 2, "'a' with 3 fields: expected 'a ID SIZE'");
  expect_native_body_error("c 1 2\n", 2, "'c' with 2 fields: expected 'c ID COUNT SIZE'");
  expect_native_body_error("m 1 8\n", 2, "'m' with 2 fields: expected 'm ID ALIGN SIZE'");
  expect_native_body_error("r 1\n", 2, "'r' with 1 field: expected 'r ID SIZE'");
  expect_native_body_error("f\n", 2, "'f' with 0 fields: expected 'f ID'");
  expect_native_body_error("f 1 2 3 4 5 6 7\n", 2, "'f' with 7 fields: expected 'f ID'");
  expect_native_body_error("a 1 8\nw 1 0\n", 3, "'w' with 2 fields: expected 'w ID OFFSET LEN'");
  expect_native_body_error("a 1 8\nu 1 0 1 1\n", 3, "'u' with 4 fields: expected 'u ID OFFSET LEN'");
}

TEST(NativeErrors, NumbersThatAreNotDecimalIntegers) {
  expect_native_body_error("a 1 1x\n", 2, "expected a decimal integer for SIZE, got '1x'");
  expect_native_body_error("a 1 0x10\n", 2, "expected a decimal integer for SIZE, got '0x10'");
  expect_native_body_error("a 1 +5\n", 2, "expected a decimal integer for SIZE, got '+5'");
  expect_native_body_error("a 1 1.5\n", 2, "expected a decimal integer for SIZE, got '1.5'");
  expect_native_body_error("a one 8\n", 2, "expected a decimal integer for ID, got 'one'");
  expect_native_body_error("a - 8\n", 2, "expected a decimal integer for ID, got '-'");
  expect_native_body_error("c 1 two 8\n", 2, "expected a decimal integer for COUNT, got 'two'");
  expect_native_body_error("m 1 8a 8\n", 2, "expected a decimal integer for ALIGN, got '8a'");
  expect_native_body_error("a 1 8\nw 1 o 1\n", 3, "expected a decimal integer for OFFSET, got 'o'");
  expect_native_body_error("a 1 8\nu 1 0 l\n", 3, "expected a decimal integer for LEN, got 'l'");
  expect_native_body_error("a 1 " + std::string(100, '7') + "z\n", 2, "got '7777");
}

TEST(NativeErrors, NegativeWhereNotAllowed) {
  expect_native_body_error("a 1 -5\n", 2, "expected a non-negative SIZE, got '-5'");
  expect_native_body_error("c 1 -2 8\n", 2, "expected a non-negative COUNT, got '-2'");
  expect_native_body_error("m 1 -8 8\n", 2, "expected a non-negative ALIGN, got '-8'");
  expect_native_body_error("a 1 8\nw 1 -1 2\n", 3, "expected a non-negative OFFSET, got '-1'");
  expect_native_body_error("a 1 8\nu 1 0 -0\n", 3, "expected a non-negative LEN, got '-0'");
}

TEST(NativeErrors, Overflow64Bits) {
  expect_native_body_error("a 1 18446744073709551616\n", 2,
                    "SIZE '18446744073709551616' overflows 64 bits");
  expect_native_body_error("a 9223372036854775808 1\n", 2, "ID '9223372036854775808' overflows 64 bits");
  expect_native_body_error("f -9223372036854775809\n", 2, "ID '-9223372036854775809' overflows 64 bits");
  expect_native_body_error("c 1 99999999999999999999999 1\n", 2,
                    "COUNT '99999999999999999999999' overflows");
}

TEST(NativeErrors, IdOutOfRange) {
  expect_native_body_error("a 268435456 1\n", 2, "id 268435456 out of range: expected 0 .. 268435455");
  expect_native_body_error("a -1 8\n", 2, "id -1 out of range");
  expect_native_body_error("r -1 8\n", 2, "id -1 out of range");
  expect_native_body_error("f -2\n", 2,
                    "id -2 out of range: expected 0 .. 268435455 (or -1 for free(NULL))");
  expect_native_body_error("w -1 0 0\n", 2, "id -1 out of range");
  expect_native_body_error("u 9223372036854775807 0 0\n", 2, "id 9223372036854775807 out of range");
}

TEST(NativeErrors, SizeLimits) {
  expect_native_body_error("a 1 1099511627777\n", 2, "size 1099511627777 exceeds the limit of 2^40 bytes");
  expect_native_body_error("r 1 18446744073709551615\n", 2, "size 18446744073709551615 exceeds the limit");
  expect_native_body_error("m 1 8 1099511627777\n", 2,
                    "size 1099511627777 exceeds the limit of 2^40 bytes");
  expect_native_body_error("c 1 8 1099511627777\n", 2,
                    "size 1099511627777 exceeds the limit of 2^40 bytes");
  expect_native_body_error("c 1 1099511627777 0\n", 2, "count 1099511627777 exceeds the limit");
  expect_native_body_error("c 1 1048577 1048576\n", 2,
                    "calloc of 1048577 * 1048576 bytes exceeds the limit of 2^40 bytes");
  // COUNT * SIZE wraps to 0 in 64 bits: still rejected.
  expect_native_body_error("c 1 4294967296 4294967296\n", 2, "calloc of 4294967296 * 4294967296 bytes");
}

TEST(NativeErrors, Alignment) {
  expect_native_body_error("m 1 0 8\n", 2, "alignment 0 is not a power of two");
  expect_native_body_error("m 1 24 8\n", 2, "alignment 24 is not a power of two");
  expect_native_body_error("m 1 2199023255552 8\n", 2, "alignment 2199023255552 exceeds the limit");
}

TEST(NativeErrors, AllocationOfALiveId) {
  expect_native_body_error("a 1 8\na 1 8\n", 3, "malloc of id 1, which is already live");
  expect_native_body_error("a 1 8\nc 1 1 8\n", 3, "calloc of id 1, which is already live");
  expect_native_body_error("r 1 8\nm 1 8 8\n", 3, "memalign of id 1, which is already live");
}

TEST(NativeErrors, AccessOfAnIdThatIsNotLive) {
  expect_native_body_error("f 7\n", 2, "free of unknown id 7");
  expect_native_body_error("a 7 8\nf 7\nf 7\n", 4, "free of unknown id 7");
  expect_native_body_error("w 7 0 1\n", 2, "write to unknown id 7");
  expect_native_body_error("u 7 0 1\n", 2, "use of unknown id 7");
  expect_native_body_error("a 7 8\nf 7\nu 7 0 0\n", 4, "use of unknown id 7");
}

TEST(NativeErrors, AccessBeyondTheObject) {
  expect_native_body_error("a 1 16\nw 1 8 9\n", 3,
                    "write of 9 bytes at offset 8 goes beyond the end of object 1 (16 bytes)");
  expect_native_body_error("c 1 2 8\nu 1 16 1\n", 3,
                    "use of 1 bytes at offset 16 goes beyond the end of object 1 (16 bytes)");
  expect_native_body_error("a 1 16\nu 1 18446744073709551615 2\n", 3, "beyond the end of object 1");
  expect_native_body_error("a 1 16\nw 1 2 18446744073709551615\n", 3, "beyond the end of object 1");
  expect_native_body_error("a 1 0\nw 1 0 1\n", 3, "beyond the end of object 1 (0 bytes)");
}

TEST(NativeErrors, ReallocRules) {
  // r of an id that is not live is realloc(NULL, SIZE): the id becomes live with that size.
  expect_native_body_error("r 5 10\nw 5 0 10\nw 5 0 11\n", 4, "beyond the end of object 5 (10 bytes)");
  // realloc changes the size that w/u are checked against.
  expect_native_body_error("a 1 32\nr 1 8\nw 1 0 9\n", 4, "beyond the end of object 1 (8 bytes)");
  // r ID 0 of a live id frees it.
  expect_native_body_error("a 1 8\nr 1 0\nf 1\n", 4, "free of unknown id 1");
  // realloc(NULL, 0) is malloc(0): the id is live afterwards.
  expect_native_body_error("r 2 0\na 2 1\n", 3, "malloc of id 2, which is already live");
}

TEST(NativeErrors, PprMarkers) {
  expect_native_body_error("ppr\na 1 8\nppr\n", 4,
                    "'ppr' inside a PPR instance (begun at line 2): expected 'end' first");
  expect_native_body_error("end\n", 2, "'end' without a matching 'ppr'");
  expect_native_body_error("ppr\nend\nend\n", 4, "'end' without a matching 'ppr'");
  expect_native_body_error("ppr\na 1 8\n", 3,
                    "end of trace inside a PPR instance (begun at line 2): expected 'end'");
  expect_native_body_error("ppr\na 1 8\n# trailing comment\n\n", 5, "end of trace inside a PPR instance");
}

TEST(NativeErrors, GarbageBytes) {
  expect_native_body_error(std::string("a 1\0 2\n", 7), 2, "control character 0x00 at column 4");
  expect_native_body_error("a 1 8\n\x01\n", 3, "control character 0x01 at column 1");
  expect_native_body_error("a 1\r8\n", 2, "control character 0x0d at column 4");
  expect_native_body_error("a 1 8\x7f\n", 2, "control character 0x7f");
  expect_native_body_error("a 1 8\xff\n", 2, "invalid UTF-8 byte 0xff at column 6");
  expect_native_body_error("# \xc3\n", 2, "invalid UTF-8 byte 0xc3 at column 3");
  expect_native_body_error("# \xc0\xaf overlong\n", 2, "invalid UTF-8 byte 0xc0");
  expect_native_body_error("# \xed\xa0\x80 surrogate\n", 2, "invalid UTF-8 byte 0xed");
  expect_native_error("\xef\xbb\xbfpprtrace 1\n", 1, "expected header 'pprtrace 1'");  // a BOM
  expect_native_error(std::string("\0\0\0\0", 4), 1, "control character 0x00");
  // Non-ASCII text where a field belongs is not a number.
  expect_native_body_error("a 1 \xc3\xa9\n", 2, "expected a decimal integer for SIZE");
}

TEST(NativeErrors, LongLines) {
  expect_native_body_error("#" + std::string(4096, 'x') + "\n", 2, "line longer than 4096 bytes");
  expect_native_body_error("a 1 8\n#" + std::string(4096, 'x'), 3, "line longer than 4096 bytes");
  // Far longer than the reader's buffer, without any newline.
  expect_native_body_error("a 1 8\n" + std::string(1 << 20, 'x'), 3, "line longer than 4096 bytes");
  expect_native_error(std::string(1 << 20, ' ') + "\npprtrace 1\n", 1, "line longer than 4096 bytes");
}

}  // namespace
}  // namespace pprsim
