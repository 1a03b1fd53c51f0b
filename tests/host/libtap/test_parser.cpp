// Batch parsing over synthetic and corrupt capture buffers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <tap/batch.hpp>

#include "buffer_builder.hpp"

using namespace tap;
using tap::test::BufferBuilder;
using tap::test::RecordSpec;

namespace {

std::uint16_t hdr = record_header_size;

std::error_code parse_error(std::span<const std::byte> bytes)
{
	auto b = Batch::parse(bytes, TimestampUnit::nanoseconds);
	return b ? std::error_code{} : b.error().code;
}

} // namespace

TEST(Parser, EmptyBufferIsAnEmptyBatch)
{
	auto b = Batch::parse({}, TimestampUnit::nanoseconds);
	ASSERT_TRUE(b);
	EXPECT_TRUE(b->empty());
	EXPECT_EQ(b->begin(), b->end());
}

TEST(Parser, OneRecordGivesBytesLengthsAndNanosecondStamp)
{
	BufferBuilder buf;
	buf.add({1700000000, 123456789, 60, 1514, hdr, std::byte{0x10}});
	auto b = Batch::parse(buf.bytes(), TimestampUnit::nanoseconds);
	ASSERT_TRUE(b) << b.error().message();
	ASSERT_EQ(b->count(), 1u);
	const PacketView p = *b->begin();
	EXPECT_EQ(p.captured_length(), 60u);
	EXPECT_EQ(p.wire_length(), 1514u);
	EXPECT_TRUE(p.truncated());
	EXPECT_EQ(p.bytes()[0], std::byte{0x10});
	EXPECT_EQ(p.bytes()[59], std::byte{0x10 + 59});
	EXPECT_EQ(p.bytes().data(), buf.bytes().data() + hdr); // zero-copy
	EXPECT_EQ(p.timestamp().time_since_epoch().count(), 1700000000'123456789LL);
}

TEST(Parser, MicrosecondStampsAreScaledToNanoseconds)
{
	BufferBuilder buf;
	buf.add({5, 250000, 14, 14});
	auto b = Batch::parse(buf.bytes(), TimestampUnit::microseconds);
	ASSERT_TRUE(b);
	EXPECT_EQ((*b->begin()).timestamp().time_since_epoch().count(), 5'250000000LL);
}

TEST(Parser, ManyRecordsOfMixedSizesIterateInOrder)
{
	BufferBuilder buf;
	for (std::uint32_t n = 0; n < 100; ++n)
		buf.add({n, n, n, n + 3, hdr, std::byte(n)});
	auto b = Batch::parse(buf.bytes(), TimestampUnit::nanoseconds);
	ASSERT_TRUE(b);
	ASSERT_EQ(b->count(), 100u);
	std::uint32_t n = 0;
	for (const PacketView p : *b) {
		ASSERT_EQ(p.captured_length(), n);
		ASSERT_EQ(p.wire_length(), n + 3);
		if (n) {
			ASSERT_EQ(p.bytes()[0], std::byte(n));
		}
		++n;
	}
	EXPECT_EQ(n, 100u);
}

TEST(Parser, LastRecordWithoutPaddingIsAccepted)
{
	BufferBuilder buf;
	buf.add_frame(60);
	buf.add({2, 0, 61, 61}, /*pad=*/false);
	ASSERT_NE(buf.size() % record_alignment, 0u);
	auto b = Batch::parse(buf.bytes(), TimestampUnit::nanoseconds);
	ASSERT_TRUE(b);
	EXPECT_EQ(b->count(), 2u);
	std::size_t seen = 0;
	for (auto p : *b)
		seen += p.captured_length();
	EXPECT_EQ(seen, 121u);
	// Stepping off an unpadded last record lands past the end: still "end",
	// and equal to any other iterator at the end.
	auto a = b->begin(), c = b->begin();
	std::advance(a, 2);
	std::advance(c, 1);
	EXPECT_TRUE(a == std::default_sentinel);
	EXPECT_FALSE(c == std::default_sentinel);
	EXPECT_NE(a, c);
	++c;
	EXPECT_EQ(a, c);
	EXPECT_EQ(std::distance(b->begin(), RecordIterator(a)), 2);
}

TEST(Parser, LargerHeaderLengthMovesTheFrame)
{
	BufferBuilder buf;
	buf.add({0, 0, 10, 10, 32, std::byte{7}});
	auto b = Batch::parse(buf.bytes(), TimestampUnit::nanoseconds);
	ASSERT_TRUE(b);
	EXPECT_EQ((*b->begin()).bytes().data(), buf.bytes().data() + 32);
}

TEST(Parser, BufferEndingInsideAHeaderIsTruncatedHeader)
{
	BufferBuilder buf;
	buf.add_frame(60);
	const auto second = buf.size();
	buf.resize(second + record_header_size - 1);
	auto b = Batch::parse(buf.bytes(), TimestampUnit::nanoseconds);
	ASSERT_FALSE(b);
	EXPECT_EQ(b.error().code, errc::truncated_header);
	EXPECT_NE(b.error().context.find("offset " + std::to_string(second)), std::string::npos)
		<< b.error().context;
}

TEST(Parser, ZeroHeaderLengthIsAnError)
{
	BufferBuilder buf;
	const auto off = buf.add_frame(60);
	buf.poke<std::uint16_t>(off + offsetof(struct bpf_xhdr, bh_hdrlen), 0);
	EXPECT_EQ(parse_error(buf.bytes()), errc::header_too_short);
}

TEST(Parser, HeaderLengthBelowHeaderSizeIsAnError)
{
	BufferBuilder buf;
	const auto off = buf.add_frame(60);
	buf.poke<std::uint16_t>(off + offsetof(struct bpf_xhdr, bh_hdrlen), record_header_size - 1);
	EXPECT_EQ(parse_error(buf.bytes()), errc::header_too_short);
}

TEST(Parser, HeaderLengthPastTheEndIsAnError)
{
	BufferBuilder buf;
	const auto off = buf.add_frame(8);
	buf.poke<std::uint16_t>(off + offsetof(struct bpf_xhdr, bh_hdrlen), 0xffff);
	EXPECT_EQ(parse_error(buf.bytes()), errc::record_past_end);
}

TEST(Parser, CaptureLengthPastTheEndIsAnError)
{
	BufferBuilder buf;
	buf.add_frame(60);
	const auto off = buf.add_frame(60);
	buf.poke<std::uint32_t>(off + offsetof(struct bpf_xhdr, bh_caplen), 61);
	buf.poke<std::uint32_t>(off + offsetof(struct bpf_xhdr, bh_datalen), 1000);
	buf.resize(off + record_header_size + 60); // no padding to absorb it
	EXPECT_EQ(parse_error(buf.bytes()), errc::record_past_end);
}

TEST(Parser, HugeCaptureLengthDoesNotWrapAround)
{
	BufferBuilder buf;
	const auto off = buf.add_frame(60);
	buf.poke<std::uint32_t>(off + offsetof(struct bpf_xhdr, bh_caplen), 0xffffffffu);
	buf.poke<std::uint32_t>(off + offsetof(struct bpf_xhdr, bh_datalen), 0xffffffffu);
	EXPECT_EQ(parse_error(buf.bytes()), errc::record_past_end);
}

TEST(Parser, CaptureLengthAboveWireLengthIsAnError)
{
	BufferBuilder buf;
	buf.add({0, 0, 60, 59});
	EXPECT_EQ(parse_error(buf.bytes()), errc::caplen_exceeds_wirelen);
}

TEST(Parser, MisalignedBufferIsAnError)
{
	BufferBuilder buf;
	buf.add_frame(60);
	buf.add_frame(60);
	auto bytes = buf.bytes();
	EXPECT_EQ(parse_error(bytes.subspan(1)), errc::misaligned_buffer);
	EXPECT_EQ(parse_error(bytes.subspan(4)), errc::misaligned_buffer);
}

TEST(Parser, GarbageAfterValidRecordsIsReportedWithTheGoodCount)
{
	BufferBuilder buf;
	buf.add_frame(60);
	buf.add_frame(60);
	const auto bad = buf.add_frame(60);
	buf.poke<std::uint16_t>(bad + offsetof(struct bpf_xhdr, bh_hdrlen), 3);
	const ScanResult scan = scan_records(buf.bytes());
	EXPECT_EQ(scan.error, errc::header_too_short);
	EXPECT_EQ(scan.packets, 2u);
	EXPECT_EQ(scan.error_offset, bad);
}

// Walked batches check each record as they reach it: the intact records
// before a corrupt one come out, then the walk stops and says why.
TEST(Parser, WalkYieldsTheIntactRecordsThenStopsWithTheError)
{
	BufferBuilder buf;
	buf.add_frame(60);
	buf.add_frame(61);
	const auto bad = buf.add_frame(60);
	buf.add_frame(60);
	buf.poke<std::uint32_t>(bad + offsetof(struct bpf_xhdr, bh_caplen), 1 << 20);
	ParseStatus status;
	const Batch b = Batch::walk(buf.bytes(), TimestampUnit::nanoseconds, status);
	EXPECT_FALSE(b.error()); // nothing met yet
	std::vector<std::uint32_t> lengths;
	for (const PacketView p : b)
		lengths.push_back(p.captured_length());
	EXPECT_EQ(lengths, (std::vector<std::uint32_t>{60, 61}));
	EXPECT_EQ(b.error(), errc::record_past_end);
	EXPECT_EQ(status.error_offset, bad);
	EXPECT_EQ(status.buffer_size, buf.size());
	EXPECT_NE(status.where().find("offset " + std::to_string(bad)), std::string::npos);
}

TEST(Parser, IncrementingAtTheEndStaysAtTheEnd)
{
	for (std::size_t frames : {0u, 1u, 3u}) {
		BufferBuilder buf;
		for (std::size_t i = 0; i < frames; ++i)
			buf.add_frame(60);
		RecordIterator it(buf.bytes(), TimestampUnit::nanoseconds);
		for (std::size_t i = 0; i < frames; ++i)
			++it;
		ASSERT_EQ(it, std::default_sentinel);
		++it;
		++it;
		EXPECT_EQ(it, std::default_sentinel);
	}
}

// A backend's ready views (DPDK): the same range, walked by index.
TEST(Parser, ViewsBatchYieldsEveryViewInOrderAndItsEndStaysTheEnd)
{
	const std::byte frame[64] = {};
	for (std::size_t n : {0u, 1u, 5u}) {
		std::vector<PacketView> views;
		for (std::size_t i = 0; i < n; ++i)
			views.emplace_back(std::span<const std::byte>(frame + i, 60 - i), std::uint32_t(1514 + i),
					   Timestamp(std::chrono::nanoseconds(1000 + i)));
		const Batch b = Batch::views(views);
		EXPECT_EQ(b.count(), n);
		EXPECT_EQ(b.empty(), n == 0);
		std::size_t i = 0;
		for (const PacketView p : b) {
			ASSERT_LT(i, n);
			EXPECT_EQ(p.bytes().data(), frame + i);
			EXPECT_EQ(p.captured_length(), 60 - i);
			EXPECT_EQ(p.wire_length(), 1514 + i);
			EXPECT_EQ(p.timestamp().time_since_epoch().count(), std::int64_t(1000 + i));
			++i;
		}
		EXPECT_EQ(i, n);
		auto it = b.begin();
		for (std::size_t k = 0; k < n; ++k)
			++it;
		ASSERT_EQ(it, b.end());
		++it;
		++it;
		EXPECT_EQ(it, b.end());
	}
}

TEST(Parser, WalkOfAMisalignedBufferYieldsNothingAndSaysSo)
{
	BufferBuilder buf;
	buf.add_frame(60);
	ParseStatus status;
	const Batch b = Batch::walk(buf.bytes().subspan(4), TimestampUnit::nanoseconds, status);
	EXPECT_EQ(b.count(), 0u);
	EXPECT_EQ(b.error(), errc::misaligned_buffer);
}

TEST(Parser, WalkOfAnIntactBufferHasNoError)
{
	BufferBuilder buf;
	for (std::uint32_t n = 0; n < 300; n += 7)
		buf.add_frame(n);
	ParseStatus status;
	const Batch b = Batch::walk(buf.bytes(), TimestampUnit::microseconds, status);
	EXPECT_EQ(b.count(), 43u);
	EXPECT_FALSE(b.error());
}

TEST(Parser, EveryTruncationOfAValidBufferIsCaughtOrComplete)
{
	BufferBuilder buf;
	for (std::uint32_t n : {0u, 1u, 14u, 60u, 61u, 200u})
		buf.add_frame(n);
	const auto all = buf.bytes();
	for (std::size_t len = 0; len <= all.size(); ++len) {
		const ScanResult scan = scan_records(all.first(len));
		// The walk agrees with the scan on every cut: same records, same error.
		ParseStatus status;
		const Batch walked = Batch::walk(all.first(len), TimestampUnit::nanoseconds, status);
		ASSERT_EQ(walked.count(), scan.packets) << "cut at " << len;
		ASSERT_EQ(status.error, scan.error) << "cut at " << len;
		if (scan.ok()) {
			// Only cuts at record ends (padded or not) can be whole.
			auto b = Batch::parse(all.first(len), TimestampUnit::nanoseconds);
			ASSERT_TRUE(b);
			std::size_t end = 0;
			for (auto p : *b)
				end = static_cast<std::size_t>(p.bytes().data() + p.captured_length() - all.data());
			ASSERT_LE(end, len);
		}
	}
}

TEST(Parser, CopyOutlivesTheBuffer)
{
	Packet copy;
	{
		BufferBuilder buf;
		buf.add({9, 9, 4, 4, hdr, std::byte{0x42}});
		auto b = Batch::parse(buf.bytes(), TimestampUnit::nanoseconds);
		ASSERT_TRUE(b);
		copy = (*b->begin()).copy();
	}
	ASSERT_EQ(copy.captured_length(), 4u);
	EXPECT_EQ(copy.bytes()[3], std::byte{0x45});
	EXPECT_EQ(copy.timestamp().time_since_epoch().count(), 9'000000009LL);
}
