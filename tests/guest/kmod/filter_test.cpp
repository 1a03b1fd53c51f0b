// Filters: accept, reject, snap length, validation, flush semantics, VLAN tags.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

// Accept frames whose EtherType is `type`, returning `snap` bytes.
std::vector<bpf_insn> ethertype_is(uint16_t type, uint32_t snap = 0xffffffff)
{
	return {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, type, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, snap),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
}

// "vlan VID": an 802.1Q tag with that VLAN id, as the frame is on the wire.
std::vector<bpf_insn> vlan_is(uint16_t vid)
{
	return {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 14),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x0fff),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, vid, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
}

void send_mix(const Veth &v)
{
	PacketSocket b(v.b());
	for (uint32_t i = 0; i < 6; i++)
		b.send(frame(i % 2 ? kOtherType : kTestType, 300, i));
}

} // namespace

TEST(Filter, AcceptsMatchingFramesAndRejectsTheRest)
{
	Veth v("bf0", "bf1");
	Fd bpf = open_bpf(v.a());
	ASSERT_EQ(setf(bpf.get(), ethertype_is(kTestType)), 0);
	send_mix(v);
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 3u);
	for (uint32_t i = 0; i < 3; i++)
		EXPECT_EQ(recs[i].data, frame(kTestType, 300, 2 * i));
}

TEST(Filter, ReturnValueIsTheSnapLength)
{
	Veth v("bf0", "bf1");
	Fd bpf = open_bpf(v.a());
	ASSERT_EQ(setf(bpf.get(), ethertype_is(kTestType, 64)), 0);
	send_mix(v);
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 3u);
	for (uint32_t i = 0; i < 3; i++) {
		EXPECT_EQ(recs[i].caplen, 64u);
		EXPECT_EQ(recs[i].datalen, 300u);
		Bytes whole = frame(kTestType, 300, 2 * i);
		EXPECT_EQ(recs[i].data, Bytes(whole.begin(), whole.begin() + 64));
	}
}

TEST(Filter, ZeroLengthProgramAcceptsEverything)
{
	Veth v("bf0", "bf1");
	Fd bpf = open_bpf(v.a());
	ASSERT_EQ(setf(bpf.get(), ethertype_is(kTestType)), 0);
	bpf_program none{0, nullptr};
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETF, &none), 0);
	send_mix(v);
	EXPECT_EQ(read_all(bpf.get()).size(), 6u);
}

TEST(Filter, InvalidProgramsAreRejectedWithEinval)
{
	Fd bpf(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(bpf);
	// Jump past the end.
	EXPECT_EQ(setf(bpf.get(), {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0),
				   BPF_STMT(BPF_RET | BPF_K, 0)}), EINVAL);
	// Last instruction is not a return.
	EXPECT_EQ(setf(bpf.get(), {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)}), EINVAL);
	// Division by constant zero.
	EXPECT_EQ(setf(bpf.get(), {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
				   BPF_STMT(BPF_RET | BPF_A, 0)}), EINVAL);
	// Unknown opcode.
	EXPECT_EQ(setf(bpf.get(), {{0xff, 0, 0, 0}, BPF_STMT(BPF_RET | BPF_K, 0)}), EINVAL);
	// Scratch memory index out of range.
	EXPECT_EQ(setf(bpf.get(), {BPF_STMT(BPF_ST, BPF_MEMWORDS),
				   BPF_STMT(BPF_RET | BPF_K, 0)}), EINVAL);
	// Longer than BPF_MAXINSNS.
	std::vector<bpf_insn> huge(BPF_MAXINSNS + 1, bpf_insn BPF_STMT(BPF_LD | BPF_IMM, 1));
	huge.back() = BPF_STMT(BPF_RET | BPF_K, 0);
	EXPECT_EQ(setf(bpf.get(), huge), EINVAL);
	// NULL instructions with a length.
	bpf_program nul{3, nullptr};
	EXPECT_EQ(ioctl(bpf.get(), BIOCSETF, &nul), -1);
	EXPECT_EQ(errno, EINVAL);
	// A longest valid program is accepted.
	std::vector<bpf_insn> longest(BPF_MAXINSNS, bpf_insn BPF_STMT(BPF_LD | BPF_IMM, 1));
	longest.back() = BPF_STMT(BPF_RET | BPF_K, 0);
	EXPECT_EQ(setf(bpf.get(), longest), 0);
}

