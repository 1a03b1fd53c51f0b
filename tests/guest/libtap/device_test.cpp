// Guest tests of libtap's Device over the real bpfdev.ko: reading, waking,
// non-blocking reads, drops, filters, writes. Each test builds its own veth
// pair (one end in a namespace of its own is not needed: frames go to a MAC
// nobody owns, so nothing answers) and sends frames from AF_PACKET sockets.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include <net/bpf.h>
#include <tap/tap.hpp>

#include "guest_net.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::byte>;

namespace {

using guest::PacketSocket;
using guest::Veth;

// Frames to 02:00:00:00:00:99 from 02:00:00:00:00:aa, EtherType 0x88b5,
// first payload byte = index.
Bytes frame(unsigned index, std::size_t size = 60)
{
	Bytes f(size, std::byte{0x5a});
	const unsigned char head[] = {2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 0xaa, 0x88, 0xb5};
	for (std::size_t i = 0; i < sizeof head; ++i)
		f[i] = std::byte{head[i]};
	f[14] = static_cast<std::byte>(index);
	return f;
}

tap::Device open(const std::string &ifname, tap::Options o = {})
{
	auto d = tap::Device::open("bpf:" + ifname, o);
	if (!d)
		throw std::runtime_error(d.error().message());
	return std::move(*d);
}

// Read until n packets arrived or the deadline passed; copies them out.
std::vector<tap::Packet> collect(tap::Device &d, std::size_t n, std::chrono::milliseconds limit = 5s)
{
	std::vector<tap::Packet> got;
	const auto end = Clock::now() + limit;
	while (got.size() < n && Clock::now() < end) {
		auto b = d.read(100ms);
		if (!b)
			throw std::runtime_error(b.error().message());
		for (auto p : *b)
			got.push_back(p.copy());
	}
	return got;
}

bool same(std::span<const std::byte> a, const Bytes &b)
{
	return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

} // namespace

TEST(LibtapDevice, ReadReturnsSentFramesWithNanosecondTimestamps)
{
	Veth v("lta0", "lta1");
	tap::Options o;
	o.immediate = true;
	tap::Device d = open(v.b, o);
	EXPECT_EQ(d.timestamp_unit(), tap::TimestampUnit::nanoseconds);
	EXPECT_EQ(d.datalink(), DLT_EN10MB);
	PacketSocket tx(v.a);
	const auto before = std::chrono::system_clock::now();
	for (unsigned i = 0; i < 5; ++i)
		tx.send(frame(i, 60 + i));
	auto got = collect(d, 5);
	ASSERT_EQ(got.size(), 5u);
	for (unsigned i = 0; i < 5; ++i) {
		EXPECT_TRUE(same(got[i].bytes(), frame(i, 60 + i))) << i;
		EXPECT_EQ(got[i].wire_length(), 60 + i);
		EXPECT_GE(got[i].timestamp(), before - 1s);
		EXPECT_LE(got[i].timestamp(), std::chrono::system_clock::now() + 1s);
	}
}

TEST(LibtapDevice, InterruptWakesABlockedReadEveryTime)
{
	Veth v("ltb0", "ltb1");
	tap::Options o;
	o.read_timeout = 0ms; // the kernel alone would wait for a full buffer
	tap::Device d = open(v.b, o);
	for (int round = 0; round < 5; ++round) {
		std::atomic<bool> reading = false;
		std::thread waker([&] {
			while (!reading)
				std::this_thread::yield();
			std::this_thread::sleep_for(100ms);
			d.interrupt();
		});
		reading = true;
		const auto t0 = Clock::now();
		auto b = d.read();
		const auto took = Clock::now() - t0;
		waker.join();
		ASSERT_FALSE(b) << "round " << round;
		EXPECT_EQ(b.error().code, std::errc::interrupted);
		EXPECT_LT(took, 3s) << "round " << round;
	}
}

TEST(LibtapDevice, TryReadNeverBlocks)
{
	Veth v("ltc0", "ltc1");
	tap::Options o;
	o.read_timeout = 0ms;
	tap::Device d = open(v.b, o);
	const auto t0 = Clock::now();
	for (int i = 0; i < 50; ++i) {
		auto b = d.try_read();
		ASSERT_TRUE(b) << b.error().message();
		EXPECT_TRUE(b->empty());
	}
	EXPECT_LT(Clock::now() - t0, 2s); // TCG is slow; blocking would be forever
	// With a frame in the (not full, not immediate) store buffer, try_read
	// hands it over at once.
	PacketSocket(v.a).send(frame(7));
	std::this_thread::sleep_for(300ms);
	const auto t1 = Clock::now();
	auto b = d.try_read();
	EXPECT_LT(Clock::now() - t1, 1s);
	ASSERT_TRUE(b);
	ASSERT_EQ(b->count(), 1u);
	EXPECT_TRUE(same((*b->begin()).bytes(), frame(7)));
}

TEST(LibtapDevice, DropsAreReportedWhenTheReaderStalls)
{
	Veth v("ltd0g", "ltd1g");
	tap::Options o;
	o.buffer_size = 4096; // a few dozen records per buffer
	tap::Device d = open(v.b, o);
	PacketSocket tx(v.a);
	for (unsigned i = 0; i < 300; ++i)
		tx.send(frame(i, 100));
	std::this_thread::sleep_for(300ms);
	auto st = d.stats();
	ASSERT_TRUE(st) << st.error().message();
	EXPECT_GE(st->received, 300u);
	EXPECT_GT(st->dropped, 0u);
	EXPECT_EQ(st->accepted, st->received); // no filter: every frame accepted
	// What was kept is still readable, in order.
	auto got = collect(d, 300, 1s);
	EXPECT_GT(got.size(), 0u);
	EXPECT_EQ(got.size() + st->dropped, 300u);
}

TEST(LibtapDevice, FilterExpressionKeepsOnlyMatches)
{
	Veth v("lte0", "lte1");
	tap::Options o;
	o.immediate = true;
	o.filter = "ether[14] = 3 or ether[14] = 5";
	tap::Device d = open(v.b, o);
	PacketSocket tx(v.a);
	for (unsigned i = 0; i < 8; ++i)
		tx.send(frame(i));
	auto got = collect(d, 2);
	ASSERT_EQ(got.size(), 2u);
	EXPECT_TRUE(same(got[0].bytes(), frame(3)));
	EXPECT_TRUE(same(got[1].bytes(), frame(5)));
	EXPECT_TRUE(collect(d, 1, 300ms).empty());
}

TEST(LibtapDevice, SnapLengthCutsFramesButKeepsWireLength)
{
	Veth v("ltf0", "ltf1");
	tap::Options o;
	o.immediate = true;
	o.snap_length = 20;
	tap::Device d = open(v.b, o);
	PacketSocket(v.a).send(frame(1, 200));
	auto got = collect(d, 1);
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(got[0].captured_length(), 20u);
	EXPECT_EQ(got[0].wire_length(), 200u);
	EXPECT_EQ(d.snap_length(), 20u);

	// A new filter brings its own snap length, and snap_length() says so.
	auto wider = tap::Filter::compile("", d.datalink(), 64);
	ASSERT_TRUE(wider) << wider.error().message();
	ASSERT_TRUE(d.set_filter(*wider));
	EXPECT_EQ(d.snap_length(), 64u);
	PacketSocket(v.a).send(frame(2, 200));
	got = collect(d, 1);
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(got[0].captured_length(), 64u);
}

TEST(LibtapDevice, WriteAndBatchedWriteArriveOnThePeer)
{
	Veth v("ltg0", "ltg1");
	tap::Options o;
	o.immediate = true;
	o.header_complete = true;
	tap::Device rx = open(v.b, o);
	tap::Device tx = open(v.a, o);
	const Bytes one = frame(1, 64);
	ASSERT_TRUE(tx.write(one));
	const Bytes f2 = frame(2, 100), f3 = frame(3, 1514);
	std::span<const std::byte> batch[] = {f2, f3};
	auto sent = tx.write(batch);
	ASSERT_TRUE(sent) << sent.error().message();
	EXPECT_EQ(*sent, 2u);
	auto got = collect(rx, 3);
	ASSERT_EQ(got.size(), 3u);
	EXPECT_TRUE(same(got[0].bytes(), one));
	EXPECT_TRUE(same(got[1].bytes(), f2));
	EXPECT_TRUE(same(got[2].bytes(), f3));
}

TEST(LibtapDevice, BatchedWriteIsOneBatchAndCountsAPartialSend)
{
	Veth v("ltk0", "ltk1");
	tap::Options o;
	o.immediate = true;
	o.header_complete = true;
	tap::Device rx = open(v.b, o);
	tap::Device tx = open(v.a, o);
	int batch = 0;
	ASSERT_EQ(::ioctl(*tx.pollable_handle(), BIOCGBATCHWRITE, &batch), 0);
	EXPECT_EQ(batch, 1) << "header-complete devices write in batches";
	std::vector<Bytes> frames;
	for (int i = 0; i < 64; i++)
		frames.push_back(frame(static_cast<unsigned>(i), i == 40 ? 1515u : 60u + i));
	std::vector<std::span<const std::byte>> spans(frames.begin(), frames.end());
	auto sent = tx.write(spans);
	ASSERT_TRUE(sent) << sent.error().message();
	EXPECT_EQ(*sent, 40u) << "the oversized 41st frame ends the batch";
	auto rest = tx.write(std::span(spans).subspan(*sent));
	ASSERT_FALSE(rest);
	EXPECT_EQ(rest.error().code, std::errc::message_size) << rest.error().message();
	auto got = collect(rx, 41, 1s);
	ASSERT_EQ(got.size(), 40u);
	for (std::size_t i = 0; i < got.size(); i++)
		EXPECT_TRUE(same(got[i].bytes(), frames[i])) << i;
}

TEST(LibtapDevice, DirectionInIgnoresOwnTransmissions)
{
	Veth v("lth0", "lth1");
	tap::Options o;
	o.immediate = true;
	o.direction = tap::Direction::in;
	tap::Device d = open(v.a, o);
	PacketSocket(v.a).send(frame(1)); // out of v.a: not "in"
	PacketSocket(v.b).send(frame(2)); // into v.a
	auto got = collect(d, 2, 1s);
	ASSERT_EQ(got.size(), 1u);
	EXPECT_TRUE(same(got[0].bytes(), frame(2)));
}

TEST(LibtapDevice, MissingInterfaceNamesIt)
{
	auto d = tap::Device::open("bpf:nosuch7");
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, std::errc::no_such_device_or_address);
	EXPECT_NE(d.error().message().find("nosuch7"), std::string::npos) << d.error().message();
}

