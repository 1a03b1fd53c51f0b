// write(): injection, header-complete, size limits, write filter.
#include "testnet.hpp"

#include "rtnl.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

Bytes mac_of_bytes(const std::string &text)
{
	Bytes m(6);
	unsigned v[6];
	EXPECT_EQ(std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3],
			      &v[4], &v[5]), 6);
	for (int i = 0; i < 6; i++)
		m[i] = static_cast<uint8_t>(v[i]);
	return m;
}

void set_hdrcmplt(int fd, unsigned on)
{
	ASSERT_EQ(ioctl(fd, BIOCSHDRCMPLT, &on), 0);
	unsigned got = 9;
	ASSERT_EQ(ioctl(fd, BIOCGHDRCMPLT, &got), 0);
	ASSERT_EQ(got, on);
}

} // namespace

TEST(Write, HeaderCompleteFrameReachesThePeerByteForByte)
{
	Veth v("bw0", "bw1");
	PacketSocket peer(v.b());
	Fd bpf = open_bpf(v.a());
	set_hdrcmplt(bpf.get(), 1);
	std::vector<Bytes> sent;
	for (uint32_t i = 0; i < 10; i++) {
		sent.push_back(frame(kTestType, 60 + i * 140, i));
		ASSERT_EQ(write(bpf.get(), sent.back().data(), sent.back().size()),
			  ssize_t(sent.back().size()));
	}
	EXPECT_EQ(peer.drain(), sent);
}

TEST(Write, SourceAddressIsFilledInUnlessHeaderComplete)
{
	Veth v("bw0", "bw1");
	PacketSocket peer(v.b());
	Fd bpf = open_bpf(v.a());
	Bytes f = frame(kTestType, 100, 1);
	ASSERT_EQ(write(bpf.get(), f.data(), f.size()), ssize_t(f.size()));
	auto got = peer.drain();
	ASSERT_EQ(got.size(), 1u);
	Bytes expect = f;
	Bytes mac = mac_of_bytes(mac_of(v.a()));
	std::copy(mac.begin(), mac.end(), expect.begin() + 6);
	EXPECT_EQ(got[0], expect);
}

TEST(Write, WrittenFramesAreSeenByOtherDescriptorsAsOutgoing)
{
	Veth v("bw0", "bw1");
	Fd writer = open_bpf(v.a()), watcher = open_bpf(v.a());
	unsigned out = BPF_D_OUT;
	ASSERT_EQ(ioctl(watcher.get(), BIOCSDIRECTION, &out), 0);
	set_hdrcmplt(writer.get(), 1);
	Bytes f = frame(kTestType, 120, 5);
	ASSERT_EQ(write(writer.get(), f.data(), f.size()), ssize_t(f.size()));
	auto recs = read_all(watcher.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, f);
}

TEST(Write, SizeLimitsFollowTheMtu)
{
	Veth v("bw0", "bw1");
	PacketSocket peer(v.b());
	Fd bpf = open_bpf(v.a());
	set_hdrcmplt(bpf.get(), 1);
	Bytes max = frame(kTestType, 1514, 1);
	EXPECT_EQ(write(bpf.get(), max.data(), max.size()), 1514);
	Bytes over = frame(kTestType, 1515, 2);
	EXPECT_EQ(write(bpf.get(), over.data(), over.size()), -1);
	EXPECT_EQ(errno, EMSGSIZE);
	Bytes tagged = vlan_frame(10, kTestType, 1514, 3);	// 1518: the tag rides on top
	EXPECT_EQ(write(bpf.get(), tagged.data(), tagged.size()), 1518);
	EXPECT_EQ(write(bpf.get(), max.data(), 13), -1) << "shorter than an Ethernet header";
	EXPECT_EQ(errno, EMSGSIZE);
	EXPECT_EQ(write(bpf.get(), max.data(), 0), 0);
	EXPECT_EQ(peer.drain().size(), 2u);
}

TEST(Write, DownInterfaceGivesEnetdownAndUnattachedEnxio)
{
	Veth v("bw0", "bw1");
	Fd bpf = open_bpf(v.a());
	Bytes f = frame(kTestType, 100, 1);
	rtnl::set_up(v.a(), false);
	EXPECT_EQ(write(bpf.get(), f.data(), f.size()), -1);
	EXPECT_EQ(errno, ENETDOWN);
	EXPECT_EQ(write(bpf.get(), f.data(), 0), -1) << "FreeBSD checks the link first";
	EXPECT_EQ(errno, ENETDOWN);
	Fd raw(open("/dev/bpf", O_RDWR));
	EXPECT_EQ(write(raw.get(), f.data(), f.size()), -1);
	EXPECT_EQ(errno, ENXIO);
}

