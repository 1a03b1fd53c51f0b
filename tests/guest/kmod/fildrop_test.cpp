// OpenBSD's BIOCSFILDROP: received frames a descriptor's filter accepts can
// be kept from the stack (CAPTURE: and captured; DROP: not captured). Pings
// from a namespace across a veth pair show whether the stack got a frame.
#include "testnet.hpp"

#include "rtnl.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

// fd0 here (10.204.0.1 and .3), its peer fd1 in namespace fdns (10.204.0.2).
class Net {
public:
	Net()
	{
		clean();
		sh("ip netns add fdns");
		rtnl::add_veth("fd0", "fd1");
		rtnl::move_to_netns("fd1", "fdns");
		rtnl::disable_ipv6("fd0");
		rtnl::add_addr4("fd0", "10.204.0.1", 24);
		rtnl::add_addr4("fd0", "10.204.0.3", 24);
		rtnl::set_up("fd0");
		rtnl::in_netns("fdns", [] {
			rtnl::disable_ipv6("fd1");
			rtnl::add_addr4("fd1", "10.204.0.2", 24);
			rtnl::set_up("fd1");
			rtnl::set_up("lo");
			rtnl::wait_up("fd1");
		});
		rtnl::wait_up("fd0");
	}
	~Net() { clean(); }
	Net(const Net &) = delete;
	Net &operator=(const Net &) = delete;
	// Whether the peer gets an answer to `count` pings of `to`.
	static bool ping(const std::string &to, int count = 1)
	{
		return sh_status("ip netns exec fdns ping -q -n -c " + std::to_string(count) +
				 " -W 1 -i 0.2 " + to + " >/dev/null 2>&1") == 0;
	}

private:
	static void clean()
	{
		rtnl::del_link("fd0");
		sh_status("ip netns del fdns 2>/dev/null");
	}
};

// IPv4 ICMP echo requests to 10.204.0.1 (header of 20 bytes, as ping's).
const std::vector<bpf_insn> kEchoToOne = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 7),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0acc0001, 0, 3),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 34),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 8, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

const std::vector<bpf_insn> kTestTypeOnly = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTestType, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

int set_fildrop(int fd, unsigned action)
{
	return ioctl(fd, BIOCSFILDROP, &action) == 0 ? 0 : errno;
}

unsigned get_fildrop(int fd)
{
	unsigned got = 99;
	EXPECT_EQ(ioctl(fd, BIOCGFILDROP, &got), 0);
	return got;
}

Fd tap(const std::string &ifname, const std::vector<bpf_insn> &prog, unsigned action)
{
	Fd fd = open_bpf(ifname);
	EXPECT_EQ(setf(fd.get(), prog), 0);
	EXPECT_EQ(set_fildrop(fd.get(), action), 0);
	EXPECT_EQ(get_fildrop(fd.get()), action);
	return fd;
}

bool is_echo_request_to_one(const Bytes &f)
{
	return f.size() > 34 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && f[30] == 10 &&
	       f[31] == 204 && f[32] == 0 && f[33] == 1 && f[34] == 8;
}

size_t echo_requests(const std::vector<Record> &recs)
{
	size_t n = 0;
	for (const Record &r : recs)
		n += is_echo_request_to_one(r.data);
	return n;
}

size_t test_frames(const std::vector<Record> &recs, size_t len)
{
	size_t n = 0;
	for (const Record &r : recs)
		n += r.data.size() == len && r.data[12] == (kTestType >> 8) && r.data[13] == (kTestType & 0xff);
	return n;
}

bpf_stat64 stats(int fd)
{
	bpf_stat64 s{};
	EXPECT_EQ(ioctl(fd, BIOCGSTATS64, &s), 0);
	return s;
}

} // namespace

