// OpenBSD's wait timeout (BIOCSWTIMEOUT/BIOCGWTIMEOUT/BIOCDWTIMEOUT): a
// store buffer becomes readable a while after its first record.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace testnet;

namespace {

int err_of(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) == 0 ? 0 : errno;
}

bool readable(int fd, int ms)
{
	pollfd p{fd, POLLIN, 0};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

int stored(int fd)
{
	int n = -1;
	EXPECT_EQ(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

} // namespace

TEST(WaitTimeout, SetGetDeleteAndOpenBsdsErrnos)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	timeval tv{};
	EXPECT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &tv), ENXIO) << "none by default";
	tv = {0, 250000};
	ASSERT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &tv), 0);
	timeval got{9, 9};
	ASSERT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &got), 0);
	EXPECT_EQ(got.tv_sec, 0);
	EXPECT_EQ(got.tv_usec, 250000);
	tv = {300, 0};
	EXPECT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &tv), 0) << "the largest";
	for (timeval bad : {timeval{300, 1}, timeval{301, 0}, timeval{-1, 0}, timeval{0, -1},
			    timeval{0, 1000000}})
		EXPECT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &bad), EINVAL)
			<< bad.tv_sec << "." << bad.tv_usec;
	ASSERT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &got), 0);
	EXPECT_EQ(got.tv_sec, 300) << "a refused value changes nothing";
	EXPECT_EQ(ioctl(fd.get(), BIOCDWTIMEOUT), 0);
	EXPECT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &got), ENXIO);
	void *bad = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, bad), EFAULT);
	tv = {1, 0};
	ASSERT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &tv), 0);
	EXPECT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, bad), EFAULT);
	munmap(bad, 4096);
}

TEST(WaitTimeout, IsOneSettingWithImmediateMode)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	unsigned on = 1;
	ASSERT_EQ(ioctl(fd.get(), BIOCIMMEDIATE, &on), 0);
	timeval got{9, 9};
	ASSERT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &got), 0);
	EXPECT_EQ(got.tv_sec, 0);
	EXPECT_EQ(got.tv_usec, 0) << "immediate is a wait timeout of 0";
	on = 0;
	ASSERT_EQ(ioctl(fd.get(), BIOCIMMEDIATE, &on), 0);
	EXPECT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &got), ENXIO);
	timeval tv{1, 0};
	ASSERT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &tv), 0);
	ASSERT_EQ(ioctl(fd.get(), BIOCIMMEDIATE, &on), 0);
	EXPECT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &got), ENXIO) << "BIOCIMMEDIATE 0: none, as OpenBSD";
}

TEST(WaitTimeout, ZeroIsImmediateMode)
{
	Veth v("bt0", "bt1");
	Fd fd = open_bpf(v.a(), 65536, false);
	timeval tv{0, 0};
	ASSERT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &tv), 0);
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	EXPECT_TRUE(readable(fd.get(), 5000));
	EXPECT_FALSE(read_all(fd.get()).empty());
}

TEST(WaitTimeout, TheBufferBecomesReadableAfterTheFirstRecord)
{
	Veth v("bt0", "bt1");
	PacketSocket sender(v.b());
	Fd plain = open_bpf(v.a(), 65536, false), waiting = open_bpf(v.a(), 65536, false);
	timeval tv{1, 500000};
	ASSERT_EQ(err_of(waiting.get(), BIOCSWTIMEOUT, &tv), 0);
	sender.send(frame(kTestType, 100, 1));
	for (int i = 0; i < 100 && stored(waiting.get()) <= 0; i++)
		settle(std::chrono::milliseconds(10));
	ASSERT_GT(stored(waiting.get()), 0) << "the record is stored";
	EXPECT_FALSE(readable(waiting.get(), 0)) << "not yet: the timeout counts from the record";
	EXPECT_TRUE(readable(waiting.get(), 10000)) << "then readable, with no read timeout";
	Bytes buf(blen(waiting.get()));
	ssize_t n = read(waiting.get(), buf.data(), buf.size());	// blocking, returns at once
	ASSERT_GT(n, 0);
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 1u);
	EXPECT_FALSE(readable(plain.get(), 500)) << "without it, a part-filled buffer waits";

	// The next buffer waits again from its own first record.
	sender.send(frame(kTestType, 100, 2));
	for (int i = 0; i < 100 && stored(waiting.get()) <= 0; i++)
		settle(std::chrono::milliseconds(10));
	ASSERT_GT(stored(waiting.get()), 0);
	EXPECT_FALSE(readable(waiting.get(), 0));
	EXPECT_TRUE(readable(waiting.get(), 10000));
}

TEST(WaitTimeout, IsAllowedAfterLockAsOnOpenBsd)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_EQ(ioctl(fd.get(), BIOCLOCK), 0);
	timeval tv{0, 100000};
	EXPECT_EQ(err_of(fd.get(), BIOCSWTIMEOUT, &tv), 0);
	EXPECT_EQ(err_of(fd.get(), BIOCGWTIMEOUT, &tv), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCDWTIMEOUT), 0);
}