TEST(LibtapDevice, PollableHandleSignalsReadiness)
{
	Veth v("lti0g", "lti1g");
	tap::Options o;
	o.immediate = true;
	tap::Device d = open(v.b, o);
	ASSERT_TRUE(d.pollable_handle());
	pollfd pfd{*d.pollable_handle(), POLLIN, 0};
	EXPECT_EQ(::poll(&pfd, 1, 100), 0);
	PacketSocket(v.a).send(frame(1));
	EXPECT_EQ(::poll(&pfd, 1, 3000), 1);
	auto b = d.try_read();
	ASSERT_TRUE(b);
	EXPECT_EQ(b->count(), 1u);
}

TEST(LibtapDevice, RemovingTheInterfaceEndsABlockedReadWithAnError)
{
	auto veth = std::make_unique<Veth>("ltj0", "ltj1");
	tap::Options o;
	o.read_timeout = 0ms;
	tap::Device d = open(veth->b, o);
	std::thread remover([&] {
		std::this_thread::sleep_for(200ms);
		veth.reset();
	});
	const auto t0 = Clock::now();
	auto b = d.read(10s);
	remover.join();
	EXPECT_LT(Clock::now() - t0, 8s);
	ASSERT_FALSE(b);
	EXPECT_EQ(b.error().code, std::errc::no_such_device_or_address) << b.error().message();
}

