// The DPDK backend over net_pcap (rx_pcap=FILE): frames larger than one
// mbuf (chained segments, linearised), the file's timestamps, snap length.
#include <set>

#include "helpers.hpp"

using namespace dpdktest;
using namespace std::chrono;
using tap::Device;
using tap::Options;

TEST(Pcap, ChainedMbufsArriveWholeAndFilterSeesEveryByte)
{
	TempDir dir;
	std::vector<Bytes> frames;
	for (std::size_t size : {60, 1514, 2048, 3000, 9000, 9018, 128})
		frames.push_back(frame(static_cast<std::uint32_t>(frames.size()), size));
	frames[4][5000] = std::byte{0xab};
	const std::string file = dir.path + "/jumbo.pcap";
	write_pcap(file, frames);

	Device dev = open_or_die("dpdk:net_pcap0,rx_pcap=" + file);
	auto got = read_n(dev, frames.size());
	ASSERT_EQ(got.size(), frames.size());
	for (std::size_t i = 0; i < frames.size(); ++i) {
		EXPECT_TRUE(std::ranges::equal(got[i].bytes(), frames[i])) << "frame " << i;
		EXPECT_EQ(got[i].wire_length(), frames[i].size());
		// net_pcap gives the file's microsecond stamps.
		EXPECT_EQ(got[i].timestamp().time_since_epoch(),
			  seconds(1700000000) + microseconds(i * 1000 + 7)) << i;
	}
}

TEST(Pcap, FilterReadsPastTheFirstSegment)
{
	TempDir dir;
	std::vector<Bytes> frames;
	for (std::uint32_t i = 0; i < 6; ++i)
		frames.push_back(frame(i, 6000));
	frames[2][5000] = std::byte{0xab};
	frames[5][5000] = std::byte{0xab};
	const std::string file = dir.path + "/f.pcap";
	write_pcap(file, frames);
	Options o;
	o.filter = "ether[5000] = 0xab";
	o.snap_length = 100;
	Device dev = open_or_die("dpdk:net_pcap1,rx_pcap=" + file, o);
	auto got = read_n(dev, 2);
	ASSERT_EQ(got.size(), 2u);
	EXPECT_EQ(id_of(got[0].bytes()), 2u);
	EXPECT_EQ(id_of(got[1].bytes()), 5u);
	EXPECT_EQ(got[0].captured_length(), 100u);
	EXPECT_EQ(got[0].wire_length(), 6000u);
	EXPECT_TRUE(std::equal(got[1].bytes().begin(), got[1].bytes().end(), frames[5].begin()));
	EXPECT_TRUE(dev.read(milliseconds(50))->empty());
	auto st = dev.stats();
	ASSERT_TRUE(st);
	EXPECT_EQ(st->received, 6u);
	EXPECT_EQ(st->accepted, 2u);
	EXPECT_EQ(st->dropped, 0u);
}

// Views point into mbufs until the next read; the batch before stays
// intact while it is walked, however many packets it has.
TEST(Pcap, BatchesAreZeroCopyAndBounded)
{
	TempDir dir;
	std::vector<Bytes> frames;
	for (std::uint32_t i = 0; i < 5000; ++i)
		frames.push_back(frame(i, 64 + i % 64));
	const std::string file = dir.path + "/many.pcap";
	write_pcap(file, frames);
	Options o;
	o.buffer_size = 256 * 1024; // 128 descriptors: batches of at most 64
	Device dev = open_or_die("dpdk:net_pcap2,rx_pcap=" + file, o);
	std::size_t seen = 0, largest = 0;
	while (seen < frames.size()) {
		auto b = dev.read(seconds(2));
		ASSERT_TRUE(b);
		ASSERT_FALSE(b->empty());
		largest = std::max(largest, b->count());
		EXPECT_TRUE(b->buffer().empty()); // no capture buffer: views
		for (auto p : *b) {
			ASSERT_TRUE(std::ranges::equal(p.bytes(), frames[seen])) << seen;
			++seen;
		}
	}
	EXPECT_LE(largest, 64u);
	EXPECT_GT(largest, 1u);
}

// net_null never runs dry: with a filter that rejects all of it, read()
// must still end at its timeout and try_read() must still return (both
// once looped for as long as full bursts kept coming).
TEST(Null, EndlessRejectedStreamStillEndsReads)
{
	Options o;
	o.filter = "tcp port 80"; // net_null's frames are all zero
	Device dev = open_or_die("dpdk:net_null0", o);
	auto t = dev.try_read();
	ASSERT_TRUE(t);
	EXPECT_TRUE(t->empty());
	auto r = dev.read(milliseconds(20));
	ASSERT_TRUE(r);
	EXPECT_TRUE(r->empty());
	dev.interrupt();
	auto i = dev.read();
	ASSERT_FALSE(i);
	EXPECT_EQ(i.error().code, std::errc::interrupted);
	auto st = dev.stats();
	ASSERT_TRUE(st);
	EXPECT_GT(st->received, 0u);
	EXPECT_EQ(st->accepted, 0u);
}
