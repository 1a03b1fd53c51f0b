// Filters on VLAN-tagged frames, whose tag the stack moved into metadata and
// the tap puts back in a per-CPU scratch skb (issue 9, fault 1). The
// frame's length and its bounds must be exactly this frame's: the scratch
// skb used to keep the length of the frames before it, so `len == 100`
// failed, and loads past the end read bytes of earlier, larger frames.
#include "testnet.hpp"

#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include <functional>
#include <string>
#include <vector>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

struct Case {
	std::string name;
	std::vector<bpf_insn> prog;
	std::function<bool(size_t)> passes;	// by wire length, tag included
};

std::vector<bpf_insn> len_jump(uint16_t op, uint32_t n, bool accept_if)
{
	const uint8_t to_accept = accept_if ? 0 : 1, to_reject = accept_if ? 1 : 0;
	return {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | op | BPF_K, n, to_accept, to_reject),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
}

// Accepts when the load is in bounds; BSD ends the program with 0 otherwise.
std::vector<bpf_insn> loads(std::vector<bpf_insn> head)
{
	head.push_back(BPF_STMT(BPF_RET | BPF_K, 0xffffffff));
	return head;
}

std::vector<Case> cases()
{
	return {
		{"len == 100", len_jump(BPF_JEQ, 100, true), [](size_t l) { return l == 100; }},
		{"less 100", len_jump(BPF_JGT, 100, false), [](size_t l) { return l <= 100; }},
		{"greater 100", len_jump(BPF_JGE, 100, true), [](size_t l) { return l >= 100; }},
		{"ldb [150]", loads({BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 150)}),
		 [](size_t l) { return l > 150; }},
		{"ldb [99]", loads({BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 99)}),
		 [](size_t l) { return l >= 100; }},
		{"ldh [99]", loads({BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 99)}),
		 [](size_t l) { return l >= 101; }},
		{"ld [97]", loads({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 97)}),
		 [](size_t l) { return l >= 101; }},
		{"ldb [x + 10], x = 140", loads({BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 140),
						  BPF_STMT(BPF_LD | BPF_B | BPF_IND, 10)}),
		 [](size_t l) { return l > 150; }},
		{"ldxb 4*([150]&0xf)", loads({BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 150)}),
		 [](size_t l) { return l > 150; }},
		{"ldb [70000]", loads({BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 70000)}),
		 [](size_t) { return false; }},
	};
}

// Wire lengths, tag included: small ones after large ones, so a length or
// bytes left from an earlier frame would show.
const std::vector<size_t> kWireLens = {1000, 100, 1518, 100, 64, 99, 100, 101, 151, 150,
				       100, 400, 100, 100, 68, 1200, 100, 100, 100, 100};

void expect_verdicts(const std::vector<Fd> &fds, const std::vector<Case> &cs,
		     const std::vector<size_t> &lens)
{
	for (size_t c = 0; c < cs.size(); c++) {
		std::vector<size_t> want, got;
		for (size_t l : lens)
			if (cs[c].passes(l))
				want.push_back(l);
		for (const Record &r : read_all(fds[c].get(), 200ms))
			got.push_back(r.datalen);
		EXPECT_EQ(got, want) << cs[c].name;
	}
}

std::vector<Fd> open_with_filters(const std::string &ifname, const std::vector<Case> &cs,
				  unsigned direction)
{
	std::vector<Fd> fds;
	for (const Case &c : cs) {
		fds.push_back(open_bpf(ifname));
		EXPECT_EQ(setf(fds.back().get(), c.prog), 0) << c.name;
		EXPECT_EQ(ioctl(fds.back().get(), BIOCSDIRECTION, &direction), 0);
	}
	return fds;
}

} // namespace

TEST(VlanFilter, ReceivedTaggedFramesHaveTheirOwnLengthAndBounds)
{
	Veth v("bv0", "bv1");
	const auto cs = cases();
	auto fds = open_with_filters(v.a(), cs, BPF_D_IN);
	PacketSocket b(v.b());
	for (size_t i = 0; i < kWireLens.size(); i++)
		b.send(vlan_frame(7, kTestType, kWireLens[i] - 4, uint32_t(i)));
	expect_verdicts(fds, cs, kWireLens);
}

// Sent through a VLAN device, the tag travels in metadata to the real
// device's transmit path, where the tap sees the frame outgoing.
TEST(VlanFilter, SentTaggedFramesHaveTheirOwnLengthAndBounds)
{
	Veth v("bv0", "bv1");
	sh("ip link add link " + v.a() + " name bv0.7 type vlan id 7 && ip link set bv0.7 up");
	const auto cs = cases();
	auto fds = open_with_filters(v.a(), cs, BPF_D_OUT);
	{
		PacketSocket vlan("bv0.7");
		for (size_t i = 0; i < kWireLens.size(); i++)
			vlan.send(frame(kTestType, kWireLens[i] - 4, uint32_t(i)));
		expect_verdicts(fds, cs, kWireLens);
	}
	sh_status("ip link del bv0.7");
}

// The record of a tagged frame that passed is this frame, tag in place.
TEST(VlanFilter, PassingTaggedFrameIsRecordedWholeAfterLargerOnes)
{
	Veth v("bv0", "bv1");
	Fd bpf = open_bpf(v.a());
	ASSERT_EQ(setf(bpf.get(), len_jump(BPF_JEQ, 100, true)), 0);
	PacketSocket b(v.b());
	const Bytes big = vlan_frame(7, kTestType, 1400, 1), small = vlan_frame(7, kTestType, 96, 2);
	b.send(big);
	b.send(small);
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, small);
}
