// The control path (issue 9, faults 4, 5, 7, 8): module parameters, the
// netdevice notifier, counters reset under traffic, signals, link type
// changes, and what open, attach and close cost.
#include "ftrace.hpp"
#include "stall.hpp"
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

const std::string kParams = "/sys/module/bpfdev/parameters/";

std::string param(const std::string &name)
{
	std::ifstream in(kParams + name);
	std::string v;
	in >> v;
	return v;
}

// Writes a module parameter; true if the kernel accepted it.
bool set_param(const std::string &name, const std::string &value)
{
	std::ofstream out(kParams + name);
	out << value << "\n";
	out.flush();
	return static_cast<bool>(out);
}

// Restores a module parameter when the test ends.
struct ParamGuard {
	std::string name, saved = param(name);
	~ParamGuard() { set_param(name, saved); }
};

Fd open_unattached()
{
	Fd fd(open("/dev/bpf", O_RDWR));
	EXPECT_TRUE(fd);
	return fd;
}

} // namespace

TEST(Control, BufferSizeParametersRefuseSizesWithoutRoomForARecord)
{
	ParamGuard max{"max_bufsize"}, def{"default_bufsize"};
	for (const char *bad : {"0", "1", "31", "1073741825", "-1", "junk"}) {
		EXPECT_FALSE(set_param("max_bufsize", bad)) << bad;
		EXPECT_FALSE(set_param("default_bufsize", bad)) << bad;
	}
	EXPECT_EQ(param("max_bufsize"), max.saved);
	EXPECT_EQ(param("default_bufsize"), def.saved);
	ASSERT_TRUE(set_param("max_bufsize", "32"));
	ASSERT_TRUE(set_param("default_bufsize", "100000"));
	Fd fd = open_unattached();
	EXPECT_EQ(blen(fd.get()), 32u) << "the default never exceeds the maximum";
	ASSERT_TRUE(set_param("max_bufsize", "65536"));
	Fd fd2 = open_unattached();
	EXPECT_EQ(blen(fd2.get()), 65536u);
	// A tiny buffer still captures: records are truncated to fit, never overflow.
	Veth v("bc0", "bc1");
	ASSERT_TRUE(set_param("max_bufsize", "32"));
	Fd tiny = open_bpf(v.a(), 32);
	EXPECT_EQ(blen(tiny.get()), 32u);
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	auto recs = read_all(tiny.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].caplen, 32u - 26u);
}

// Every descriptor on an interface that goes away is detached and woken;
// the tap is freed once, after all of them.
TEST(Control, AllDescriptorsOfAVanishingInterfaceAreDetachedAndWoken)
{
	auto v = std::make_unique<Veth>("bc0", "bc1");
	std::vector<Fd> fds;
	for (int i = 0; i < 5; i++)
		fds.push_back(open_bpf(v->a(), 4096, false));
	std::vector<std::thread> readers;
	std::atomic<int> enxio{0};
	for (auto &fd : fds)
		readers.emplace_back([&enxio, f = fd.get()] {
			std::vector<uint8_t> buf(4096);
			if (read(f, buf.data(), buf.size()) < 0 && errno == ENXIO)
				enxio++;
		});
	settle(200ms);
	v.reset();
	for (auto &t : readers)
		t.join();
	EXPECT_EQ(enxio.load(), 5);
	for (auto &fd : fds) {
		pollfd p{fd.get(), POLLIN, 0};
		ASSERT_EQ(poll(&p, 1, 0), 1);
		EXPECT_TRUE(p.revents & POLLHUP);
		ifreq ifr{};
		EXPECT_EQ(ioctl(fd.get(), BIOCGETIF, &ifr), -1);
	}
}

// BIOCFLUSH under traffic: what the counters say afterwards is what came
// after the flush, never the total from before (a zeroing that lost the
// race against another CPU's increment).
TEST(Control, FlushUnderTrafficCountsOnlyWhatCameAfter)
{
	Veth v("bc0", "bc1");
	Fd bpf = open_bpf(v.a(), 1 << 20, false);
	std::atomic<bool> stop{false};
	std::atomic<uint64_t> sent{0};
	std::thread sender([&] {
		PacketSocket b(v.b());
		const Bytes f = frame(kTestType, 60, 0);
		while (!stop) {
			b.send(f);
			sent++;
		}
	});
	while (sent < 1000)
		std::this_thread::yield();
	for (int i = 0; i < 200; i++) {
		const uint64_t before = sent;
		ASSERT_EQ(ioctl(bpf.get(), BIOCFLUSH), 0);
		bpf_stat64 st{};
		ASSERT_EQ(ioctl(bpf.get(), BIOCGSTATS64, &st), 0);
		const uint64_t after = sent;
		// Frames in flight when the flush began (the socket's queue) may count.
		EXPECT_LE(st.bs_recv, after - before + 256) << "flush " << i;
		EXPECT_LE(st.bs_capt, st.bs_recv);
	}
	stop = true;
	sender.join();
}

TEST(Control, SignalSixtyFourIsAValidAsyncSignal)
{
	Fd fd = open_unattached();
	// The kernel's signals are 1..64 (its _NSIG; glibc's _NSIG is 65).
	unsigned sig = SIGRTMAX;
	ASSERT_EQ(sig, 64u);
	ASSERT_EQ(ioctl(fd.get(), BIOCSRSIG, &sig), 0);
	unsigned got = 0;
	ASSERT_EQ(ioctl(fd.get(), BIOCGRSIG, &got), 0);
	EXPECT_EQ(got, 64u);
	sig = 65;
	EXPECT_EQ(ioctl(fd.get(), BIOCSRSIG, &sig), -1);
	EXPECT_EQ(errno, EINVAL);
}

