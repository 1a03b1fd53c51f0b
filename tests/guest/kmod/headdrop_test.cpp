// macOS's head drop (BIOCSHEADDROP/BIOCGHEADDROP): when the reader is
// behind and both buffers are full, the oldest buffer is dropped instead of
// the newest packet, and its records count in bs_drop.
#include "stall.hpp"
#include "testnet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

uint32_t seq_of(const Record &r)
{
	uint32_t s;
	std::memcpy(&s, r.data.data() + 14, 4);
	return ntohl(s);
}

std::vector<uint32_t> seqs(const std::vector<Record> &recs)
{
	std::vector<uint32_t> out;
	for (const Record &r : recs)
		out.push_back(seq_of(r));
	return out;
}

std::vector<uint32_t> range(uint32_t from, uint32_t to)
{
	std::vector<uint32_t> out;
	for (uint32_t i = from; i < to; i++)
		out.push_back(i);
	return out;
}

// Reads what is buffered without waiting: the hold buffer, then the store.
std::vector<Record> read_buffered(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	std::vector<Record> out;
	Bytes buf(blen(fd));
	for (;;) {
		ssize_t n = read(fd, buf.data(), buf.size());
		if (n <= 0)
			break;
		auto r = parse(std::span(buf.data(), size_t(n)));
		out.insert(out.end(), r.begin(), r.end());
	}
	return out;
}

bpf_stat stats(int fd)
{
	bpf_stat st{};
	EXPECT_EQ(ioctl(fd, BIOCGSTATS, &st), 0);
	return st;
}

// 200-byte frames make records of 232 bytes: 17 fit in a 4096-byte buffer.
constexpr unsigned kPerBuffer = 17;

} // namespace

TEST(HeadDrop, IsOffByDefaultAndReadsBackAsZeroOrOne)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(fd);
	unsigned v = 7;
	ASSERT_EQ(ioctl(fd.get(), BIOCGHEADDROP, &v), 0);
	EXPECT_EQ(v, 0u);
	int on = 5;
	ASSERT_EQ(ioctl(fd.get(), BIOCSHEADDROP, &on), 0);
	ASSERT_EQ(ioctl(fd.get(), BIOCGHEADDROP, &v), 0);
	EXPECT_EQ(v, 1u);
	void *bad = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSHEADDROP, bad), -1);
	EXPECT_EQ(errno, EFAULT);
	EXPECT_EQ(ioctl(fd.get(), BIOCGHEADDROP, bad), -1);
	EXPECT_EQ(errno, EFAULT);
	munmap(bad, 4096);
	// After BIOCLOCK the setting can be read, not changed.
	ASSERT_EQ(ioctl(fd.get(), BIOCLOCK), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCGHEADDROP, &v), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSHEADDROP, &on), -1);
	EXPECT_EQ(errno, EPERM);
}

TEST(HeadDrop, StalledReaderGetsTheNewestFramesAndTheOldestAreCounted)
{
	Veth v("bh0", "bh1");
	Fd tail = open_bpf(v.a(), 4096, false), head = open_bpf(v.a(), 4096, false);
	int on = 1;
	ASSERT_EQ(ioctl(head.get(), BIOCSHEADDROP, &on), 0);
	constexpr unsigned kSent = 60;
	PacketSocket b(v.b());
	for (uint32_t i = 0; i < kSent; i++)
		b.send(frame(kTestType, 200, i));
	settle(300ms);
	// Default: the newest frames are dropped once both buffers are full.
	EXPECT_EQ(seqs(read_buffered(tail.get())), range(0, 2 * kPerBuffer));
	EXPECT_EQ(stats(tail.get()).bs_drop, kSent - 2 * kPerBuffer);
	// Head drop: each time both are full the hold buffer (17 records) goes.
	// 0..16 and 17..33 go; 34..50 are held, 51..59 stored.
	EXPECT_EQ(seqs(read_buffered(head.get())), range(2 * kPerBuffer, kSent));
	bpf_stat st = stats(head.get());
	EXPECT_EQ(st.bs_recv, kSent);
	EXPECT_EQ(st.bs_drop, 2 * kPerBuffer);
}

// The hold buffer a read() is copying out cannot be dropped: then the
// newest packet is, as without head drop.
TEST(HeadDrop, HoldBufferBeingReadIsKeptAndTheNewPacketDropped)
{
	Veth v("bh0", "bh1");
	Fd bpf = open_bpf(v.a(), 4096, true);
	int on = 1;
	ASSERT_EQ(ioctl(bpf.get(), BIOCSHEADDROP, &on), 0);
	PacketSocket b(v.b());
	for (uint32_t i = 0; i < 5; i++)
		b.send(frame(kTestType, 200, i));
	settle(200ms);
	StalledBuffer to(4096);
	ssize_t got = 0;
	std::thread reader([&] { got = read(bpf.get(), to.data(), 4096); });
	ASSERT_TRUE(to.wait_fault(5s));
	for (uint32_t i = 5; i < 45; i++)
		b.send(frame(kTestType, 200, i));
	settle(300ms);
	to.release();
	reader.join();
	ASSERT_GT(got, 0);
	EXPECT_EQ(seqs(parse(std::span(to.data(), size_t(got)))), range(0, 5));
	EXPECT_EQ(seqs(read_buffered(bpf.get())), range(5, 5 + kPerBuffer));
	EXPECT_EQ(stats(bpf.get()).bs_drop, 45 - 5 - kPerBuffer);
}

TEST(HeadDrop, AllowsBuffersOfTwiceMaxBufsize)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(fd);
	int on = 1;
	ASSERT_EQ(ioctl(fd.get(), BIOCSHEADDROP, &on), 0);
	unsigned size = 1u << 30;
	ASSERT_EQ(ioctl(fd.get(), BIOCSBLEN, &size), 0);
	EXPECT_EQ(size, 32u << 20) << "twice the default max_bufsize of 16 MiB";
}
