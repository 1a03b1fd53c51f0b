// Device read/try_read/interrupt/write semantics, on the host: the kernel
// backend runs over a SOCK_SEQPACKET socketpair standing in for /dev/bpf
// (one datagram = one capture buffer, as a bpf read returns).
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <tap/device.hpp>

#include "bpf_backend.hpp"
#include "buffer_builder.hpp"

using namespace tap;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct FakeDevice {
	Device device;
	detail::UniqueFd kernel_side; // what the "kernel" writes and reads

	static FakeDevice make()
	{
		int sv[2];
		if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			throw std::runtime_error("socketpair");
		detail::DeviceInfo info{"fake:0", DLT_EN10MB, 262144, 64 * 1024,
					TimestampUnit::nanoseconds};
		auto backend = detail::BpfBackend::adopt(detail::UniqueFd(sv[0]), info);
		if (!backend)
			throw std::runtime_error(backend.error().message());
		return {Device(std::move(*backend)), detail::UniqueFd(sv[1])};
	}

	void deliver(std::span<const std::byte> buffer)
	{
		ASSERT_EQ(::write(kernel_side.get(), buffer.data(), buffer.size()),
			  static_cast<ssize_t>(buffer.size()));
	}
};

} // namespace

TEST(DeviceIo, ReadReturnsTheDeliveredBufferAsOneBatch)
{
	auto fake = FakeDevice::make();
	test::BufferBuilder buf;
	for (int i = 0; i < 10; ++i)
		buf.add_frame(64, i, 5);
	fake.deliver(buf.bytes());
	auto batch = fake.device.read(1s);
	ASSERT_TRUE(batch) << batch.error().message();
	EXPECT_EQ(batch->count(), 10u);
	int i = 0;
	for (auto p : *batch)
		EXPECT_EQ(p.timestamp().time_since_epoch().count(), i++ * 1'000'000'000LL + 5);
}

TEST(DeviceIo, TryReadOnAnEmptyDeviceReturnsAtOnce)
{
	auto fake = FakeDevice::make();
	const auto t0 = Clock::now();
	for (int i = 0; i < 100; ++i) {
		auto batch = fake.device.try_read();
		ASSERT_TRUE(batch);
		ASSERT_TRUE(batch->empty());
	}
	EXPECT_LT(Clock::now() - t0, 100ms);
}

TEST(DeviceIo, ReadTimesOutWithAnEmptyBatch)
{
	auto fake = FakeDevice::make();
	const auto t0 = Clock::now();
	auto batch = fake.device.read(50ms);
	const auto took = Clock::now() - t0;
	ASSERT_TRUE(batch);
	EXPECT_TRUE(batch->empty());
	EXPECT_GE(took, 50ms);
	EXPECT_LT(took, 1s);
}

TEST(DeviceIo, InterruptWakesABlockedReadEveryTime)
{
	auto fake = FakeDevice::make();
	for (int round = 0; round < 20; ++round) {
		std::atomic<bool> started = false;
		std::thread waker([&] {
			while (!started)
				std::this_thread::yield();
			std::this_thread::sleep_for(5ms);
			fake.device.interrupt();
		});
		started = true;
		const auto t0 = Clock::now();
		auto batch = fake.device.read(); // no timeout: only interrupt() ends it
		const auto took = Clock::now() - t0;
		waker.join();
		ASSERT_FALSE(batch) << "round " << round;
		EXPECT_EQ(batch.error().code, std::errc::interrupted);
		EXPECT_LT(took, 1s) << "round " << round;
	}
}

TEST(DeviceIo, InterruptBeforeReadMakesTheNextReadReturnAndIsConsumed)
{
	auto fake = FakeDevice::make();
	fake.device.interrupt();
	fake.device.interrupt(); // several pending interrupts count as one
	auto first = fake.device.read();
	ASSERT_FALSE(first);
	EXPECT_EQ(first.error().code, std::errc::interrupted);
	auto second = fake.device.read(20ms);
	ASSERT_TRUE(second);
	EXPECT_TRUE(second->empty());
}

// The intact records before a corrupt one are delivered; the walk stops
// there, the batch says why, and so does the next read, naming the device.
TEST(DeviceIo, CorruptRecordEndsTheBatchAndFailsTheNextRead)
{
	auto fake = FakeDevice::make();
	test::BufferBuilder buf;
	buf.add_frame(64);
	const auto bad = buf.add_frame(64);
	buf.add_frame(64);
	buf.poke<std::uint16_t>(bad + offsetof(struct bpf_xhdr, bh_hdrlen), 0);
	fake.deliver(buf.bytes());
	auto batch = fake.device.read(1s);
	ASSERT_TRUE(batch) << batch.error().message();
	EXPECT_FALSE(batch->error());
	EXPECT_EQ(batch->count(), 1u);
	EXPECT_EQ(batch->error(), errc::header_too_short);

	auto next = fake.device.read(1s);
	ASSERT_FALSE(next);
	EXPECT_EQ(next.error().code, errc::header_too_short);
	EXPECT_NE(next.error().context.find("fake:0"), std::string::npos);
	EXPECT_NE(next.error().context.find("offset " + std::to_string(bad)), std::string::npos);

	// Reported once; the device carries on.
	buf = {};
	buf.add_frame(60);
	fake.deliver(buf.bytes());
	auto after = fake.device.read(1s);
	ASSERT_TRUE(after) << after.error().message();
	EXPECT_EQ(after->count(), 1u);
	EXPECT_FALSE(after->error());
}

TEST(DeviceIo, PollableHandleBecomesReadableWithData)
{
	auto fake = FakeDevice::make();
	ASSERT_TRUE(fake.device.pollable_handle());
	test::BufferBuilder buf;
	buf.add_frame(60);
	fake.deliver(buf.bytes());
	pollfd pfd{*fake.device.pollable_handle(), POLLIN, 0};
	EXPECT_EQ(::poll(&pfd, 1, 1000), 1);
}

TEST(DeviceIo, WriteSendsOneFramePerCall)
{
	auto fake = FakeDevice::make();
	std::vector<std::byte> a(60, std::byte{1}), b(70, std::byte{2});
	ASSERT_TRUE(fake.device.write(a));
	std::span<const std::byte> frames[] = {a, b, a};
	auto sent = fake.device.write(frames);
	ASSERT_TRUE(sent);
	EXPECT_EQ(*sent, 3u);
	std::byte in[256];
	for (std::size_t expect : {60u, 60u, 70u, 60u})
		EXPECT_EQ(::read(fake.kernel_side.get(), in, sizeof in), static_cast<ssize_t>(expect));
}

TEST(DeviceIo, BatchedWriteReportsHowManyWentOutBeforeAFailure)
{
	auto fake = FakeDevice::make();
	std::vector<std::byte> ok(60), too_big(16 << 20); // beyond any socket buffer: EMSGSIZE
	std::span<const std::byte> frames[] = {ok, ok, too_big, ok};
	auto sent = fake.device.write(frames);
	ASSERT_TRUE(sent);
	EXPECT_EQ(*sent, 2u);
	auto rest = fake.device.write(std::span(frames).subspan(*sent));
	ASSERT_FALSE(rest);
	EXPECT_NE(rest.error().context.find("fake:0: write"), std::string::npos);
}

TEST(DeviceIo, MovedFromDeviceFailsCleanly)
{
	auto fake = FakeDevice::make();
	Device moved = std::move(fake.device);
	EXPECT_EQ(fake.device.try_read().error().code, std::errc::bad_file_descriptor);
	fake.device.interrupt(); // no-op, no crash
	EXPECT_FALSE(fake.device.pollable_handle());
	EXPECT_TRUE(moved.try_read());
	static_assert(!std::is_copy_constructible_v<Device>);
	static_assert(std::is_nothrow_move_constructible_v<Device>);
}

TEST(DeviceIo, StatsOnANonBpfDescriptorReportTheIoctl)
{
	auto fake = FakeDevice::make();
	auto st = fake.device.stats();
	ASSERT_FALSE(st);
	EXPECT_NE(st.error().context.find("BIOCGSTATS"), std::string::npos);
}

TEST(DeviceIo, TryReadLeavesAPendingInterruptForTheNextRead)
{
	auto fake = FakeDevice::make();
	fake.device.interrupt();
	auto now = fake.device.try_read();
	ASSERT_TRUE(now);
	EXPECT_TRUE(now->empty());
	auto next = fake.device.read(1s);
	ASSERT_FALSE(next);
	EXPECT_EQ(next.error().code, std::errc::interrupted);
}

TEST(DeviceIo, InterruptWinsOverReadyData)
{
	// Stopping must not wait for the traffic to pause; the data stays.
	auto fake = FakeDevice::make();
	test::BufferBuilder buf;
	buf.add_frame(60);
	fake.deliver(buf.bytes());
	fake.device.interrupt();
	auto first = fake.device.read();
	ASSERT_FALSE(first);
	EXPECT_EQ(first.error().code, std::errc::interrupted);
	auto second = fake.device.read(1s);
	ASSERT_TRUE(second);
	EXPECT_EQ(second->count(), 1u);
}

namespace {

FakeDevice make_batch_device()
{
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		throw std::runtime_error("socketpair");
	detail::DeviceInfo info{"fake:0", DLT_EN10MB, 262144, 64 * 1024, TimestampUnit::nanoseconds};
	auto backend = detail::BpfBackend::adopt(detail::UniqueFd(sv[0]), info,
						 detail::WriteMode::batch);
	if (!backend)
		throw std::runtime_error(backend.error().message());
	return {Device(std::move(*backend)), detail::UniqueFd(sv[1])};
}

} // namespace

TEST(DeviceIo, BatchModeWritesEveryFrameAsRecordsOfOneWrite)
{
	auto fake = make_batch_device();
	std::vector<std::byte> a(60, std::byte{1}), b(1021, std::byte{2}), c(0);
	std::span<const std::byte> frames[] = {a, b, c, a};
	auto sent = fake.device.write(frames);
	ASSERT_TRUE(sent);
	EXPECT_EQ(*sent, 4u);
	std::vector<std::byte> in(64 * 1024);
	const ssize_t n = ::read(fake.kernel_side.get(), in.data(), in.size());
	ASSERT_GT(n, 0) << "one write() carried them all";
	auto batch = Batch::parse(std::span(in.data(), static_cast<std::size_t>(n)),
				  TimestampUnit::microseconds);
	ASSERT_TRUE(batch) << batch.error().message();
	std::vector<std::vector<std::byte>> got;
	for (PacketView p : *batch) {
		EXPECT_EQ(p.wire_length(), p.bytes().size()) << "caplen == datalen, as xnu requires";
		got.emplace_back(p.bytes().begin(), p.bytes().end());
	}
	const std::vector<std::vector<std::byte>> expect = {a, b, c, a};
	EXPECT_EQ(got, expect);
	ASSERT_TRUE(fake.device.write(a)) << "a single frame is a batch of one";
	EXPECT_EQ(::read(fake.kernel_side.get(), in.data(), in.size()),
		  static_cast<ssize_t>(BPF_WORDALIGN(SIZEOF_BPF_HDR(struct bpf_hdr) + 60)));
}

TEST(DeviceIo, AShortBatchWriteCountsTheRecordsBeforeIt)
{
	std::vector<std::byte> a(60), b(61), c(100);
	std::span<const std::byte> frames[] = {a, b, c};
	const std::size_t ra = BPF_WORDALIGN(26 + 60), rb = BPF_WORDALIGN(26 + 61);
	EXPECT_EQ(detail::batch_frames_within(frames, 0), 0u);
	EXPECT_EQ(detail::batch_frames_within(frames, ra), 1u);
	EXPECT_EQ(detail::batch_frames_within(frames, ra + rb), 2u);
	EXPECT_EQ(detail::batch_frames_within(frames, ra + rb + 1), 2u);
	EXPECT_EQ(detail::batch_frames_within(frames, 1u << 20), 3u);
}
