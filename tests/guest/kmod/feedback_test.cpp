// FreeBSD's BIOCFEEDBACK: written frames also come back as received input.
#include "testnet.hpp"

#include "rtnl.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

using namespace testnet;

namespace {

// veth with an address and no IPv6 chatter, so every frame is the test's.
struct Net {
	Veth v{"bk0", "bk1"};
	Net()
	{
		rtnl::disable_ipv6("bk0");
		rtnl::disable_ipv6("bk1");
		rtnl::add_addr4("bk0", "10.203.0.1", 24);
		// bk1 must not answer for bk0's address itself (Linux's weak host model).
		rtnl::write_sysctl("net/ipv4/conf/bk1/arp_ignore", "1");
	}
};

Fd watcher(const std::string &ifname, unsigned direction)
{
	Fd fd = open_bpf(ifname);
	EXPECT_EQ(ioctl(fd.get(), BIOCSDIRECTION, &direction), 0);
	return fd;
}

size_t count(const std::vector<Record> &recs, const Bytes &f)
{
	size_t n = 0;
	for (const Record &r : recs)
		n += r.data == f;
	return n;
}

Fd writer(const std::string &ifname, unsigned direction, unsigned feedback)
{
	Fd fd = watcher(ifname, direction);
	unsigned on = 1;
	EXPECT_EQ(ioctl(fd.get(), BIOCSHDRCMPLT, &on), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCFEEDBACK, &feedback), 0);
	unsigned got = 9;
	EXPECT_EQ(ioctl(fd.get(), BIOCGFEEDBACK, &got), 0);
	EXPECT_EQ(got, feedback);
	return fd;
}

} // namespace

TEST(Feedback, TheStackReceivesTheWrittenFrame)
{
	Net n;
	PacketSocket peer(n.v.b());
	const Bytes request = arp_frame(1, "10.203.0.1");
	auto replies = [&] {
		size_t k = 0;
		for (const Bytes &f : peer.drain())
			k += is_arp(f, 2);
		return k;
	};
	{
		Fd w = writer(n.v.a(), BPF_D_INOUT, 0);
		ASSERT_EQ(write(w.get(), request.data(), request.size()), 60);
		EXPECT_EQ(replies(), 0u) << "without feedback the request only goes out";
	}
	Fd w = writer(n.v.a(), BPF_D_INOUT, 1);
	ASSERT_EQ(write(w.get(), request.data(), request.size()), 60);
	EXPECT_EQ(replies(), 1u) << "fed back, the request reaches bk0's ARP, which answers";
}

TEST(Feedback, WithInoutEveryListenerSeesTheFrameOnceAsInput)
{
	Net n;
	Fd in = watcher(n.v.a(), BPF_D_IN), out = watcher(n.v.a(), BPF_D_OUT),
	   both = watcher(n.v.a(), BPF_D_INOUT);
	PacketSocket raw(n.v.a());
	Fd w = writer(n.v.a(), BPF_D_INOUT, 1);
	const Bytes f = frame(kTestType, 120, 7);
	ASSERT_EQ(write(w.get(), f.data(), f.size()), 120);
	EXPECT_EQ(count(read_all(in.get()), f), 1u);
	EXPECT_EQ(count(read_all(out.get()), f), 0u) << "the outgoing copy is hidden (M_PROMISC)";
	EXPECT_EQ(count(read_all(both.get()), f), 1u);
	EXPECT_EQ(count(read_all(w.get()), f), 1u) << "the writer too";
	size_t af_packet = 0;
	for (const Bytes &g : raw.drain())
		af_packet += g == f;
	EXPECT_EQ(af_packet, 2u) << "packet sockets still see both, as FreeBSD's non-bpf consumers";
}

TEST(Feedback, WithAnotherDirectionBothCopiesAreSeen)
{
	Net n;
	Fd in = watcher(n.v.a(), BPF_D_IN), out = watcher(n.v.a(), BPF_D_OUT),
	   both = watcher(n.v.a(), BPF_D_INOUT);
	Fd w = writer(n.v.a(), BPF_D_IN, 1);
	const Bytes f = frame(kTestType, 120, 8);
	ASSERT_EQ(write(w.get(), f.data(), f.size()), 120);
	EXPECT_EQ(count(read_all(in.get()), f), 1u);
	EXPECT_EQ(count(read_all(out.get()), f), 1u);
	EXPECT_EQ(count(read_all(both.get()), f), 2u);
	EXPECT_EQ(count(read_all(w.get()), f), 1u) << "the writer, direction in, sees the input copy";
}

TEST(Feedback, OffMeansOnlyTheOutgoingCopy)
{
	Net n;
	Fd in = watcher(n.v.a(), BPF_D_IN), out = watcher(n.v.a(), BPF_D_OUT);
	Fd w = writer(n.v.a(), BPF_D_INOUT, 0);
	const Bytes f = frame(kTestType, 120, 9);
	ASSERT_EQ(write(w.get(), f.data(), f.size()), 120);
	EXPECT_EQ(count(read_all(in.get()), f), 0u);
	EXPECT_EQ(count(read_all(out.get()), f), 1u);
}

TEST(Feedback, FailedWritesFeedNothingBack)
{
	Net n;
	Fd in = watcher(n.v.a(), BPF_D_IN);
	Fd w = writer(n.v.a(), BPF_D_INOUT, 1);
	bpf_insn refuse[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	bpf_program prog{1, refuse};
	ASSERT_EQ(ioctl(w.get(), BIOCSETWF, &prog), 0);
	const Bytes f = frame(kTestType, 120, 10);
	EXPECT_EQ(write(w.get(), f.data(), f.size()), -1);
	EXPECT_EQ(errno, EPERM);
	EXPECT_EQ(count(read_all(in.get()), f), 0u);
}

TEST(Feedback, IsAllowedAfterLockAsOnFreeBsd)
{
	Net n;
	Fd w = open_bpf(n.v.a());
	ASSERT_EQ(ioctl(w.get(), BIOCLOCK), 0);
	unsigned on = 1;
	EXPECT_EQ(ioctl(w.get(), BIOCFEEDBACK, &on), 0);
	EXPECT_EQ(ioctl(w.get(), BIOCSFEEDBACK, &on), 0) << "NetBSD's name";
	unsigned got = 0;
	EXPECT_EQ(ioctl(w.get(), BIOCGFEEDBACK, &got), 0);
	EXPECT_EQ(got, 1u);
}
