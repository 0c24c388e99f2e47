// The call guard in-process: a fatal signal or a call past the time limit inside a guarded call
// becomes an AllocatorCrash naming the call; calls nest.
#include <gtest/gtest.h>

#include <csignal>

#include "sim/call_guard.h"

namespace pprsim {
namespace {

volatile int g_spin = 0;

TEST(CallGuard, ASignalInsideTheCallIsACrashNamingIt) {
  try {
    guarded("malloc", [] { std::raise(SIGBUS); });
    FAIL() << "no crash reported";
  } catch (const AllocatorCrash& c) {
    EXPECT_EQ(c.call(), "malloc");
    EXPECT_EQ(c.signal(), SIGBUS);
    EXPECT_FALSE(c.hung());
    EXPECT_NE(std::string(c.what()).find("signal 7 (SIGBUS"), std::string::npos) << c.what();
  }
  // The guard is ready for the next call.
  EXPECT_EQ(guarded("free", [] { return 7; }), 7);
}

TEST(CallGuard, ACallPastTheLimitIsAHang) {
  const double before = call_time_limit();
  set_call_time_limit(0.2);
  try {
    guarded("free", [] {
      for (;;) g_spin = g_spin + 1;
    });
    FAIL() << "no hang reported";
  } catch (const AllocatorCrash& c) {
    EXPECT_TRUE(c.hung());
    EXPECT_EQ(c.reason(), "no return within 0.2 s");
  }
  set_call_time_limit(before);
}

TEST(CallGuard, AnOuterCallStaysGuardedAfterAnInnerOneReturns) {
  // A census visitor may call the allocator from inside a guarded walk.
  try {
    guarded("walk_region", [] {
      EXPECT_EQ(guarded("usable_size", [] { return 16; }), 16);
      std::raise(SIGSEGV);
    });
    FAIL() << "no crash reported";
  } catch (const AllocatorCrash& c) {
    EXPECT_EQ(c.call(), "walk_region");
    EXPECT_EQ(c.signal(), SIGSEGV);
  }
}

}  // namespace
}  // namespace pprsim
