// The DPDK backend over net_ring (a loopback: what a queue transmits comes
// back on the same queue): round trips, batched and partial writes, size
// limits, filters, reading, interrupt, several queues.
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "unique_fd.hpp"

using namespace dpdktest;
using namespace std::chrono;
using tap::Device;
using tap::Options;

namespace {

Options header_complete()
{
	Options o;
	o.header_complete = true;
	return o;
}

std::vector<std::span<const std::byte>> spans(const std::vector<Bytes> &frames)
{
	return {frames.begin(), frames.end()};
}

} // namespace

TEST(Ring, FramesComeBackByteForByte)
{
	Device dev = open_or_die("dpdk:net_ring0", header_complete());
	EXPECT_EQ(dev.datalink(), DLT_EN10MB);
	std::vector<Bytes> sent;
	for (std::uint32_t i = 0; i < 100; ++i) {
		sent.push_back(frame(i, 60 + (i * 37) % 1455));
		ASSERT_TRUE(dev.write(sent.back())) << i;
	}
	const auto before = tap::Timestamp(system_clock::now().time_since_epoch());
	auto got = read_n(dev, 100);
	const auto after = tap::Timestamp(system_clock::now().time_since_epoch());
	ASSERT_EQ(got.size(), 100u);
	for (std::size_t i = 0; i < got.size(); ++i) {
		EXPECT_TRUE(std::ranges::equal(got[i].bytes(), sent[i])) << i;
		EXPECT_EQ(got[i].wire_length(), sent[i].size());
		// net_ring has no clock of its own: host time, once per burst.
		EXPECT_GE(got[i].timestamp(), before - seconds(1));
		EXPECT_LE(got[i].timestamp(), after);
	}
	auto st = dev.stats();
	ASSERT_TRUE(st);
	EXPECT_EQ(st->received, 100u);
	EXPECT_EQ(st->accepted, 100u);
	EXPECT_EQ(st->dropped, 0u);
}

TEST(Ring, BatchedWriteSendsAllInOneCall)
{
	Device dev = open_or_die("dpdk:net_ring0", header_complete());
	std::vector<Bytes> frames;
	for (std::uint32_t i = 0; i < 200; ++i)
		frames.push_back(frame(i, 64 + i));
	auto n = dev.write(spans(frames));
	ASSERT_TRUE(n) << n.error().message();
	EXPECT_EQ(*n, 200u);
	auto got = read_n(dev, 200);
	ASSERT_EQ(got.size(), 200u);
	for (std::size_t i = 0; i < got.size(); ++i)
		EXPECT_TRUE(std::ranges::equal(got[i].bytes(), frames[i])) << i;
}

// net_ring's queue holds 1023 frames: a larger batched write sends what
// fits and says how many; the next call's error explains the rest.
TEST(Ring, PartialSendIsCountedAndTheRestReportsTheError)
{
	Device dev = open_or_die("dpdk:net_ring0", header_complete());
	std::vector<Bytes> frames;
	for (std::uint32_t i = 0; i < 1500; ++i)
		frames.push_back(frame(i, 60));
	auto all = spans(frames);
	auto first = dev.write(all);
	ASSERT_TRUE(first) << first.error().message();
	ASSERT_GT(*first, 0u);
	ASSERT_LT(*first, 1500u);
	auto rest = std::span(all).subspan(*first);
	auto again = dev.write(rest);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, std::errc::no_buffer_space) << again.error().message();
	auto got = read_n(dev, *first);
	ASSERT_EQ(got.size(), *first);
	EXPECT_EQ(id_of(got.back().bytes()), *first - 1);
	auto more = dev.write(rest);
	ASSERT_TRUE(more);
	EXPECT_EQ(*first + *more, 1500u);
	auto tail = read_n(dev, *more);
	ASSERT_EQ(tail.size(), *more);
	EXPECT_EQ(id_of(tail.front().bytes()), *first);
}

TEST(Ring, SourceAddressIsThePortsUnlessHeaderComplete)
{
	Device dev = open_or_die("dpdk:net_ring0");
	const Bytes f = frame(1, 64);
	ASSERT_TRUE(dev.write(f));
	auto got = read_n(dev, 1);
	ASSERT_EQ(got.size(), 1u);
	// Destination kept, source replaced by net_ring's own address.
	EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, got[0].bytes().begin()));
	EXPECT_FALSE(std::equal(f.begin() + 6, f.begin() + 12, got[0].bytes().begin() + 6));
	EXPECT_TRUE(std::equal(f.begin() + 12, f.end(), got[0].bytes().begin() + 12));
}

