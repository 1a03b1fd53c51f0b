// Buffer slots under races that used to break them: a reset while read()
// copies the hold buffer out (issue 9, fault 2), and a reader asleep while
// the buffer size changes under it (fault 3). Neither depends on timing:
// the copy-out is held in the kernel by userfaultfd, and the sleeping
// reader is kept off its CPU by a real-time thread.
#include "stall.hpp"
#include "testnet.hpp"

#include "rtnl.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

// Capture still works: `rounds` times, frames sent are all read back.
void expect_capture_keeps_working(int fd, const Veth &v, unsigned rounds)
{
	PacketSocket b(v.b());
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < 10; i++)
			b.send(frame(kTestType, 200, r * 10 + i));
		EXPECT_EQ(read_all(fd, 200ms).size(), 10u) << "round " << r;
	}
	bpf_stat st{};
	ASSERT_EQ(ioctl(fd, BIOCGSTATS, &st), 0);
	EXPECT_EQ(st.bs_drop, 0u);
}

// Real-time tasks may have CPUs to themselves while this lives.
class RtThrottlingOff {
public:
	RtThrottlingOff()
	{
		std::ifstream(kKnob) >> saved_;
		std::ofstream(kKnob) << "-1\n";
	}
	~RtThrottlingOff() { std::ofstream(kKnob) << saved_ << "\n"; }
	RtThrottlingOff(const RtThrottlingOff &) = delete;
	RtThrottlingOff &operator=(const RtThrottlingOff &) = delete;

private:
	static constexpr const char *kKnob = "/proc/sys/kernel/sched_rt_runtime_us";
	std::string saved_ = "950000";
};

void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}

} // namespace

// Reset (BIOCSETIF, BIOCSETF, BIOCFLUSH) must wait for a read() that is
// copying the hold buffer out; the reader then hands back the buffer it took.
// Before: the reset moved the hold buffer to the free slot under the reader,
// the reader then set the free slot from the hold pointer the reset had
// cleared, one buffer leaked and the store ended up NULL: capture stopped.
TEST(SlotsRace, ReattachWhileReadCopiesOutWaitsAndCaptureGoesOn)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 4096, true);
	const Bytes sent = frame(kTestType, 300, 7);
	PacketSocket(v.b()).send(sent);
	settle(100ms);

	StalledBuffer to(4096);
	std::atomic<bool> read_done{false}, setif_done{false};
	ssize_t got = 0;
	int setif_err = -1;
	std::thread reader([&] {
		got = read(bpf.get(), to.data(), 4096);
		read_done = true;
	});
	ASSERT_TRUE(to.wait_fault(5s)) << "read() did not start copying out";
	pid_t setif_tid = 0;
	std::thread resetter([&] {
		setif_tid = this_tid();
		setif_err = setif(bpf.get(), v.a());
		setif_done = true;
	});
	while (!setif_tid)
		std::this_thread::yield();
	// BIOCSETIF (16 = ioctl) now waits for the copy, or (old module) is done.
	EXPECT_TRUE(wait_asleep_in(setif_tid, SYS_ioctl, setif_done, 5s));
	EXPECT_FALSE(setif_done) << "BIOCSETIF reset the buffers under a read() copying them out";
	to.release();
	reader.join();
	resetter.join();
	EXPECT_EQ(setif_err, 0);
	ASSERT_GT(got, 0);
	auto recs = parse(std::span(to.data(), size_t(got)));
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, sent) << "the record copied out was torn";
	expect_capture_keeps_working(bpf.get(), v, 4);
}

TEST(SlotsRace, FlushWhileReadCopiesOutWaitsAndCaptureGoesOn)
{
	Veth v("br0", "br1");
	Fd bpf = open_bpf(v.a(), 4096, true);
	PacketSocket(v.b()).send(frame(kTestType, 300, 8));
	settle(100ms);
	StalledBuffer to(4096);
	std::atomic<bool> flushed{false};
	ssize_t got = 0;
	std::thread reader([&] { got = read(bpf.get(), to.data(), 4096); });
	ASSERT_TRUE(to.wait_fault(5s));
	pid_t tid = 0;
	std::thread flusher([&] {
		tid = this_tid();
		EXPECT_EQ(ioctl(bpf.get(), BIOCFLUSH), 0);
		flushed = true;
	});
	while (!tid)
		std::this_thread::yield();
	EXPECT_TRUE(wait_asleep_in(tid, SYS_ioctl, flushed, 5s));
	EXPECT_FALSE(flushed);
	to.release();
	reader.join();
	flusher.join();
	EXPECT_GT(got, 0);
	expect_capture_keeps_working(bpf.get(), v, 3);
}