TEST(LibtapDevice, BufferSizeIsWhatTheModuleGranted)
{
	Veth v("ltk0", "ltk1");
	tap::Options o;
	o.immediate = true;
	o.zero_copy = false; // BIOCSBLEN's clamping
	o.buffer_size = std::size_t{64} << 20; // above the module's default maximum
	tap::Device d = open(v.b, o);
	EXPECT_EQ(d.buffer_size(), std::size_t{BPF_MAXBUFSIZE});
	PacketSocket(v.a).send(frame(1));
	auto got = collect(d, 1);
	ASSERT_EQ(got.size(), 1u); // reads with a buffer of exactly that size work
	o.buffer_size = 100;
	tap::Device small = open(v.b, o);
	EXPECT_EQ(small.buffer_size(), 100u);
}

// CaptureGroup: N members of one capture through a kernel fan-out group.
namespace {

Bytes numbered(unsigned n)
{
	Bytes f = frame(0);
	f[15] = static_cast<std::byte>(n >> 8);
	f[16] = static_cast<std::byte>(n);
	return f;
}

unsigned number_of(std::span<const std::byte> f)
{
	return std::to_integer<unsigned>(f[15]) << 8 | std::to_integer<unsigned>(f[16]);
}

} // namespace

TEST(LibtapGroup, MembersShareEveryFrameOnceEachOnItsOwnThread)
{
	Veth v("lg0", "lg1");
	tap::Options o;
	o.immediate = true;
	tap::GroupOptions g;
	g.members = 3;
	g.spread = tap::Spread::round_robin;
	auto group = tap::CaptureGroup::open("bpf:lg0", g, o);
	ASSERT_TRUE(group) << group.error().message();
	ASSERT_EQ(group->size(), 3u);
	EXPECT_EQ(group->members()[1].name(), "bpf:lg0 member 1");
	constexpr unsigned total = 300;
	PacketSocket s(v.b);
	for (unsigned i = 0; i < total; ++i)
		s.send(numbered(i));
	std::atomic<unsigned> seen{0};
	std::vector<std::vector<unsigned>> got(group->size());
	std::vector<std::thread::id> threads(group->size());
	auto r = group->run([&](std::size_t i, tap::Device &member) -> tap::Result<void> {
		threads[i] = std::this_thread::get_id();
		const auto end = Clock::now() + 10s;
		while (seen < total && Clock::now() < end) {
			auto b = member.read(100ms);
			if (!b)
				return std::unexpected(b.error());
			for (auto p : *b) {
				got[i].push_back(number_of(p.bytes()));
				++seen;
			}
		}
		return {};
	});
	ASSERT_TRUE(r) << r.error().message();
	std::vector<unsigned> all;
	for (std::size_t i = 0; i < got.size(); ++i) {
		EXPECT_EQ(got[i].size(), total / 3) << "round robin: member " << i;
		EXPECT_NE(threads[i], std::this_thread::get_id()) << "run() gives each member a thread";
		all.insert(all.end(), got[i].begin(), got[i].end());
	}
	std::sort(all.begin(), all.end());
	ASSERT_EQ(all.size(), total);
	for (unsigned i = 0; i < total; ++i)
		ASSERT_EQ(all[i], i) << "each frame exactly once";
	auto each = group->member_stats();
	auto sum = group->stats();
	ASSERT_TRUE(each && sum);
	EXPECT_EQ(sum->received, total);
	EXPECT_EQ((*each)[0].received + (*each)[1].received + (*each)[2].received, sum->received);
}