TEST(Ring, FrameAboveMtuPlusHeaderIsEmsgsize)
{
	Device dev = open_or_die("dpdk:net_ring0", header_complete());
	EXPECT_TRUE(dev.write(frame(1, 1514)));
	auto big = dev.write(frame(2, 1515));
	ASSERT_FALSE(big);
	EXPECT_EQ(big.error().code, std::errc::message_size) << big.error().message();
	EXPECT_TRUE(dev.write(frame(3, 1518, 0x8100))) << "a tagged frame may carry 4 more bytes";
	EXPECT_FALSE(dev.write(frame(4, 1519, 0x8100)));
	auto tiny = dev.write(frame(5, 13));
	ASSERT_FALSE(tiny);
	EXPECT_EQ(tiny.error().code, std::errc::invalid_argument);
	// A bad frame in a batch: the ones before it go, its error comes next.
	std::vector<Bytes> frames = {frame(6, 60), frame(7, 60), frame(8, 4000), frame(9, 60)};
	auto all = spans(frames);
	auto n = dev.write(all);
	ASSERT_TRUE(n);
	EXPECT_EQ(*n, 2u);
	auto err = dev.write(std::span(all).subspan(2));
	ASSERT_FALSE(err);
	EXPECT_EQ(err.error().code, std::errc::message_size);
	auto got = read_n(dev, 4);
	ASSERT_EQ(got.size(), 4u);
	EXPECT_EQ(id_of(got[3].bytes()), 7u);
}

TEST(Ring, FilterKeepsMatchesCutToItsSnapLength)
{
	Options o = header_complete();
	o.filter = "ether proto 0x0800 or ether[18] = 3";
	o.snap_length = 40;
	Device dev = open_or_die("dpdk:net_ring0", o);
	EXPECT_EQ(dev.snap_length(), 40u);
	for (std::uint32_t i = 0; i < 50; ++i)
		ASSERT_TRUE(dev.write(frame(i, 100, i % 5 == 0 ? 0x0800 : 0x88b5)));
	auto got = read_n(dev, 50);
	std::set<std::uint32_t> ids;
	for (const auto &p : got) {
		ids.insert(id_of(p.bytes()));
		EXPECT_EQ(p.captured_length(), 40u);
		EXPECT_EQ(p.wire_length(), 100u);
	}
	// Type 0x0800: ids 0, 5, ..., 45; byte 18 = 3 also for id 3's pattern?
	std::set<std::uint32_t> want;
	for (std::uint32_t i = 0; i < 50; ++i) {
		const Bytes f = frame(i, 100, i % 5 == 0 ? 0x0800 : 0x88b5);
		if (i % 5 == 0 || std::to_integer<int>(f[18]) == 3)
			want.insert(i);
	}
	EXPECT_EQ(ids, want);
	auto st = dev.stats();
	ASSERT_TRUE(st);
	EXPECT_EQ(st->received, 50u);
	EXPECT_EQ(st->accepted, want.size());
	EXPECT_EQ(st->dropped, 0u);

	// set_filter replaces it; compile_filter uses the device's link type.
	auto f = dev.compile_filter("ether[14:4] = 0x07000000");
	ASSERT_TRUE(f);
	ASSERT_TRUE(dev.set_filter(*f));
	for (std::uint32_t i = 0; i < 10; ++i)
		ASSERT_TRUE(dev.write(frame(i, 80)));
	got = read_n(dev, 10);
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(id_of(got[0].bytes()), 7u);
	EXPECT_EQ(got[0].captured_length(), 40u); // compiled for the device's snap length
}

// Rejected frames go back to the pool in one bulk per burst, and a burst's
// host stamp is read when its first frame is kept: after many bursts of
// mostly rejected frames the pool (which writes also draw on) is not
// exhausted, and every kept frame carries the wall clock of its read, even
// when the frames before it in the burst were rejected.
TEST(Ring, RejectedFramesGoBackToThePoolAndKeptOnesCarryTheWallClock)
{
	Options o = header_complete();
	o.filter = "ether[14] = 20 or ether[14] = 31"; // ids 20 and 31 of each 32
	Device dev = open_or_die("dpdk:net_ring0", o);
	constexpr std::uint32_t rounds = 300; // 9600 frames through a 4095-mbuf pool
	for (std::uint32_t r = 0; r < rounds; ++r) {
		std::vector<Bytes> frames;
		for (std::uint32_t i = 0; i < 32; ++i)
			frames.push_back(frame(i, 64));
		const auto before = std::chrono::system_clock::now();
		auto sent = dev.write(spans(frames));
		ASSERT_TRUE(sent) << "round " << r << ": " << sent.error().message();
		ASSERT_EQ(*sent, 32u);
		auto got = read_n(dev, 2);
		const auto after = std::chrono::system_clock::now();
		ASSERT_EQ(got.size(), 2u) << "round " << r;
		for (const auto &p : got) {
			const std::uint32_t id = id_of(p.bytes());
			EXPECT_TRUE(id == 20 || id == 31) << id;
			EXPECT_GE(p.timestamp(), time_point_cast<nanoseconds>(before)) << "round " << r;
			EXPECT_LE(p.timestamp(), time_point_cast<nanoseconds>(after)) << "round " << r;
		}
	}
	auto st = dev.stats();
	ASSERT_TRUE(st);
	EXPECT_EQ(st->received, 32u * rounds);
	EXPECT_EQ(st->accepted, 2u * rounds);
	EXPECT_EQ(st->dropped, 0u);
}

