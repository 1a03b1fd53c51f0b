// OpenBSD's BIOCSFILDROP: received frames the filter accepts can be taken
// away from the stack. The stack's answer to an ARP request shows whether
// it got the request.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

using namespace testnet;

namespace {

struct Net {
	Veth v{"bd0", "bd1"};
	PacketSocket peer{v.b()};
	Net()
	{
		sh("sysctl -qw net.ipv6.conf.bd0.disable_ipv6=1 net.ipv6.conf.bd1.disable_ipv6=1");
		sh("ip addr add 10.203.0.1/24 dev bd0");
	}
	// Ask bd0 for its address from the peer; how many answers came back.
	size_t ask()
	{
		peer.send(arp_frame(1, "10.203.0.1"));
		size_t answers = 0;
		for (const Bytes &f : peer.drain())
			answers += is_arp(f, 2);
		return answers;
	}
};

bpf_insn only_arp[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0806, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

Fd arp_tap(const std::string &ifname, unsigned action)
{
	Fd fd = open_bpf(ifname);
	bpf_program prog{4, only_arp};
	EXPECT_EQ(ioctl(fd.get(), BIOCSETF, &prog), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSFILDROP, &action), 0);
	unsigned got = 9;
	EXPECT_EQ(ioctl(fd.get(), BIOCGFILDROP, &got), 0);
	EXPECT_EQ(got, action);
	return fd;
}

size_t arp_requests(const std::vector<Record> &recs)
{
	size_t n = 0;
	for (const Record &r : recs)
		n += is_arp(r.data, 1);
	return n;
}

} // namespace

TEST(Fildrop, ValuesAreOpenBsdsAndOthersGiveEinval)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	unsigned u = 9;
	ASSERT_EQ(ioctl(fd.get(), BIOCGFILDROP, &u), 0);
	EXPECT_EQ(u, unsigned(BPF_FILDROP_PASS)) << "default";
	for (unsigned bad : {3u, 0xffffffffu}) {
		u = bad;
		EXPECT_EQ(ioctl(fd.get(), BIOCSFILDROP, &u), -1);
		EXPECT_EQ(errno, EINVAL);
	}
	u = BPF_FILDROP_DROP;
	EXPECT_EQ(ioctl(fd.get(), BIOCSFILDROP, &u), 0) << "settable before attach";
	ASSERT_EQ(ioctl(fd.get(), BIOCLOCK), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSFILDROP, &u), -1);
	EXPECT_EQ(errno, EPERM) << "not on OpenBSD's BIOCLOCK list";
	EXPECT_EQ(ioctl(fd.get(), BIOCGFILDROP, &u), 0);
}

TEST(Fildrop, PassCapturesAndTheStackAnswers)
{
	Net n;
	Fd tap = arp_tap(n.v.a(), BPF_FILDROP_PASS);
	EXPECT_EQ(n.ask(), 1u);
	EXPECT_EQ(arp_requests(read_all(tap.get())), 1u);
}

TEST(Fildrop, CaptureCapturesAndTheStackNeverSeesIt)
{
	Net n;
	ASSERT_EQ(n.ask(), 1u) << "the stack answers before";
	{
		Fd tap = arp_tap(n.v.a(), BPF_FILDROP_CAPTURE);
		EXPECT_EQ(n.ask(), 0u);
		EXPECT_EQ(arp_requests(read_all(tap.get())), 1u);
		// Frames the filter rejects still reach the stack.
		Fd other = open_bpf(n.v.a());
		EXPECT_EQ(n.ask(), 0u);
	}
	EXPECT_EQ(n.ask(), 1u) << "the hook goes with the descriptor";
}

TEST(Fildrop, DropNeitherCapturesNorLetsThrough)
{
	Net n;
	Fd tap = arp_tap(n.v.a(), BPF_FILDROP_DROP);
	Fd plain = open_bpf(n.v.a());	// a PASS descriptor on the same interface
	EXPECT_EQ(n.ask(), 0u);
	EXPECT_EQ(arp_requests(read_all(tap.get())), 0u);
	EXPECT_EQ(arp_requests(read_all(plain.get())), 1u) << "other descriptors still capture it";
	unsigned pass = BPF_FILDROP_PASS;
	ASSERT_EQ(ioctl(tap.get(), BIOCSFILDROP, &pass), 0);
	EXPECT_EQ(n.ask(), 1u) << "back to PASS";
}

TEST(Fildrop, ADescriptorThatMovesTakesItsDropsAlong)
{
	Net n;
	Veth other("bd2", "bd3");
	Fd tap = arp_tap(n.v.a(), BPF_FILDROP_CAPTURE);
	EXPECT_EQ(n.ask(), 0u);
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, other.a().c_str(), IFNAMSIZ - 1);
	ASSERT_EQ(ioctl(tap.get(), BIOCSETIF, &ifr), 0);
	EXPECT_EQ(n.ask(), 1u);
	std::strncpy(ifr.ifr_name, n.v.a().c_str(), IFNAMSIZ - 1);
	ASSERT_EQ(ioctl(tap.get(), BIOCSETIF, &ifr), 0);
	EXPECT_EQ(n.ask(), 0u);
}

TEST(Fildrop, TransmittedFramesAreNeverDropped)
{
	Net n;
	Fd tap = arp_tap(n.v.a(), BPF_FILDROP_DROP);
	Fd w = open_bpf(n.v.a());
	unsigned on = 1;
	ASSERT_EQ(ioctl(w.get(), BIOCSHDRCMPLT, &on), 0);
	const Bytes req = arp_frame(1, "10.203.0.9");
	ASSERT_EQ(write(w.get(), req.data(), req.size()), 60);
	size_t got = 0;
	for (const Bytes &f : n.peer.drain())
		got += f == req;
	EXPECT_EQ(got, 1u) << "OpenBSD acts on the verdict only for input";
	EXPECT_EQ(arp_requests(read_all(tap.get())), 0u) << "and DROP captures nothing";
}

TEST(Fildrop, InterfaceRemovalWithAHookIsClean)
{
	auto v = std::make_unique<Veth>("bd4", "bd5");
	Fd tap = arp_tap(v->a(), BPF_FILDROP_CAPTURE);
	v.reset();	// NETDEV_UNREGISTER: detach, unhook
	Bytes buf(blen(tap.get()));
	EXPECT_EQ(read(tap.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, ENXIO);
}
