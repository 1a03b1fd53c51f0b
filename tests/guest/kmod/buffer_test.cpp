// Buffers: FreeBSD catchpacket's store/hold/free rotation, drops, truncation.
#include "testnet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

bpf_stat stats(int fd)
{
	bpf_stat st{};
	EXPECT_EQ(ioctl(fd, BIOCGSTATS, &st), 0);
	return st;
}

bpf_stat64 stats64(int fd)
{
	bpf_stat64 st{};
	EXPECT_EQ(ioctl(fd, BIOCGSTATS64, &st), 0);
	return st;
}

uint32_t seq_of(const Bytes &f)
{
	uint32_t s;
	std::memcpy(&s, f.data() + 14, 4);
	return ntohl(s);
}

void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

} // namespace

TEST(Buffer, StalledReaderLosesExactlyWhatDoesNotFitAndDropCountsIt)
{
	Veth v("bb0", "bb1");
	Fd bpf = open_bpf(v.a(), 4096, false);
	// 200-byte frames: records of 26 + 200, aligned to 232; 17 fit in 4096.
	const unsigned per_buffer = 17, offered = 50;
	PacketSocket b(v.b());
	for (unsigned i = 0; i < offered; i++)
		b.send(frame(kTestType, 200, i));
	settle(300ms);
	bpf_stat st = stats(bpf.get());
	EXPECT_EQ(st.bs_recv, offered);
	EXPECT_EQ(st.bs_drop, offered - 2 * per_buffer);
	// The 64-bit counters agree, and every frame passed the (absent) filter.
	bpf_stat64 st64 = stats64(bpf.get());
	EXPECT_EQ(st64.bs_recv, offered);
	EXPECT_EQ(st64.bs_drop, offered - 2 * per_buffer);
	EXPECT_EQ(st64.bs_capt, offered);

	set_nonblock(bpf.get());
	Bytes buf(4096);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	auto hold = parse(std::span(buf.data(), size_t(n)));
	ASSERT_EQ(hold.size(), per_buffer) << "hold buffer is returned whole";
	n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	auto store = parse(std::span(buf.data(), size_t(n)));
	ASSERT_EQ(store.size(), per_buffer);
	for (unsigned i = 0; i < per_buffer; i++) {
		EXPECT_EQ(seq_of(hold[i].data), i);
		EXPECT_EQ(seq_of(store[i].data), per_buffer + i);
	}
	EXPECT_EQ(read(bpf.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, EAGAIN);
}

TEST(Buffer, ReadingKeepsUpAndNothingIsDropped)
{
	Veth v("bb0", "bb1");
	Fd bpf = open_bpf(v.a(), 4096, true);
	PacketSocket b(v.b());
	std::vector<Record> got;
	for (unsigned i = 0; i < 60; i++) {
		b.send(frame(kTestType, 300, i));
		if (i % 5 == 4) {
			auto r = read_all(bpf.get(), 100ms);
			got.insert(got.end(), r.begin(), r.end());
		}
	}
	auto r = read_all(bpf.get());
	got.insert(got.end(), r.begin(), r.end());
	ASSERT_EQ(got.size(), 60u);
	for (unsigned i = 0; i < got.size(); i++)
		EXPECT_EQ(seq_of(got[i].data), i);
	EXPECT_EQ(stats(bpf.get()).bs_drop, 0u);
}

TEST(Buffer, RecordLargerThanTheBufferIsTruncatedNotSplit)
{
	Veth v("bb0", "bb1");
	Fd bpf = open_bpf(v.a(), 1024, true);
	PacketSocket b(v.b());
	Bytes big = frame(kTestType, 1514, 1);
	b.send(big);
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].caplen, 1024u - 26u);
	EXPECT_EQ(recs[0].datalen, 1514u);
	EXPECT_TRUE(std::equal(recs[0].data.begin(), recs[0].data.end(), big.begin()));
}

TEST(Buffer, SetBufferSizeIsClampedAndWrittenBack)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(fd);
	unsigned size = 1;
	ASSERT_EQ(ioctl(fd.get(), BIOCSBLEN, &size), 0);
	EXPECT_EQ(size, unsigned(BPF_MINBUFSIZE));
	EXPECT_EQ(blen(fd.get()), unsigned(BPF_MINBUFSIZE));
	size = 1u << 30;
	ASSERT_EQ(ioctl(fd.get(), BIOCSBLEN, &size), 0);
	EXPECT_EQ(size, 16u << 20) << "default max_bufsize is 16 MiB";
	size = 100000;
	ASSERT_EQ(ioctl(fd.get(), BIOCSBLEN, &size), 0);
	EXPECT_EQ(size, 100000u);
	EXPECT_EQ(blen(fd.get()), 100000u);
}

TEST(Buffer, FlushDiscardsRecordsAndZeroesCounters)
{
	Veth v("bb0", "bb1");
	Fd bpf = open_bpf(v.a(), 4096, false);
	PacketSocket b(v.b());
	for (unsigned i = 0; i < 40; i++)
		b.send(frame(kTestType, 200, i));
	settle(300ms);
	EXPECT_EQ(stats(bpf.get()).bs_recv, 40u);
	int pending = 0;
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &pending), 0);
	EXPECT_EQ(pending, 2 * (17 * 232 - 6));
	ASSERT_EQ(ioctl(bpf.get(), BIOCFLUSH), 0);
	bpf_stat st = stats(bpf.get());
	EXPECT_EQ(st.bs_recv, 0u);
	EXPECT_EQ(st.bs_drop, 0u);
	EXPECT_EQ(stats64(bpf.get()).bs_capt, 0u);
	ASSERT_EQ(ioctl(bpf.get(), FIONREAD, &pending), 0);
	EXPECT_EQ(pending, 0);
	set_nonblock(bpf.get());
	Bytes buf(4096);
	EXPECT_EQ(read(bpf.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, EAGAIN);
}

TEST(Buffer, StatsCountOfferedFramesIncludingRejectedOnes)
{
	Veth v("bb0", "bb1");
	Fd bpf = open_bpf(v.a());
	bpf_insn reject[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	bpf_program prog{1, reject};
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETF, &prog), 0);
	PacketSocket b(v.b());
	for (unsigned i = 0; i < 12; i++)
		b.send(frame(kTestType, 100, i));
	settle(300ms);
	bpf_stat st = stats(bpf.get());
	EXPECT_EQ(st.bs_recv, 12u);
	EXPECT_EQ(st.bs_drop, 0u) << "rejected frames are not drops";
	bpf_stat64 st64 = stats64(bpf.get());
	EXPECT_EQ(st64.bs_recv, 12u);
	EXPECT_EQ(st64.bs_capt, 0u) << "the filter accepted none";
	EXPECT_TRUE(read_all(bpf.get(), 100ms).empty());
}