TEST(Ring, InvalidProgramIsRefused)
{
	Device dev = open_or_die("dpdk:net_ring0");
	const struct bpf_insn bad[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)}; // no RET
	auto f = tap::Filter::from_instructions(bad);
	ASSERT_TRUE(f);
	auto r = dev.set_filter(*f);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, std::errc::invalid_argument);
	EXPECT_NE(r.error().message().find("dpdk:net_ring0"), std::string::npos);
}

TEST(Ring, TryReadNeverBlocks)
{
	Device dev = open_or_die("dpdk:net_ring0", header_complete());
	for (int i = 0; i < 1000; ++i) {
		auto b = dev.try_read();
		ASSERT_TRUE(b);
		ASSERT_TRUE(b->empty());
	}
	dev.interrupt(); // kept for read, ignored by try_read
	ASSERT_TRUE(dev.write(frame(1, 60)));
	auto b = dev.try_read();
	ASSERT_TRUE(b);
	EXPECT_EQ(b->count(), 1u);
	auto r = dev.read();
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, std::errc::interrupted);
}

TEST(Ring, ReadTimeoutEndsWithAnEmptyBatch)
{
	Device dev = open_or_die("dpdk:net_ring0");
	auto b = dev.read(milliseconds(30));
	ASSERT_TRUE(b);
	EXPECT_TRUE(b->empty());
}

TEST(Ring, ImmediateHandsOverALonePacket)
{
	Options o = header_complete();
	o.immediate = true;
	o.read_timeout = milliseconds(0); // would otherwise wait for a full batch
	Device dev = open_or_die("dpdk:net_ring0", o);
	ASSERT_TRUE(dev.write(frame(1, 60)));
	auto b = dev.read(seconds(5));
	ASSERT_TRUE(b);
	EXPECT_EQ(b->count(), 1u);
}

TEST(Ring, ReadTimeoutBoundsAPartFilledBatch)
{
	Options o = header_complete();
	o.read_timeout = milliseconds(5);
	Device dev = open_or_die("dpdk:net_ring0", o);
	ASSERT_TRUE(dev.write(frame(1, 60)));
	auto b = dev.read(); // no timeout: only read_timeout can end it
	ASSERT_TRUE(b);
	EXPECT_EQ(b->count(), 1u);
}

namespace {

// Where the two threads of a hand-off run: a CPU each (-1: anywhere) and a
// SCHED_FIFO priority each (0: normal scheduling).
struct Placement {
	int reader_cpu = -1, waker_cpu = -1;
	int reader_prio = 0, waker_prio = 0;
};

void place_this_thread(int cpu, int prio)
{
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	if (prio > 0) {
		sched_param p{};
		p.sched_priority = prio;
		pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
	}
}

// One run of 1000 hand-offs: a reader thread blocks in block(); the waker
// waits until it is in, calls pause() (to catch the read in one phase or
// the other), then wake(reader), and times how long until block() returned.
// Each thread waits for the other on a futex (atomic wait), not in a yield
// loop: on one CPU, the thread of higher SCHED_FIFO priority would starve
// the other.
struct HandoffRun {
	nanoseconds worst{0};
	int over_1ms = 0;
	int failures = 0; // block() ended some other way than expected
};

template <class Block, class Pause, class Wake>
HandoffRun run_handoffs(const Placement &at, Block block, Pause pause, Wake wake)
{
	constexpr int rounds = 1000, done = 1 << 20;
	std::atomic<int> round{-1};
	std::atomic<bool> blocking{false};
	std::atomic<steady_clock::rep> woke{0};
	HandoffRun run;
	std::thread reader([&] {
		place_this_thread(at.reader_cpu, at.reader_prio);
		for (int i = 0; i < rounds; ++i) {
			for (int r; (r = round.load()) != i;)
				round.wait(r);
			blocking = true;
			blocking.notify_all();
			const bool ok = block();
			woke = steady_clock::now().time_since_epoch().count();
			run.failures += !ok;
			blocking = false;
			round = i + done;
			round.notify_all();
		}
	});
	std::thread waker([&] {
		place_this_thread(at.waker_cpu, at.waker_prio);
		for (int i = 0; i < rounds; ++i) {
			round = i;
			round.notify_all();
			blocking.wait(false);
			pause();
			const auto t0 = steady_clock::now();
			wake(reader.native_handle());
			for (int r; (r = round.load()) != i + done;)
				round.wait(r);
			const nanoseconds took(woke.load() - t0.time_since_epoch().count());
			run.worst = std::max(run.worst, took);
			run.over_1ms += took >= milliseconds(1);
		}
	});
	waker.join();
	reader.join();
	return run;
}

// Catch the read in its spinning phase (its first 100 µs on an idle queue).
void sleep_20us()
{
	std::this_thread::sleep_for(microseconds(20));
}

// Catch it asleep in ppoll, well past the spinning phase.
void sleep_300us()
{
	std::this_thread::sleep_for(microseconds(300));
}

tap::Device *signalled_device;

void interrupt_from_handler(int)
{
	signalled_device->interrupt();
}

} // namespace

