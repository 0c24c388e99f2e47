// The rings a native worker and pprsim talk through (native/engine/shm_channel.h): whatever the
// sizes of the pieces written and read, larger than the ring or not, and whether each end spins
// or sleeps at once, the reader gets every byte once, in order, and no wake-up is lost (a lost
// one hangs the test).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "native/engine/shm_channel.h"

namespace pprsim {
namespace {

// The byte at stream offset i.
unsigned char byte_at(std::uint64_t i, std::uint64_t seed) {
  std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ seed;
  x ^= x >> 29;
  return static_cast<unsigned char>(x * 0xBF58476D1CE4E5B9ULL >> 56);
}

// One ring in ordinary memory (threads share it as processes share the file) and the socket pair
// whose bytes are the doorbells: the writer sleeps on `fd[0]`, the reader on `fd[1]`.
struct Pipe {
  std::unique_ptr<wire::RingControl> control = std::make_unique<wire::RingControl>();
  std::vector<unsigned char> bytes = std::vector<unsigned char>(wire::kRingBytes);
  int fd[2] = {-1, -1};
  Pipe() {
    control->head = 0;
    control->tail = 0;
    control->reader_asleep = 0;
    control->writer_asleep = 0;
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  }
  ~Pipe() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
};

void sleep_on(int fd) {
  char bells[64];
  (void)::recv(fd, bells, sizeof bells, 0);
}

// Pieces of up to `big` bytes, mostly small as a call's replies are.
rc::Gen<std::vector<std::size_t>> pieces(std::size_t big) {
  return rc::gen::container<std::vector<std::size_t>>(rc::gen::weightedOneOf<std::size_t>(
      {{6, rc::gen::inRange<std::size_t>(0, 200)}, {1, rc::gen::inRange<std::size_t>(0, big)}}));
}

RC_GTEST_PROP(ShmChannel, EveryByteArrivesOnceInOrderWhateverThePiecesAndTheWaiting, ()) {
  const auto written = *pieces(wire::kRingBytes * 5 / 2);
  const auto read = *pieces(wire::kRingBytes * 3 / 2);
  const bool writer_spins = *rc::gen::arbitrary<bool>();
  const bool reader_spins = *rc::gen::arbitrary<bool>();
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  std::uint64_t total = 0;
  for (const std::size_t n : written) total += n;

  Pipe pipe;
  std::thread writer([&] {
    wire::RingWriter out(pipe.control.get(), pipe.bytes.data(), pipe.fd[0]);
    const auto wait = [&](auto&& ready, std::atomic<std::uint32_t>& asleep) {
      wire::wait_until(ready, asleep, [&] { return writer_spins; }, [&] { sleep_on(pipe.fd[0]); });
    };
    std::uint64_t at = 0;
    std::vector<unsigned char> piece;
    for (const std::size_t n : written) {
      piece.resize(n);
      for (std::size_t i = 0; i < n; ++i) piece[i] = byte_at(at + i, seed);
      out.put(piece.data(), n, wait);
      out.publish();
      at += n;
    }
  });

  wire::RingReader in(pipe.control.get(), pipe.bytes.data(), pipe.fd[1]);
  const auto wait = [&](auto&& ready, std::atomic<std::uint32_t>& asleep) {
    wire::wait_until(ready, asleep, [&] { return reader_spins; }, [&] { sleep_on(pipe.fd[1]); });
  };
  std::uint64_t at = 0;
  std::uint64_t wrong = 0;
  std::vector<unsigned char> piece;
  for (std::size_t k = 0; at < total; ++k) {
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(total - at, k < read.size() ? std::max<std::size_t>(read[k], 1) : 4096));
    piece.resize(n);
    in.take(piece.data(), n, wait);
    for (std::size_t i = 0; i < n; ++i) wrong += piece[i] != byte_at(at + i, seed) ? 1 : 0;
    at += n;
  }
  writer.join();
  RC_ASSERT(wrong == 0u);
  RC_ASSERT(in.empty());
  RC_ASSERT(pipe.control->head.load() == total);
  RC_ASSERT(pipe.control->tail.load() == total);
}

TEST(ShmChannel, AFullRingRefusesWhatASignalHandlerCannotWaitFor) {
  Pipe pipe;
  wire::RingWriter out(pipe.control.get(), pipe.bytes.data(), pipe.fd[0]);
  std::vector<unsigned char> fill(wire::kRingBytes - 8, 1);
  EXPECT_TRUE(out.try_put(fill.data(), fill.size()));
  const std::uint64_t word = 42;
  EXPECT_TRUE(out.try_put(&word, sizeof word));
  EXPECT_FALSE(out.try_put(&word, 1));  // full: nothing written, nothing waited for
  EXPECT_FALSE(out.publish());          // nobody sleeps, so nobody is woken
  EXPECT_EQ(pipe.control->head.load(), wire::kRingBytes);
}

}  // namespace
}  // namespace pprsim
