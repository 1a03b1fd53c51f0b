// The kernel backend's userland filter (programs the kernel refuses): the
// capture buffer is compacted in place to exactly the records the kernel
// would have stored with the program, each cut to the program's return.
#include <gtest/gtest.h>

#include <vector>

#include "bpf_filter.hpp"
#include "buffer_builder.hpp"

using namespace tap;

namespace {

// Linux refuses it (M[0] is read before any store); BSD and libpcap >= 1.10.4
// run it with M[0] = 0. Accepts frames whose first byte is odd: those whose
// second bit is set keep 10 bytes, the others len/2.
const std::vector<bpf_insn> odd_first_byte = {
	BPF_STMT(BPF_LDX | BPF_MEM, 0),            // X = M[0] = 0
	BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),     // A = frame[X]
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 5),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 2, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 10),
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 1),
	BPF_STMT(BPF_RET | BPF_A, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

detail::UserlandFilter make(const std::vector<bpf_insn> &prog)
{
	auto engine = cbpf::Filter::create(prog);
	if (!engine)
		throw std::runtime_error(engine.error().message());
	return detail::UserlandFilter(std::move(*engine));
}

struct Expected {
	std::vector<std::byte> bytes;
	std::uint32_t wire;
	Timestamp stamp;
};

// What the kernel would have stored: each record the program accepts, cut
// to min(return, caplen); computed record by record with the engine alone.
std::vector<Expected> oracle(const std::vector<bpf_insn> &prog, std::span<const std::byte> buffer)
{
	auto engine = cbpf::Filter::create(prog, cbpf::Engine::interpreter);
	std::vector<Expected> out;
	for (RecordIterator it(buffer, TimestampUnit::nanoseconds); it != std::default_sentinel; ++it) {
		const PacketView p = *it;
		const std::uint32_t r = engine->run(
			{reinterpret_cast<const std::uint8_t *>(p.bytes().data()), p.captured_length()},
			p.wire_length());
		if (r == 0)
			continue;
		const auto n = std::min(r, p.captured_length());
		out.push_back({{p.bytes().begin(), p.bytes().begin() + n}, p.wire_length(), p.timestamp()});
	}
	return out;
}

void expect_records(std::span<const std::byte> buffer, const std::vector<Expected> &want)
{
	ParseStatus status;
	std::size_t i = 0;
	for (RecordIterator it(buffer, TimestampUnit::nanoseconds, &status); it != std::default_sentinel;
	     ++it, ++i) {
		ASSERT_LT(i, want.size());
		const PacketView p = *it;
		EXPECT_TRUE(std::ranges::equal(p.bytes(), want[i].bytes)) << "record " << i;
		EXPECT_EQ(p.wire_length(), want[i].wire) << "record " << i;
		EXPECT_EQ(p.timestamp(), want[i].stamp) << "record " << i;
	}
	EXPECT_EQ(i, want.size());
	EXPECT_FALSE(status.error) << "the compacted buffer is intact";
	EXPECT_TRUE(scan_records(buffer).ok());
}

} // namespace

TEST(UserlandFilter, KeepsExactlyWhatTheProgramAcceptsCutToItsReturn)
{
	test::BufferBuilder buf;
	// Mixed sizes, header lengths (the Ethernet 26, and 32), frames the
	// kernel already cut, first bytes 0..11 so every branch is taken.
	for (unsigned i = 0; i < 12; ++i) {
		const auto caplen = static_cast<std::uint32_t>(20 + 37 * i);
		const std::uint32_t datalen = i % 4 == 3 ? caplen + 100 : caplen;
		const auto hdrlen = static_cast<std::uint16_t>(i % 2 ? 26 : 32);
		buf.add({static_cast<std::int64_t>(i), 7, caplen, datalen, hdrlen, std::byte(i)},
			/*pad=*/i != 11); // the last record of a read is not padded
	}
	const std::vector<std::byte> before(buf.bytes().begin(), buf.bytes().end());
	const auto want = oracle(odd_first_byte, before);
	ASSERT_EQ(want.size(), 6u);
	ASSERT_EQ(want[0].bytes.size(), 57u / 2) << "len/2 branch";
	ASSERT_EQ(want[1].bytes.size(), 10u) << "ret #10 branch";

	auto filter = make(odd_first_byte);
	ParseStatus status;
	const std::size_t n = filter.filter_in_place({buf.data(), buf.size()}, status);
	EXPECT_FALSE(status.error);
	EXPECT_LT(n, buf.size());
	expect_records({buf.data(), n}, want);
	EXPECT_EQ(filter.accepted(), 6u);

	// The count carries across buffers.
	test::BufferBuilder again;
	again.add({0, 0, 40, 40, 26, std::byte{1}});
	EXPECT_GT(filter.filter_in_place({again.data(), again.size()}, status), 0u);
	EXPECT_EQ(filter.accepted(), 7u);
}