// interrupt() ends a read blocked on an idle queue within 1 ms (the
// contract), in each of 1000 consecutive rounds, in each way a read can be
// caught: spinning, asleep in ppoll, asleep with the interrupt raised by a
// signal handler on the reader's own thread.
//
// What the library owns is that a spinning read sees the flag within a loop
// turn and a sleeping one sleeps on the eventfd interrupt() writes. How long
// the kernel then takes to run a thread woken on another, idle CPU is not
// the library's: under a hypervisor that is the time to wake a halted vCPU,
// which the control below (the same hand-off through a bare eventfd, no
// library) has shown at 1-9 ms on CI, dozens of times in 1000. So both
// threads share one CPU at SCHED_FIFO priorities that make the hand-off
// immediate: the spinning reader is preempted by a higher interrupter whose
// timer fires on that busy CPU; the sleeping reader, higher than the
// interrupter, preempts it at the wake-up. No halted vCPU is in the timed
// path. What SCHED_FIFO cannot stop is the hypervisor taking the running
// vCPU away (steal time), so each case may run up to five times and passes
// on the first run whose every round is under 1 ms. An interrupt the read
// misses fails whatever the timing. The two-CPU case, beside its control,
// is printed for the record.
TEST(Ring, InterruptEndsABlockedReadWithin1ms1000Times)
{
	Device dev = open_or_die("dpdk:net_ring0");
	auto interrupted = [&] {
		auto r = dev.read();
		return !r && r.error().code == std::errc::interrupted;
	};
	auto interrupt = [&](pthread_t) { dev.interrupt(); };

	cpu_set_t allowed;
	ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
	std::vector<int> cpus;
	for (int c = 0; c < CPU_SETSIZE; ++c)
		if (CPU_ISSET(c, &allowed))
			cpus.push_back(c);
	ASSERT_FALSE(cpus.empty());
	const int cpu_a = cpus.front(), cpu_b = cpus.back();
	sched_param probe{};
	probe.sched_priority = 1;
	const bool realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &probe) == 0;
	sched_param normal{};
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &normal);
	const int hi = realtime ? 20 : 0, lo = realtime ? 10 : 0;

	struct sigaction sa{};
	sa.sa_handler = interrupt_from_handler; // no SA_RESTART: ppoll ends
	sigemptyset(&sa.sa_mask);
	struct sigaction old{};
	ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
	signalled_device = &dev;
	auto signal_reader = [](pthread_t reader) { pthread_kill(reader, SIGUSR1); };

	auto ms = [](nanoseconds d) { return static_cast<double>(d.count()) / 1e6; };
	constexpr int max_runs = 5;
	int failures = 0;
	auto bounded = [&](const char *name, const Placement &at, auto pause, auto wake) {
		for (int run = 1; run <= max_runs; ++run) {
			const HandoffRun r = run_handoffs(at, interrupted, pause, wake);
			std::printf("%s, run %d: worst %.3f ms, %d of 1000 over 1 ms\n", name, run,
				    ms(r.worst), r.over_1ms);
			failures += r.failures;
			if (r.worst < milliseconds(1))
				return true;
		}
		return false;
	};
	EXPECT_TRUE(bounded("spinning read, interrupter on its CPU", {cpu_a, cpu_a, lo, hi}, sleep_20us,
			    interrupt));
	EXPECT_TRUE(bounded("sleeping read, interrupter on its CPU", {cpu_a, cpu_a, hi, lo}, sleep_300us,
			    interrupt));
	EXPECT_TRUE(bounded("sleeping read, signal handler on the reader", {cpu_a, cpu_a, hi, lo},
			    sleep_300us, signal_reader));

	const HandoffRun far = run_handoffs({cpu_a, cpu_b, hi, hi}, interrupted, sleep_300us, interrupt);
	tap::detail::UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
	ASSERT_GE(efd.get(), 0);
	const HandoffRun bare = run_handoffs(
		{cpu_a, cpu_b, hi, hi},
		[&] {
			pollfd p{efd.get(), POLLIN, 0};
			std::uint64_t n;
			return ::ppoll(&p, 1, nullptr, nullptr) == 1 &&
			       ::read(efd.get(), &n, sizeof n) == sizeof n;
		},
		sleep_300us,
		[&](pthread_t) {
			const std::uint64_t one = 1;
			(void)!::write(efd.get(), &one, sizeof one);
		});
	std::printf("for the record, sleeping read, interrupter on another CPU: worst %.3f ms, %d over 1 ms; "
		    "bare eventfd the same way: worst %.3f ms, %d over 1 ms (%s)\n",
		    ms(far.worst), far.over_1ms, ms(bare.worst), bare.over_1ms,
		    realtime ? "SCHED_FIFO" : "normal scheduling");
	failures += far.failures + bare.failures;
	::sigaction(SIGUSR1, &old, nullptr);
	EXPECT_EQ(failures, 0) << "reads that an interrupt did not end";
}