// A bond takes the link type of its first slave: a tun device makes it a
// raw-IP interface, and its descriptors say so.
TEST(Control, LinkTypeFollowsADeviceWhoseTypeChanges)
{
	// max_bonds=0: loading the module must not leave a bond0 behind.
	ASSERT_EQ(sh_status("modprobe bonding max_bonds=0 && modprobe tun"), 0);
	sh("ip link add bct0 type bond mode active-backup");
	sh("ip tuntap add dev bct1 mode tun");
	Fd bpf = open_bpf("bct0");
	unsigned dlt = 0;
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDLT, &dlt), 0);
	EXPECT_EQ(dlt, unsigned(DLT_EN10MB));
	EXPECT_EQ(sh_status("ip link set bct1 down && ip link set bct1 master bct0"), 0);
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDLT, &dlt), 0);
	EXPECT_EQ(dlt, unsigned(DLT_RAW));
	unsigned one = 1;
	bpf_dltlist list{1, &one};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDLTLIST, &list), 0);
	EXPECT_EQ(one, unsigned(DLT_RAW));
	sh_status("ip link del bct0; ip link del bct1");
}

namespace {
std::atomic<int> g_signals{0};
void count_signal(int) { g_signals++; }
} // namespace

// An ioctl waiting for another one (the descriptor's ioctl lock) is
// restarted after a signal whose handler has SA_RESTART, as on BSD.
TEST(Control, IoctlWaitingForTheIoctlLockRestartsUnderSaRestart)
{
	Veth v("bc0", "bc1");
	Fd bpf = open_bpf(v.a(), 4096, true);
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	settle(100ms);
	struct sigaction sa {}, old {};
	sa.sa_handler = count_signal;
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	g_signals = 0;

	// read() copies out into a stalled page; BIOCFLUSH waits for it, holding
	// the ioctl lock; BIOCGBLEN waits for the lock.
	StalledBuffer to(4096);
	std::thread reader([&] { (void)!read(bpf.get(), to.data(), 4096); });
	ASSERT_TRUE(to.wait_fault(5s));
	std::atomic<bool> flushed{false}, got_blen{false};
	pid_t flush_tid = 0, blen_tid = 0;
	std::thread flusher([&] {
		flush_tid = this_tid();
		ioctl(bpf.get(), BIOCFLUSH);
		flushed = true;
	});
	while (!flush_tid)
		std::this_thread::yield();
	ASSERT_TRUE(wait_asleep_in(flush_tid, SYS_ioctl, flushed, 5s));
	int blen_ret = 1, blen_errno = 0;
	std::thread asker([&] {
		blen_tid = this_tid();
		unsigned n = 0;
		blen_ret = ioctl(bpf.get(), BIOCGBLEN, &n);
		blen_errno = errno;
		got_blen = true;
	});
	while (!blen_tid)
		std::this_thread::yield();
	ASSERT_TRUE(wait_asleep_in(blen_tid, SYS_ioctl, got_blen, 5s));
	ASSERT_FALSE(got_blen);
	pthread_kill(asker.native_handle(), SIGUSR1);
	while (g_signals == 0)
		std::this_thread::yield();
	// Restarted: asleep in ioctl again, not returned with EINTR.
	EXPECT_TRUE(wait_asleep_in(blen_tid, SYS_ioctl, got_blen, 5s));
	EXPECT_FALSE(got_blen) << "BIOCGBLEN returned, errno " << blen_errno;
	to.release();
	reader.join();
	flusher.join();
	asker.join();
	EXPECT_EQ(blen_ret, 0) << "errno " << blen_errno;
	sigaction(SIGUSR1, &old, nullptr);
}

// pcap_findalldevs and tcpdump -D open one descriptor per interface: open
// and close of a descriptor never attached take no RTNL and wait for no
// grace period; attach and close wait for none either.
TEST(Control, OpenCloseTakesNoRtnlAndAttachCloseWaitsNoGracePeriod)
{
	Veth v("bc0", "bc1");
	{
		FunctionCounter calls({"rtnl_lock", "synchronize_net", "synchronize_rcu",
				       "synchronize_rcu_expedited"});
		for (int i = 0; i < 20; i++)
			open_unattached();
		auto n = calls.counts();
		EXPECT_EQ(n["rtnl_lock"], 0u);
		EXPECT_EQ(n["synchronize_net"] + n["synchronize_rcu"] + n["synchronize_rcu_expedited"], 0u);
		calls.reset();
		for (int i = 0; i < 20; i++)
			open_bpf(v.a());
		n = calls.counts();
		EXPECT_EQ(n["synchronize_net"] + n["synchronize_rcu"] + n["synchronize_rcu_expedited"], 0u);
	}
}

// Immediate mode wakes readers after each record, but only when one sleeps:
// no wait-queue lock per packet otherwise.
TEST(Control, ImmediateModeWithNobodyAsleepDoesNotWakeTheQueue)
{
	Veth v("bc0", "bc1");
	Fd bpf = open_bpf(v.a(), 1 << 20, true);
	PacketSocket b(v.b());
	FunctionCounter calls({"bpfdev_wakeup", "__wake_up"});
	for (uint32_t i = 0; i < 50; i++)
		b.send(frame(kTestType, 100, i));
	settle(200ms);
	auto n = calls.counts();
	// The frames were filtered in this thread's softirq (or the check is void).
	ASSERT_GE(n["bpfdev_wakeup"], 40u);
	EXPECT_LT(n["__wake_up"], 5u);
	EXPECT_EQ(read_all(bpf.get()).size(), 50u);
}