// A reader asleep in read() with a buffer of the old size must not be handed
// a larger buffer after the interface went away, BIOCSBLEN grew the buffer
// and BIOCSETIF attached again: read() checks the size after every wait.
// The reader shares CPU 0 with a SCHED_FIFO spinner, so it cannot run (and
// see the detach) until the test is done; it wakes to a full, larger buffer.
// Removing an interface sometimes needs CPU 0 itself; then the spinner gives
// up, the reader sees the detach (ENXIO) and the attempt is repeated.
struct SizeChangeAttempt {
	bool window_held = false;	// the reader slept through all of it
	bool canary_intact = true;
	ssize_t got = 0;
	int err = 0;
};

SizeChangeAttempt reader_asleep_across_size_change()
{
	SizeChangeAttempt res;
	Veth v("br0", "br1");
	Veth w("br2", "br3");
	Fd bpf = open_bpf(v.a(), 4096, false);
	constexpr size_t kSmall = 4096, kCanary = 16384;
	std::vector<uint8_t> buf(kSmall + kCanary, 0xa5);
	std::atomic<bool> read_done{false}, stop_spin{false}, spinning{false};
	pid_t reader_tid = 0;

	pin_to_cpu(0);
	std::thread reader([&] {
		reader_tid = this_tid();
		res.got = read(bpf.get(), buf.data(), kSmall);
		res.err = res.got < 0 ? errno : 0;
		read_done = true;
	});
	pin_to_cpu(1);
	while (!reader_tid)
		std::this_thread::yield();
	EXPECT_TRUE(wait_asleep_in(reader_tid, SYS_read, read_done, 5s));

	// No real-time throttling (it would give the reader CPU 0 for 50 ms a
	// second); the spinner gives up by itself after 3 s in any case.
	RtThrottlingOff no_throttle;
	std::thread spinner([&] {
		pin_to_cpu(0);
		sched_param sp{};
		sp.sched_priority = 1;
		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0) {
			spinning = true;
			const auto give_up = std::chrono::steady_clock::now() + 3s;
			while (!stop_spin && std::chrono::steady_clock::now() < give_up)
				;
		}
		spinning = true;
	});
	while (!spinning)
		std::this_thread::yield();
	EXPECT_EQ(rtnl::del_link(v.a()), 0);
	unsigned big = 16384;
	EXPECT_EQ(ioctl(bpf.get(), BIOCSBLEN, &big), 0);
	EXPECT_EQ(setif(bpf.get(), w.a()), 0);
	PacketSocket out(w.b());
	for (unsigned i = 0; i < 80; i++)	// fills a 16 KiB store and rotates
		out.send(frame(kTestType, 200, i));
	res.window_held = !read_done;
	stop_spin = true;
	spinner.join();
	reader.join();
	for (size_t i = kSmall; i < buf.size(); i++)
		res.canary_intact = res.canary_intact && buf[i] == 0xa5;
	return res;
}

TEST(SlotsRace, ReaderAsleepAcrossABufferSizeChangeGetsEinvalNotAnOverrun)
{
	if (std::thread::hardware_concurrency() < 2)
		GTEST_SKIP() << "needs two CPUs";
	bool held = false;
	for (int attempt = 0; attempt < 5 && !held; attempt++) {
		SizeChangeAttempt r = reader_asleep_across_size_change();
		EXPECT_TRUE(r.canary_intact) << "read() wrote past the caller's buffer";
		EXPECT_LE(r.got, 4096);
		held = r.window_held;
		if (held) {
			EXPECT_EQ(r.got, -1);
			EXPECT_EQ(r.err, EINVAL);
		} else {
			// It saw the detach (ENXIO), or woke after the new attach (EINVAL).
			EXPECT_TRUE(r.got == -1 && (r.err == ENXIO || r.err == EINVAL))
				<< "got " << r.got << ", errno " << r.err;
		}
	}
	EXPECT_TRUE(held) << "in 5 attempts the reader always ran too early: nothing was tested";
}