TEST(Fildrop, ValuesAreOpenBsdsAndOthersGiveEinval)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(fd);
	EXPECT_EQ(get_fildrop(fd.get()), unsigned(BPF_FILDROP_PASS)) << "the default";
	for (unsigned v : {BPF_FILDROP_CAPTURE, BPF_FILDROP_DROP, BPF_FILDROP_PASS}) {
		EXPECT_EQ(set_fildrop(fd.get(), v), 0) << "settable before attach: " << v;
		EXPECT_EQ(get_fildrop(fd.get()), v);
	}
	ASSERT_EQ(set_fildrop(fd.get(), BPF_FILDROP_CAPTURE), 0);
	for (unsigned bad : {3u, 4u, 255u, 256u, 0x80000000u, 0xffffffffu}) {
		EXPECT_EQ(set_fildrop(fd.get(), bad), EINVAL) << bad;
		EXPECT_EQ(get_fildrop(fd.get()), unsigned(BPF_FILDROP_CAPTURE)) << "unchanged by " << bad;
	}
}

TEST(Fildrop, LockedDescriptorRefusesBothAsOpenBsd)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_EQ(set_fildrop(fd.get(), BPF_FILDROP_DROP), 0);
	ASSERT_EQ(ioctl(fd.get(), BIOCLOCK), 0);
	EXPECT_EQ(set_fildrop(fd.get(), BPF_FILDROP_PASS), EPERM) << "not on OpenBSD's BIOCLOCK list";
	unsigned u = 0;
	EXPECT_EQ(ioctl(fd.get(), BIOCGFILDROP, &u), -1) << "nor is the getter";
	EXPECT_EQ(errno, EPERM);
}

TEST(Fildrop, SettingSurvivesAttachAndMove)
{
	Veth v("fe0", "fe1");
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_EQ(set_fildrop(fd.get(), BPF_FILDROP_DROP), 0);
	ASSERT_EQ(setif(fd.get(), v.a()), 0);
	EXPECT_EQ(get_fildrop(fd.get()), unsigned(BPF_FILDROP_DROP));
	ASSERT_EQ(setif(fd.get(), v.b()), 0);
	EXPECT_EQ(get_fildrop(fd.get()), unsigned(BPF_FILDROP_DROP));
}

TEST(Fildrop, PassCapturesAndTrafficFlows)
{
	Net n;
	Fd t = tap("fd0", kEchoToOne, BPF_FILDROP_PASS);
	EXPECT_TRUE(Net::ping("10.204.0.1", 3));
	EXPECT_EQ(echo_requests(read_all(t.get())), 3u);
}

TEST(Fildrop, CaptureKeepsTheMatchedFlowFromTheStackAndCapturesIt)
{
	Net n;
	ASSERT_TRUE(Net::ping("10.204.0.1")) << "the stack answers before";
	{
		Fd t = tap("fd0", kEchoToOne, BPF_FILDROP_CAPTURE);
		EXPECT_FALSE(Net::ping("10.204.0.1", 3)) << "echo requests to .1 never reach the stack";
		EXPECT_TRUE(Net::ping("10.204.0.3")) << "other flows do (and ARP)";
		EXPECT_EQ(echo_requests(read_all(t.get())), 3u) << "each dropped request captured, once";
		Fd plain = open_bpf("fd0");	// a PASS descriptor on the same interface
		EXPECT_FALSE(Net::ping("10.204.0.1"));
		EXPECT_EQ(echo_requests(read_all(plain.get())), 1u) << "others still capture it";
	}
	EXPECT_TRUE(Net::ping("10.204.0.1")) << "the drops went with the descriptor";
}

TEST(Fildrop, DropNeitherCapturesNorLetsThrough)
{
	Net n;
	Fd t = tap("fd0", kEchoToOne, BPF_FILDROP_DROP);
	Fd plain = open_bpf("fd0");
	ASSERT_EQ(setf(plain.get(), kEchoToOne), 0);
	EXPECT_FALSE(Net::ping("10.204.0.1", 2));
	EXPECT_TRUE(Net::ping("10.204.0.3"));
	EXPECT_EQ(echo_requests(read_all(t.get())), 0u) << "DROP captures nothing";
	EXPECT_EQ(stats(t.get()).bs_capt, 2u) << "but its filter took both";
	EXPECT_EQ(echo_requests(read_all(plain.get())), 2u) << "a PASS descriptor sees them";
	ASSERT_EQ(set_fildrop(t.get(), BPF_FILDROP_CAPTURE), 0);
	EXPECT_FALSE(Net::ping("10.204.0.1"));
	EXPECT_EQ(echo_requests(read_all(t.get())), 1u) << "DROP to CAPTURE: captured now";
	ASSERT_EQ(set_fildrop(t.get(), BPF_FILDROP_PASS), 0);
	EXPECT_TRUE(Net::ping("10.204.0.1")) << "back to PASS";
}

