// Indexed loads with BSD's bounds (issue 9, fault 6): `ld [x + k]` is out
// of bounds, and the program returns 0, unless x + k + size fits the packet
// in unbounded arithmetic. Linux adds in 32 bits (x = 0xffffffff, k = 1 is
// offset 0) and takes sums with the sign bit set as its ancillary,
// SKF_NET_OFF and SKF_LL_OFF offsets. Each program's verdict on each frame
// is compared with libpcap's own bpf_filter(), BSD's interpreter; a program
// the module cannot give BSD's semantics must be refused with EINVAL (so
// libpcap filters in userland), never loaded with another verdict.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include <string>
#include <vector>

// libpcap's interpreter (pcap/bpf.h declares it; <net/bpf.h> is ours).
extern "C" unsigned bpf_filter(const struct bpf_insn *, const unsigned char *, unsigned, unsigned);

using namespace testnet;
using namespace std::chrono_literals;

namespace {

struct Prog {
	std::string name;
	std::vector<bpf_insn> insns;
};

bpf_insn ldx(uint32_t k) { return BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, k); }
bpf_insn ind(uint16_t size, uint32_t k) { return BPF_STMT(BPF_LD | size | BPF_IND, k); }
const bpf_insn kAccept = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);

std::vector<Prog> programs()
{
	return {
		{"x=0xffffffff ldb [x+1]", {ldx(0xffffffff), ind(BPF_B, 1), kAccept}},
		{"x=0xffffffff ld [x+1]", {ldx(0xffffffff), ind(BPF_W, 1), kAccept}},
		{"x=1 ldb [x+0xffffffff]", {ldx(1), ind(BPF_B, 0xffffffff), kAccept}},
		{"x=0xfffffff0 ldh [x+0x1c]", {ldx(0xfffffff0), ind(BPF_H, 0x1c), kAccept}},
		{"x=SKF_NET_OFF ldb [x]", {ldx(0xfff00000), ind(BPF_B, 0), kAccept}},
		{"x=SKF_LL_OFF ldb [x+12]", {ldx(0xffe00000), ind(BPF_B, 12), kAccept}},
		{"x=0 ldb [x+SKF_LL_OFF+12]", {ldx(0), ind(BPF_B, 0xffe0000c), kAccept}},
		{"x=SKF_AD_OFF ld [x]", {ldx(0xfffff000), ind(BPF_W, 0), kAccept}},
		{"x=0x7fffffff ldb [x+1]", {ldx(0x7fffffff), ind(BPF_B, 1), kAccept}},
		{"x=10 ldh [x+2]", {ldx(10), ind(BPF_H, 2), kAccept}},
		{"x=99 ldb [x]", {ldx(99), ind(BPF_B, 0), kAccept}},
		{"x=99 ldh [x]", {ldx(99), ind(BPF_H, 0), kAccept}},
		{"x=98 ld [x]", {ldx(98), ind(BPF_W, 0), kAccept}},
		{"x=4*([14]&0xf) ld [x+0xfffffffc]",
		 {BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14), ind(BPF_W, 0xfffffffc), kAccept}},
		// Jumps over indexed loads land where they did before the guards.
		{"type, then [x+4] == 25",
		 {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTestType, 0, 5), ldx(14), ind(BPF_B, 4),
		  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 25, 0, 2), ind(BPF_B, 5), kAccept,
		  BPF_STMT(BPF_RET | BPF_K, 0)}},
		{"ja over [x+k], then [x+3]",
		 {ldx(14), BPF_STMT(BPF_JMP | BPF_JA, 2), ind(BPF_B, 0xffffffff), BPF_STMT(BPF_RET | BPF_K, 0),
		  ind(BPF_B, 3), kAccept}},
	};
}

// Frames: 100 bytes with sequence 1 (byte 18 is 25) and 2, another type,
// a 60-byte one, and an 802.1Q-tagged one.
std::vector<Bytes> frames()
{
	return {frame(kTestType, 100, 1), frame(kTestType, 100, 2), frame(kOtherType, 100, 1),
		frame(kTestType, 60, 1), vlan_frame(3, kTestType, 96, 1)};
}

} // namespace

TEST(BsdLoads, IndexedLoadsGiveLibpcapsVerdictOnEveryFrame)
{
	Veth v("bl0", "bl1");
	const auto progs = programs();
	const auto fs = frames();
	std::vector<Fd> fds;
	for (const Prog &p : progs) {
		fds.push_back(open_bpf(v.a()));
		ASSERT_EQ(setf(fds.back().get(), p.insns), 0) << p.name;
	}
	PacketSocket b(v.b());
	for (const Bytes &f : fs)
		b.send(f);
	for (size_t i = 0; i < progs.size(); i++) {
		std::vector<Bytes> want, got;
		for (const Bytes &f : fs)
			if (bpf_filter(progs[i].insns.data(), f.data(), unsigned(f.size()), unsigned(f.size())))
				want.push_back(f);
		for (Record &r : read_all(fds[i].get(), 200ms))
			got.push_back(std::move(r.data));
		EXPECT_EQ(got.size(), want.size()) << progs[i].name;
		EXPECT_TRUE(got == want) << progs[i].name;
	}
}

// Guards make a program longer: a conditional jump over many indexed loads
// no longer fits its 8-bit offset, and a program near BPF_MAXINSNS no longer
// fits the limit. Both are refused (libpcap then filters in userland).
TEST(BsdLoads, ProgramsTheGuardsCannotFitAreRefusedWithEinval)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(fd);
	std::vector<bpf_insn> far = {ldx(0), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 60)};
	for (int i = 0; i < 60; i++)
		far.push_back(ind(BPF_B, 0));
	far.push_back(kAccept);
	EXPECT_EQ(setf(fd.get(), far), EINVAL);
	far[1].jf = 30;	// 30 guarded loads: 180 instructions, still reachable
	far.resize(2 + 30);
	far.push_back(kAccept);
	EXPECT_EQ(setf(fd.get(), far), 0);

	std::vector<bpf_insn> big(BPF_MAXINSNS - 1, ind(BPF_B, 0));
	big.push_back(kAccept);
	EXPECT_EQ(setf(fd.get(), big), EINVAL);
}