TEST(LibtapGroup, RunInterruptsTheOthersWhenOneMemberFails)
{
	Veth v("lg0", "lg1");
	auto group = tap::CaptureGroup::open("lg0", tap::GroupOptions{});
	ASSERT_TRUE(group) << group.error().message();
	auto r = group->run([](std::size_t i, tap::Device &member) -> tap::Result<void> {
		if (i == 1)
			return tap::fail_errno(EIO, member.name() + ": given up");
		auto b = member.read(); // no timeout: only the interrupt ends it
		if (!b && b.error().code == std::errc::interrupted)
			return {};
		return b ? tap::Result<void>{} : std::unexpected(b.error());
	});
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().message(), "lg0 member 1: given up: " + std::generic_category().message(EIO));
}

TEST(LibtapGroup, TwoGroupsOnOneInterfaceEachSeeEverything)
{
	Veth v("lg0", "lg1");
	tap::Options o;
	o.immediate = true;
	auto a = tap::CaptureGroup::open("lg0", tap::GroupOptions{}, o);
	auto b = tap::CaptureGroup::open("lg0", tap::GroupOptions{}, o);
	ASSERT_TRUE(a && b);
	PacketSocket s(v.b);
	for (unsigned i = 0; i < 50; ++i)
		s.send(numbered(i));
	std::this_thread::sleep_for(300ms);
	EXPECT_EQ(a->stats()->received, 50u) << "default group ids differ";
	EXPECT_EQ(b->stats()->received, 50u);
}

// Zero-copy (the default): whole pages of at most BIOCGETZMAX, less the
// shared header; records arrive in both buffers in turn, with no read().
TEST(LibtapDevice, ZeroCopyBuffersByDefault)
{
	Veth v("ltz0", "ltz1");
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	tap::Options o;
	o.immediate = true;
	o.buffer_size = std::size_t{64} << 20;
	tap::Device big = open(v.b, o);
	EXPECT_EQ(big.buffer_size(), 512 * page - sizeof(bpf_zbuf_header));
	o.buffer_size = 100;
	o.read_timeout = std::chrono::milliseconds(10);
	tap::Device d = open(v.b, o);
	EXPECT_EQ(d.buffer_size(), page - sizeof(bpf_zbuf_header));
	std::ifstream in("/proc/net/bpfdev");
	std::string all((std::istreambuf_iterator<char>(in)), {});
	EXPECT_NE(all.find(" zbuf "), std::string::npos) << all;
	PacketSocket s(v.a);
	// Rounds of 20 (1600 bytes of records): each fits a buffer, so none
	// is dropped, and ten rounds go through both buffers several times.
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 20; i++)
			s.send(frame(round * 20 + i));
		auto got = collect(d, 20);
		ASSERT_EQ(got.size(), 20u) << "round " << round;
		for (unsigned i = 0; i < 20; i++)
			EXPECT_TRUE(same(got[i].bytes(), frame(round * 20 + i))) << round << " " << i;
	}
	auto st = d.stats();
	ASSERT_TRUE(st);
	EXPECT_EQ(st->dropped, 0u);
}