TEST(Fildrop, EachFrameIsCountedAndCapturedOnce)
{
	Veth v("fe0", "fe1");
	rtnl::disable_ipv6("fe0");
	rtnl::disable_ipv6("fe1");
	Fd capture = tap(v.a(), kTestTypeOnly, BPF_FILDROP_CAPTURE);
	Fd drop = tap(v.a(), kTestTypeOnly, BPF_FILDROP_DROP);
	PacketSocket peer(v.b());
	constexpr size_t kFrames = 25;
	for (size_t i = 0; i < kFrames; i++)
		peer.send(frame(kTestType, 100, static_cast<uint32_t>(i)));
	EXPECT_EQ(test_frames(read_all(capture.get()), 100), kFrames);
	EXPECT_EQ(stats(capture.get()).bs_capt, kFrames);
	EXPECT_EQ(stats(drop.get()).bs_capt, kFrames);
	EXPECT_EQ(test_frames(read_all(drop.get()), 100), 0u);
}

TEST(Fildrop, FanOutMembersDecideForTheFramesTheyGet)
{
	Veth v("fe0", "fe1");
	rtnl::disable_ipv6("fe0");
	rtnl::disable_ipv6("fe1");
	Fd a = tap(v.a(), kTestTypeOnly, BPF_FILDROP_CAPTURE);
	Fd b = tap(v.a(), kTestTypeOnly, BPF_FILDROP_CAPTURE);
	for (int fd : {a.get(), b.get()}) {
		bpf_fanout fo{5, BPF_FANOUT_RR};
		ASSERT_EQ(ioctl(fd, BIOCSFANOUT, &fo), 0);
	}
	PacketSocket peer(v.b());
	constexpr size_t kFrames = 20;
	for (size_t i = 0; i < kFrames; i++)
		peer.send(frame(kTestType, 100, static_cast<uint32_t>(i)));
	const size_t got_a = test_frames(read_all(a.get()), 100);
	const size_t got_b = test_frames(read_all(b.get()), 100);
	EXPECT_EQ(got_a + got_b, kFrames) << "each frame to one member, once";
	EXPECT_GT(got_a, 0u);
	EXPECT_GT(got_b, 0u);
}

TEST(Fildrop, TransmittedFramesAreNeverDropped)
{
	Veth v("fe0", "fe1");
	rtnl::disable_ipv6("fe0");
	rtnl::disable_ipv6("fe1");
	Fd drop = tap(v.a(), kTestTypeOnly, BPF_FILDROP_DROP);
	Fd capture = tap(v.a(), kTestTypeOnly, BPF_FILDROP_CAPTURE);
	PacketSocket peer(v.b());
	Fd w = open_bpf(v.a());
	unsigned on = 1;
	ASSERT_EQ(ioctl(w.get(), BIOCSHDRCMPLT, &on), 0);
	const Bytes f = frame(kTestType, 80, 7);
	ASSERT_EQ(write(w.get(), f.data(), f.size()), static_cast<ssize_t>(f.size()));
	size_t arrived = 0;
	for (const Bytes &got : peer.drain())
		arrived += got == f;
	EXPECT_EQ(arrived, 1u) << "OpenBSD acts on the verdict only for input";
	EXPECT_EQ(test_frames(read_all(capture.get()), 80), 1u) << "CAPTURE captures it going out";
	EXPECT_EQ(test_frames(read_all(drop.get()), 80), 0u) << "DROP captures nothing, either way";
}