TEST(UserlandFilter, RejectingEverythingLeavesAnEmptyBuffer)
{
	test::BufferBuilder buf;
	for (unsigned i = 0; i < 5; ++i)
		buf.add({1, 0, 60, 60, 26, std::byte(2 * i)}); // even first bytes
	auto filter = make(odd_first_byte);
	ParseStatus status;
	EXPECT_EQ(filter.filter_in_place({buf.data(), buf.size()}, status), 0u);
	EXPECT_FALSE(status.error);
	EXPECT_EQ(filter.accepted(), 0u);
}

TEST(UserlandFilter, AcceptingEverythingWholeChangesNothing)
{
	test::BufferBuilder buf;
	for (unsigned i = 0; i < 5; ++i)
		buf.add({1, 0, 60 + i, 60 + i, 26, std::byte(i)}, i != 4);
	const std::vector<std::byte> before(buf.bytes().begin(), buf.bytes().end());
	// Scratch read before write, returning more than any frame.
	auto filter = make({BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 65535),
			    BPF_STMT(BPF_RET | BPF_A, 0)});
	ParseStatus status;
	ASSERT_EQ(filter.filter_in_place({buf.data(), buf.size()}, status), before.size());
	EXPECT_TRUE(std::ranges::equal(buf.bytes(), before));
}

// A corrupt record ends the walk as it ends Batch's: the records before it
// are filtered and kept, the error names its offset in the kernel's buffer.
TEST(UserlandFilter, CorruptRecordStopsTheWalkAndIsReported)
{
	test::BufferBuilder buf;
	buf.add({1, 0, 60, 60, 26, std::byte{0}}); // rejected
	buf.add({2, 0, 60, 60, 26, std::byte{1}}); // kept
	const std::size_t bad = buf.add({3, 0, 60, 60, 26, std::byte{3}});
	buf.add({4, 0, 60, 60, 26, std::byte{5}});
	buf.poke<std::uint32_t>(bad + offsetof(struct bpf_xhdr, bh_caplen), 61); // > datalen
	const std::vector<std::byte> before(buf.bytes().begin(), buf.bytes().end());
	auto want = oracle(odd_first_byte, std::span(before).first(bad));
	ASSERT_EQ(want.size(), 1u);

	auto filter = make(odd_first_byte);
	ParseStatus status;
	const std::size_t n = filter.filter_in_place({buf.data(), buf.size()}, status);
	EXPECT_EQ(status.error, errc::caplen_exceeds_wirelen);
	EXPECT_EQ(status.error_offset, bad);
	EXPECT_EQ(status.buffer_size, before.size());
	expect_records({buf.data(), n}, want);
}

TEST(UserlandFilter, MisalignedBufferIsReportedAndYieldsNothing)
{
	test::BufferBuilder buf;
	buf.add_frame(60);
	buf.add_frame(60);
	auto filter = make(odd_first_byte);
	ParseStatus status;
	EXPECT_EQ(filter.filter_in_place({buf.data() + 1, buf.size() - 1}, status), 0u);
	EXPECT_EQ(status.error, errc::misaligned_buffer);
}
