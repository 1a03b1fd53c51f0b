// Capture: what the tap records equals what was on the wire, both directions.
#include "testnet.hpp"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <time.h>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

std::vector<Bytes> payloads(const std::vector<Record> &recs)
{
	std::vector<Bytes> out;
	for (const auto &r : recs)
		out.push_back(r.data);
	return out;
}

// Sends n frames of varying sizes each way across the pair.
void exchange(const Veth &v, int n)
{
	PacketSocket a(v.a()), b(v.b());
	for (int i = 0; i < n; i++) {
		a.send(frame(kTestType, 60 + (i * 97) % 1455, i));
		b.send(frame(kTestType, 60 + (i * 131) % 1455, 1000 + i));
	}
}

int64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

} // namespace

TEST(Capture, BytesEqualAfPacketCaptureInBothDirections)
{
	Veth v("bt0", "bt1");
	PacketSocket reference(v.a());
	Fd bpf = open_bpf(v.a());
	exchange(v, 25);
	auto recs = read_all(bpf.get());
	auto ref = reference.drain();
	ASSERT_EQ(ref.size(), 50u);
	ASSERT_EQ(recs.size(), ref.size());
	EXPECT_EQ(payloads(recs), ref);
	for (const auto &r : recs) {
		EXPECT_EQ(r.hdrlen, 26);
		EXPECT_EQ(r.caplen, r.data.size());
		EXPECT_EQ(r.datalen, r.caplen);
	}
}

TEST(Capture, TimestampsAreMonotonicAndNearTheClock)
{
	Veth v("bt0", "bt1");
	Fd bpf = open_bpf(v.a());
	int64_t before = now_ns();
	exchange(v, 10);
	auto recs = read_all(bpf.get());
	int64_t after = now_ns();
	ASSERT_EQ(recs.size(), 20u);
	int64_t prev = 0;
	for (const auto &r : recs) {
		ASSERT_GE(r.frac, 0);
		ASSERT_LT(r.frac, 1000000);
		int64_t ns = r.sec * 1000000000LL + r.frac * 1000;
		EXPECT_GE(ns, prev);
		EXPECT_GE(ns, before - 1000);	// microsecond truncation
		EXPECT_LE(ns, after);
		prev = ns;
	}
}

TEST(Capture, NanosecondStampsWithBpfXhdr)
{
	Veth v("bt0", "bt1");
	Fd bpf = open_bpf(v.a());
	unsigned fmt = BPF_T_NANOTIME;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSTSTAMP, &fmt), 0);
	unsigned got = 99;
	ASSERT_EQ(ioctl(bpf.get(), BIOCGTSTAMP, &got), 0);
	EXPECT_EQ(got, fmt);
	int64_t before = now_ns();
	exchange(v, 3);
	auto recs = read_all(bpf.get(), 300ms, true);
	int64_t after = now_ns();
	ASSERT_EQ(recs.size(), 6u);
	for (const auto &r : recs) {
		ASSERT_LT(r.frac, 1000000000);
		int64_t ns = r.sec * 1000000000LL + r.frac;
		EXPECT_GE(ns, before);
		EXPECT_LE(ns, after);
	}
}

TEST(Capture, DirectionInSeesOnlyReceivedAndOutOnlySent)
{
	Veth v("bt0", "bt1");
	Fd in = open_bpf(v.a()), out = open_bpf(v.a()), both = open_bpf(v.a());
	unsigned d = BPF_D_IN;
	ASSERT_EQ(ioctl(in.get(), BIOCSDIRECTION, &d), 0);
	d = BPF_D_OUT;
	ASSERT_EQ(ioctl(out.get(), BIOCSDIRECTION, &d), 0);
	unsigned got = 9;
	ASSERT_EQ(ioctl(both.get(), BIOCGDIRECTION, &got), 0);
	EXPECT_EQ(got, unsigned(BPF_D_INOUT)) << "default direction is INOUT";
	exchange(v, 5);
	auto rin = read_all(in.get()), rout = read_all(out.get()), rboth = read_all(both.get());
	ASSERT_EQ(rin.size(), 5u);
	ASSERT_EQ(rout.size(), 5u);
	EXPECT_EQ(rboth.size(), 10u);
	for (int i = 0; i < 5; i++) {
		EXPECT_EQ(rout[i].data, frame(kTestType, 60 + (i * 97) % 1455, i));
		EXPECT_EQ(rin[i].data, frame(kTestType, 60 + (i * 131) % 1455, 1000 + i));
	}
}

TEST(Capture, SeesentAliasesMapToDirections)
{
	Veth v("bt0", "bt1");
	Fd bpf = open_bpf(v.a());
	unsigned val = 0;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSSEESENT, &val), 0);
	unsigned got = 9;
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDIRECTION, &got), 0);
	EXPECT_EQ(got, unsigned(BPF_D_IN));
	val = 1;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSSEESENT, &val), 0);
	ASSERT_EQ(ioctl(bpf.get(), BIOCGSEESENT, &got), 0);
	EXPECT_EQ(got, unsigned(BPF_D_INOUT));
}

TEST(Capture, EveryDescriptorOnAnInterfaceSeesEveryFrame)
{
	Veth v("bt0", "bt1");
	Fd one = open_bpf(v.a()), two = open_bpf(v.a()), peer = open_bpf(v.b());
	exchange(v, 4);
	EXPECT_EQ(read_all(one.get()).size(), 8u);
	EXPECT_EQ(read_all(two.get()).size(), 8u);
	EXPECT_EQ(read_all(peer.get()).size(), 8u);
}

TEST(Capture, VlanTaggedFrameIsCapturedWithItsTagInPlace)
{
	Veth v("bt0", "bt1");
	PacketSocket reference(v.a());
	Fd bpf = open_bpf(v.a());
	PacketSocket b(v.b());
	Bytes tagged = vlan_frame(10, kTestType, 200, 7);
	b.send(tagged);
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, tagged);
	EXPECT_EQ(recs[0].datalen, tagged.size());
	auto ref = reference.drain();
	ASSERT_EQ(ref.size(), 1u);
	EXPECT_EQ(ref[0], tagged) << "AF_PACKET with the tag from auxdata agrees";
}

TEST(Capture, LoopbackFramesAreSeenOnce)
{
	Fd bpf = open_bpf("lo");
	unsigned dlt = 0;
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDLT, &dlt), 0);
	EXPECT_EQ(dlt, unsigned(DLT_EN10MB));
	sh("ip link set lo up; ping -c 2 -i 0.2 -W 1 127.0.0.1 >/dev/null");
	auto recs = read_all(bpf.get());
	// 2 echo requests and 2 replies, each once although lo sends and receives them.
	int icmp = 0;
	for (const auto &r : recs)
		if (r.data.size() > 34 && r.data[12] == 0x08 && r.data[13] == 0x00 && r.data[23] == 1)
			icmp++;
	EXPECT_EQ(icmp, 4);
}