TEST(Filter, BadPointersGiveEfault)
{
	Fd bpf(open("/dev/bpf", O_RDWR));
	void *unmapped = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(unmapped, MAP_FAILED);
	EXPECT_EQ(ioctl(bpf.get(), BIOCSETF, unmapped), -1);
	EXPECT_EQ(errno, EFAULT);
	bpf_program prog{4, static_cast<bpf_insn *>(unmapped)};
	EXPECT_EQ(ioctl(bpf.get(), BIOCSETF, &prog), -1);
	EXPECT_EQ(errno, EFAULT);
	munmap(unmapped, 4096);
}

TEST(Filter, LinuxAncillaryOffsetsAreOutOfBoundsAsOnBsd)
{
	Veth v("bf0", "bf1");
	Fd bpf = open_bpf(v.a());
	// On Linux sockets this loads the ifindex; in BSD it is past the frame: drop.
	ASSERT_EQ(setf(bpf.get(), {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffff000u + 8),
				   BPF_STMT(BPF_RET | BPF_A, 0)}), 0);
	send_mix(v);
	EXPECT_TRUE(read_all(bpf.get(), 200ms).empty());
}

TEST(Filter, SetfFlushesButSetfnrKeepsBufferedRecords)
{
	Veth v("bf0", "bf1");
	Fd bpf = open_bpf(v.a(), 65536, false);
	PacketSocket b(v.b());
	b.send(frame(kTestType, 100, 1));
	settle(200ms);
	int n = 0;
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &n), 0);
	ASSERT_GT(n, 0);
	ASSERT_EQ(setf(bpf.get(), ethertype_is(kTestType), BIOCSETFNR), 0);
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &n), 0);
	EXPECT_GT(n, 0) << "BIOCSETFNR keeps what is buffered";
	bpf_stat st{};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGSTATS, &st), 0);
	EXPECT_EQ(st.bs_recv, 1u);
	ASSERT_EQ(setf(bpf.get(), ethertype_is(kTestType)), 0);
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &n), 0);
	EXPECT_EQ(n, 0) << "BIOCSETF flushes";
	ASSERT_EQ(ioctl(bpf.get(), BIOCGSTATS, &st), 0);
	EXPECT_EQ(st.bs_recv, 0u);
}

TEST(Filter, VlanFilterSeesTheTagTheStackMovedIntoMetadata)
{
	Veth v("bf0", "bf1");
	Fd ten = open_bpf(v.a()), twenty = open_bpf(v.a());
	ASSERT_EQ(setf(ten.get(), vlan_is(10)), 0);
	ASSERT_EQ(setf(twenty.get(), vlan_is(20)), 0);
	PacketSocket b(v.b());
	Bytes tagged = vlan_frame(10, kTestType, 400, 3);
	b.send(tagged);
	b.send(frame(kTestType, 400, 4));
	auto recs = read_all(ten.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, tagged);
	EXPECT_TRUE(read_all(twenty.get(), 100ms).empty());
}

TEST(Filter, VlanTaggedFrameTruncatedBySnapLengthKeepsTheTag)
{
	Veth v("bf0", "bf1");
	Fd bpf = open_bpf(v.a());
	auto prog = vlan_is(10);
	prog.back() = BPF_STMT(BPF_RET | BPF_K, 14);	// cuts inside the tag
	ASSERT_EQ(setf(bpf.get(), prog), 0);
	PacketSocket b(v.b());
	Bytes tagged = vlan_frame(10, kTestType, 400, 3);
	b.send(tagged);
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, Bytes(tagged.begin(), tagged.begin() + 14));
	EXPECT_EQ(recs[0].datalen, tagged.size());
}
