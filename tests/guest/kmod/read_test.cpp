// read() and readiness: timeouts, immediate mode, non-blocking, poll/epoll, signals.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void set_timeout(int fd, long usec)
{
	timeval tv{usec / 1000000, usec % 1000000};
	ASSERT_EQ(ioctl(fd, BIOCSRTIMEOUT, &tv), 0);
}

bool readable(int fd, int ms)
{
	pollfd p{fd, POLLIN, 0};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

} // namespace

TEST(Read, BufferMustBeExactlyTheDescriptorSize)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 8192);
	Bytes buf(8193);
	EXPECT_EQ(read(bpf.get(), buf.data(), 8191), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(read(bpf.get(), buf.data(), 8193), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST(Read, TimeoutWithNothingStoredReturnsZeroBytes)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 8192, false);
	set_timeout(bpf.get(), 200000);
	timeval got{};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGRTIMEOUT, &got), 0);
	EXPECT_EQ(got.tv_sec, 0);
	EXPECT_EQ(got.tv_usec, 200000);
	Bytes buf(8192);
	auto t0 = Clock::now();
	EXPECT_EQ(read(bpf.get(), buf.data(), buf.size()), 0);
	EXPECT_GE(Clock::now() - t0, 180ms) << "the read waited for its timeout";
}

TEST(Read, TimeoutReturnsWhatIsStoredWithoutAFullBuffer)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, false);
	set_timeout(bpf.get(), 300000);
	PacketSocket b(v.b());
	b.send(frame(kTestType, 100, 1));
	b.send(frame(kTestType, 100, 2));
	Bytes buf(65536);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 2u);
}

TEST(Read, ImmediateModeReturnsASingleRecordAndCanBeCleared)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, true);
	PacketSocket b(v.b());
	b.send(frame(kTestType, 100, 1));
	ASSERT_TRUE(readable(bpf.get(), 2000)) << "immediate: one record makes it readable";
	Bytes buf(65536);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 1u);

	unsigned off = 0;
	ASSERT_EQ(ioctl(bpf.get(), BIOCIMMEDIATE, &off), 0);
	b.send(frame(kTestType, 100, 2));
	settle(200ms);
	EXPECT_FALSE(readable(bpf.get(), 0)) << "cleared: a partial store is not readable";
}

TEST(Read, NonBlockingReadSaysEagainWhenEmptyAndReturnsStoredData)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, false);
	int on = 1;
	ASSERT_EQ(ioctl(bpf.get(), FIONBIO, &on), 0);
	Bytes buf(65536);
	EXPECT_EQ(read(bpf.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, EAGAIN);
	PacketSocket b(v.b());
	b.send(frame(kTestType, 100, 1));
	settle(200ms);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0) << "non-blocking read rotates a partial store";
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 1u);
	on = 0;
	ASSERT_EQ(ioctl(bpf.get(), FIONBIO, &on), 0);
	EXPECT_EQ(fcntl(bpf.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(Read, PollBecomesReadableWhenTheReadTimeoutExpiresWithData)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, false);
	set_timeout(bpf.get(), 300000);
	EXPECT_FALSE(readable(bpf.get(), 0));
	PacketSocket b(v.b());
	b.send(frame(kTestType, 100, 1));
	settle(50ms);
	EXPECT_FALSE(readable(bpf.get(), 0)) << "not before the timeout";
	ASSERT_TRUE(readable(bpf.get(), 3000)) << "readable once the timeout passes";
	Bytes buf(65536);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 1u);
}

TEST(Read, PollWithoutDataStaysQuietAfterTheTimeout)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, false);
	set_timeout(bpf.get(), 100000);
	EXPECT_FALSE(readable(bpf.get(), 400));
}

TEST(Read, EpollReportsAFullBuffer)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 4096, false);
	Fd ep(epoll_create1(0));
	epoll_event ev{};
	ev.events = EPOLLIN;
	ASSERT_EQ(epoll_ctl(ep.get(), EPOLL_CTL_ADD, bpf.get(), &ev), 0);
	epoll_event out{};
	EXPECT_EQ(epoll_wait(ep.get(), &out, 1, 100), 0);
	PacketSocket b(v.b());
	for (unsigned i = 0; i < 18; i++)	// 17 records fill the store; the 18th rotates it
		b.send(frame(kTestType, 200, i));
	ASSERT_EQ(epoll_wait(ep.get(), &out, 1, 3000), 1);
	EXPECT_TRUE(out.events & EPOLLIN);
	Bytes buf(4096);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 17u);
}

TEST(Read, BlockedReadReturnsEintrOnASignal)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 8192, false);
	struct sigaction sa{};
	sa.sa_handler = [](int) {};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	// no SA_RESTART
	struct sigaction old{};
	ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	std::atomic<int> rc{1}, err{0};
	std::atomic<bool> started{false};
	std::thread reader([&] {
		Bytes buf(8192);
		started = true;
		rc = static_cast<int>(read(bpf.get(), buf.data(), buf.size()));
		err = errno;
	});
	while (!started)
		std::this_thread::yield();
	settle(200ms);
	pthread_kill(reader.native_handle(), SIGUSR1);
	reader.join();
	sigaction(SIGUSR1, &old, nullptr);
	EXPECT_EQ(rc.load(), -1);
	EXPECT_EQ(err.load(), EINTR);
}

TEST(Read, FionreadCountsStoredBytes)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, false);
	int n = -1;
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &n), 0);
	EXPECT_EQ(n, 0);
	PacketSocket b(v.b());
	b.send(frame(kTestType, 100, 1));
	b.send(frame(kTestType, 100, 2));
	settle(200ms);
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &n), 0);
	EXPECT_EQ(n, 128 + 126) << "two records: 26 + 100 aligned to 128, then 126";
}

TEST(Read, AsyncModeSendsTheChosenSignalOnArrival)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 65536, true);
	unsigned sig = SIGUSR2;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSRSIG, &sig), 0);
	ASSERT_EQ(fcntl(bpf.get(), F_SETOWN, getpid()), 0);
	int on = 1;
	ASSERT_EQ(ioctl(bpf.get(), FIOASYNC, &on), 0);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	timespec none{0, 0};
	EXPECT_EQ(sigtimedwait(&set, nullptr, &none), -1) << "no signal before a frame";
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	timespec wait{5, 0};
	EXPECT_EQ(sigtimedwait(&set, nullptr, &wait), SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
}