TEST(Write, WriteFilterRejectionGivesEperm)
{
	Veth v("bw0", "bw1");
	PacketSocket peer(v.b());
	Fd bpf = open_bpf(v.a());
	set_hdrcmplt(bpf.get(), 1);
	bpf_insn only_test_type[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTestType, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	bpf_program prog{4, only_test_type};
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETWF, &prog), 0);
	Bytes ok = frame(kTestType, 100, 1), bad = frame(kOtherType, 100, 2);
	EXPECT_EQ(write(bpf.get(), ok.data(), ok.size()), 100);
	EXPECT_EQ(write(bpf.get(), bad.data(), bad.size()), -1);
	EXPECT_EQ(errno, EPERM);
	auto got = peer.drain();
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(got[0], ok);
}

TEST(Write, WriteFilterSeesTheSourceAddressAsWritten)
{
	// bpf_movein: the filter runs on the caller's bytes, before the source
	// MAC is filled in. This one accepts only the source the test wrote.
	Veth v("bw0", "bw1");
	PacketSocket peer(v.b());
	Fd bpf = open_bpf(v.a());
	bpf_insn only_written_source[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),	// source bytes 2..5
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x00000001, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	bpf_program prog{4, only_written_source};
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETWF, &prog), 0);
	Bytes f = frame(kTestType, 100, 1);	// source 02:00:00:00:00:01
	ASSERT_EQ(write(bpf.get(), f.data(), f.size()), ssize_t(f.size()));
	auto got = peer.drain();
	ASSERT_EQ(got.size(), 1u);
	Bytes mac = mac_of_bytes(mac_of(v.a()));
	EXPECT_TRUE(std::equal(mac.begin(), mac.end(), got[0].begin() + 6))
		<< "then the interface's address is filled in";
}

TEST(Write, VlanPcpIsThePriorityOfWrittenFrames)
{
	Veth v("bw0", "bw1");
	rtnl::disable_ipv6(v.a());	// no other traffic
	// prio's default priomap: priority 6 and 7 go to band 1:1, 0 to 1:2.
	sh("tc qdisc add dev " + v.a() + " root handle 1: prio");
	Fd bpf = open_bpf(v.a());
	set_hdrcmplt(bpf.get(), 1);
	auto band_packets = [&](int band) {
		std::string cmd = "tc -s class show dev " + v.a() + " classid 1:" + std::to_string(band);
		FILE *p = popen(cmd.c_str(), "r");
		char line[256];
		long bytes = 0, pkts = -1;
		while (p && std::fgets(line, sizeof(line), p))
			if (const char *s = std::strstr(line, "Sent "))
				std::sscanf(s, "Sent %ld bytes %ld pkt", &bytes, &pkts);
		if (p)
			pclose(p);
		return pkts;
	};
	Bytes f = frame(kTestType, 100, 1);
	unsigned pcp = 6;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETVLANPCP, &pcp), 0);
	long band1 = band_packets(1), band2 = band_packets(2);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(write(bpf.get(), f.data(), f.size()), 100);
	EXPECT_EQ(band_packets(1) - band1, 3) << "priority 6 lands in band 1";
	EXPECT_EQ(band_packets(2) - band2, 0);
	pcp = 0;	// FreeBSD: 0 switches it off
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETVLANPCP, &pcp), 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(write(bpf.get(), f.data(), f.size()), 100);
	EXPECT_EQ(band_packets(1) - band1, 3);
	EXPECT_EQ(band_packets(2) - band2, 3) << "priority 0 lands in band 2";
	pcp = BPF_PRIO_MAX + 1;
	EXPECT_EQ(ioctl(bpf.get(), BIOCSETVLANPCP, &pcp), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST(Write, VlanPcpReachesTheTagOfAVlanInterface)
{
	// A VLAN interface turns skb->priority into the tag's PCP through its
	// egress map (FreeBSD's vlan(4) does it with net.link.vlan.mtag_pcp).
	Veth v("bw0", "bw1");
	sh("modprobe 8021q 2>/dev/null; ip link add link " + v.a() + " name bw0.10 type vlan id 10 "
	   "egress-qos-map 0:0 1:1 2:2 3:3 4:4 5:5 6:6 7:7 && ip link set bw0.10 up");
	PacketSocket peer(v.b());
	Fd bpf = open_bpf("bw0.10");
	set_hdrcmplt(bpf.get(), 1);
	unsigned pcp = 5;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETVLANPCP, &pcp), 0);
	Bytes f = frame(kTestType, 100, 1);
	ASSERT_EQ(write(bpf.get(), f.data(), f.size()), 100);
	Bytes tagged;
	for (const Bytes &g : peer.drain())
		if (g.size() == 104 && g[16] == (kTestType >> 8))
			tagged = g;
	ASSERT_EQ(tagged.size(), 104u) << "the frame arrives tagged";
	EXPECT_EQ(tagged[12], 0x81);
	EXPECT_EQ(tagged[14] >> 5, 5) << "PCP";
	EXPECT_EQ(((tagged[14] & 0x0f) << 8) | tagged[15], 10) << "VID";
	sh_status("ip link del bw0.10");
}