namespace {

// Frames numbered in 32 bits (bytes 15-18), so that no number repeats.
Bytes numbered32(std::uint32_t n)
{
	Bytes f = frame(0);
	for (int i = 0; i < 4; ++i)
		f[15 + i] = static_cast<std::byte>(n >> (24 - 8 * i));
	return f;
}

std::uint32_t number32_of(std::span<const std::byte> f)
{
	std::uint32_t n = 0;
	for (int i = 0; i < 4; ++i)
		n = n << 8 | std::to_integer<std::uint32_t>(f[15 + i]);
	return n;
}

// Sends numbered32() frames (EtherType 0x88b5) out of `ifname` as fast as
// it can until destroyed: traffic while a Device is being opened.
class Flood {
public:
	explicit Flood(const std::string &ifname)
		: thread_([this, ifname] {
			  PacketSocket s(ifname);
			  // A full backlog refuses some (ENOBUFS): a flood goes on.
			  for (std::uint32_t n = 0; !stop_; ++n)
				  s.try_send(numbered32(n));
		  })
	{
	}
	~Flood()
	{
		stop_ = true;
		thread_.join();
	}
	Flood(const Flood &) = delete;
	Flood &operator=(const Flood &) = delete;

private:
	std::atomic<bool> stop_{false};
	std::thread thread_;
};

} // namespace

// The filter holds from the first frame: a frame that arrived while the
// descriptor was being set up (attached, immediate mode, zero-copy, but its
// filter not yet compiled) must not reach the first read, not even in a
// buffer the module had already handed over.
TEST(LibtapDevice, NoFrameFromBeforeTheFilterIsDelivered)
{
	Veth v("ltf0", "ltf1");
	Flood flood(v.b);
	tap::Options o;
	o.immediate = true;
	o.filter = "ether proto 0x88b6"; // none of the flood's frames
	std::size_t leaked = 0;
	for (int round = 0; round < 20; ++round) {
		tap::Device d = open(v.a, o);
		for (int i = 0; i < 5; ++i) {
			auto b = d.read(10ms);
			ASSERT_TRUE(b) << b.error().message();
			leaked += static_cast<std::size_t>(std::ranges::distance(*b));
		}
		auto st = d.stats();
		ASSERT_TRUE(st) << st.error().message();
		EXPECT_GT(st->received, 0u) << "the flood reached the descriptor";
	}
	EXPECT_EQ(leaked, 0u) << "frames the filter rejects, delivered all the same";
}

// A member of a group gets only its share from the start: while it was
// being opened (attached, filter set, not yet joined) it must not capture
// frames that the group, or the other members, also deliver.
TEST(LibtapGroup, NoFrameIsDeliveredTwiceWhileMembersJoin)
{
	Veth v("lg0", "lg1");
	Flood flood(v.b);
	tap::Options o;
	o.immediate = true;
	tap::GroupOptions g;
	g.members = 2;
	std::size_t twice = 0, total = 0;
	for (int round = 0; round < 20; ++round) {
		auto group = tap::CaptureGroup::open("bpf:lg0", g, o);
		ASSERT_TRUE(group) << group.error().message();
		std::vector<std::uint32_t> seen;
		for (tap::Device &m : group->members()) {
			for (int i = 0; i < 3; ++i) {
				auto b = m.try_read();
				ASSERT_TRUE(b) << b.error().message();
				for (auto p : *b)
					seen.push_back(number32_of(p.bytes()));
			}
		}
		std::sort(seen.begin(), seen.end());
		total += seen.size();
		twice += seen.size() - static_cast<std::size_t>(
						std::unique(seen.begin(), seen.end()) - seen.begin());
	}
	EXPECT_GT(total, 0u) << "the flood reached the group";
	EXPECT_EQ(twice, 0u) << "of " << total << " frames";
}