TEST(Ring, MultiQueueEachPacketOnceStatsAddUp)
{
	constexpr int queues = 4, per_queue = 600;
	std::vector<Device> devs;
	for (int q = 0; q < queues; ++q)
		devs.push_back(open_or_die("dpdk:net_ring3@" + std::to_string(q) + "/4", header_complete()));
	// net_ring has no RSS hash: queue q transmits into its own ring, which
	// comes back on receive queue q. Each reader thread then reads its own.
	for (int q = 0; q < queues; ++q) {
		std::vector<Bytes> frames;
		for (int i = 0; i < per_queue; ++i)
			frames.push_back(frame(static_cast<std::uint32_t>(q * per_queue + i), 60 + i % 100));
		auto n = devs[q].write(spans(frames));
		ASSERT_TRUE(n);
		ASSERT_EQ(*n, static_cast<std::size_t>(per_queue));
	}
	std::vector<std::vector<std::uint32_t>> ids(queues);
	std::vector<std::thread> readers;
	for (int q = 0; q < queues; ++q)
		readers.emplace_back([&, q] {
			for (auto &p : read_n(devs[q], per_queue))
				ids[q].push_back(id_of(p.bytes()));
		});
	for (auto &t : readers)
		t.join();
	std::multiset<std::uint32_t> all;
	std::uint64_t received = 0, accepted = 0;
	for (int q = 0; q < queues; ++q) {
		EXPECT_EQ(ids[q].size(), static_cast<std::size_t>(per_queue)) << q;
		all.insert(ids[q].begin(), ids[q].end());
		auto st = devs[q].stats();
		ASSERT_TRUE(st);
		EXPECT_EQ(st->received, static_cast<std::uint64_t>(per_queue)) << q;
		received += st->received;
		accepted += st->accepted;
	}
	EXPECT_EQ(all.size(), static_cast<std::size_t>(queues * per_queue));
	for (std::uint32_t id = 0; id < queues * per_queue; ++id)
		EXPECT_EQ(all.count(id), 1u) << id;
	EXPECT_EQ(received, static_cast<std::uint64_t>(queues * per_queue));
	EXPECT_EQ(accepted, received);
}

TEST(Ring, QueueIsOneDevicesAndQueueCountMustAgree)
{
	Device a = open_or_die("dpdk:net_ring4@0/2");
	auto again = Device::open("dpdk:net_ring4@0/2");
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, std::errc::device_or_resource_busy) << again.error().message();
	auto other_count = Device::open("dpdk:net_ring4@1/4");
	ASSERT_FALSE(other_count);
	EXPECT_NE(other_count.error().message().find("@Q/2"), std::string::npos) << other_count.error().message();
	auto plain = Device::open("dpdk:net_ring4");
	EXPECT_FALSE(plain);
	EXPECT_TRUE(Device::open("dpdk:net_ring4@1/2"));
	auto bad = Device::open("dpdk:net_ring4@2/2");
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, tap::errc::invalid_option);
	EXPECT_FALSE(Device::open("dpdk:net_ring4@x"));
}