TEST(Fildrop, DropsFollowADescriptorThatMoves)
{
	Net n;
	Veth other("fe0", "fe1");
	Fd t = tap("fd0", kEchoToOne, BPF_FILDROP_CAPTURE);
	EXPECT_FALSE(Net::ping("10.204.0.1"));
	ASSERT_EQ(setif(t.get(), other.a()), 0);
	EXPECT_TRUE(Net::ping("10.204.0.1")) << "fd0 unhooked when its last dropper left";
	ASSERT_EQ(setif(t.get(), "fd0"), 0);
	EXPECT_FALSE(Net::ping("10.204.0.1"));
}

// Descriptors set and clear drops, move, close and lose their interface
// while frames arrive on it; vm-run's log gate catches what goes wrong.
TEST(Fildrop, ChurnUnderTrafficLeavesNothingBehind)
{
	Net n;
	std::atomic<bool> stop{false};
	std::thread flood([&] {
		while (!stop)
			sh_status("ip netns exec fdns ping -q -n -c 200 -i 0.002 -W 1 10.204.0.1 >/dev/null 2>&1");
	});
	std::thread churn([&] {
		std::mt19937 rng(1234);
		for (int round = 0; round < 4; round++) {
			std::vector<Fd> fds;	// outlives flap: fe0 goes with descriptors on it
			auto flap = std::make_unique<Veth>("fe0", "fe1");
			// Frames into fe0 until (and while) it is deleted; errors after that.
			PacketSocket out("fe1");
			std::atomic<bool> round_done{false};
			std::thread sender([&] {
				const Bytes f = frame(kTestType, 100, 0);
				while (!round_done) {
					(void)::send(out.fd(), f.data(), f.size(), MSG_DONTWAIT);
					std::this_thread::sleep_for(100us);
				}
			});
			for (int i = 0; i < 6; i++) {
				fds.push_back(open_bpf(i % 2 ? "fd0" : "fe0"));
				set_fildrop(fds.back().get(), rng() % 3);
			}
			for (int step = 0; step < 200; step++) {
				const int fd = fds[rng() % fds.size()].get();
				switch (rng() % 4) {
				case 0: set_fildrop(fd, rng() % 3); break;
				case 1: setif(fd, rng() % 2 ? "fd0" : "fe0"); break;
				case 2: (void)read_all(fd, 0ms); break;
				default: fds[rng() % fds.size()] = open_bpf("fd0"); break;
				}
			}
			// Half are closed now; the rest lose fe0 with the flap pair.
			fds.resize(fds.size() / 2);
			flap.reset();
			round_done = true;
			sender.join();
		}
	});
	churn.join();
	stop = true;
	flood.join();
	EXPECT_TRUE(Net::ping("10.204.0.1")) << "no drop left behind";
}

// Hooks come and go with the settings while frames arrive on another CPU.
// (Registering without holding the static keys patched the receive path
// each time; the syscall fuzz caught a TCG guest looping on a patched site.
// This test alone did not reproduce that; it guards the register/unregister
// path under traffic.)
TEST(Fildrop, FlippingUnderTrafficKeepsWorking)
{
	Veth v("fe0", "fe1");
	rtnl::disable_ipv6("fe0");
	rtnl::disable_ipv6("fe1");
	std::atomic<bool> stop{false};
	std::thread sender([&] {
		PacketSocket out(v.b());
		const Bytes f = frame(kTestType, 100, 0), tagged = vlan_frame(5, kTestType, 100, 1);
		while (!stop) {
			out.send(f);
			out.send(tagged);
		}
	});
	Fd fd = open_bpf(v.a());
	for (int i = 0; i < 2000; i++)
		ASSERT_EQ(set_fildrop(fd.get(), i % 2 ? BPF_FILDROP_PASS : BPF_FILDROP_CAPTURE), 0);
	stop = true;
	sender.join();
	EXPECT_EQ(get_fildrop(fd.get()), unsigned(BPF_FILDROP_PASS));
}
