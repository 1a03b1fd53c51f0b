// NicClock (libtap/dpdk/nic_clock.hpp) on synthetic device clocks: no EAL,
// no NIC. Every expected value is exact, worked out from the clock's rate.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "nic_clock.hpp"

using tap::dpdk::best_sample;
using tap::dpdk::ClockSample;
using tap::dpdk::NicClock;

namespace {

constexpr std::int64_t s = NicClock::ns_per_s;
constexpr std::int64_t ms = s / 1000;
constexpr std::int64_t epoch = 1'764'547'200 * s; // 2025-12-01, ns since the epoch

// A sample whose device reading happened at host time mid, in a
// bracket of width bracket around it.
ClockSample at(std::uint64_t ticks, std::int64_t mid, std::int64_t bracket = 0)
{
	return {ticks, mid - bracket / 2, mid + bracket - bracket / 2};
}

constexpr std::uint64_t one_ns = std::uint64_t{1} << 32; // mult of a 1 GHz clock

} // namespace

TEST(NicClock, NoMapBeforeTwoSamplesFarEnoughApart)
{
	NicClock c;
	EXPECT_EQ(c.next_due(), 0); // no sample: wanted at once
	ASSERT_TRUE(c.add(at(1000, epoch)));
	EXPECT_FALSE(c.map());
	EXPECT_EQ(c.next_due(), epoch + NicClock::min_rate_span);
	ASSERT_TRUE(c.add(at(1000 + 50'000'000, epoch + 50 * ms))); // 50 ms: too short
	EXPECT_FALSE(c.map());
	ASSERT_TRUE(c.add(at(1000 + 100'000'000, epoch + 100 * ms)));
	ASSERT_TRUE(c.map());
	EXPECT_EQ(c.map()->mult, one_ns);
	EXPECT_EQ(c.next_due(), epoch + 100 * ms + NicClock::refresh_period);
}

TEST(NicClock, OneGigahertzIsExact)
{
	// A 1 GHz counter that started 12345 s before this epoch reading.
	const std::uint64_t t0 = 12'345ull * 1'000'000'000;
	NicClock c;
	c.add(at(t0, epoch));
	c.add(at(t0 + 200'000'000, epoch + 200 * ms));
	ASSERT_TRUE(c.map());
	const auto &m = *c.map();
	EXPECT_EQ(m.mult, one_ns);
	EXPECT_EQ(m.base_ticks, t0 + 200'000'000);
	EXPECT_EQ(m.base_ns, epoch + 200 * ms);
	EXPECT_EQ(m.to_ns(t0), epoch);
	EXPECT_EQ(m.to_ns(t0 + 200'000'000 - 7), epoch + 200 * ms - 7); // before the base
	EXPECT_EQ(m.to_ns(t0 + 3'600ull * 1'000'000'000 + 1), epoch + 3'600 * s + 1);
}

TEST(NicClock, OneHundredFiftySixMegahertzRoundsToNearest)
{
	// 156.25 MHz: 6.4 ns a tick (5 ticks are 32 ns). mult = 6.4 * 2^32 =
	// 27487790694.4, kept as 27487790694: 0.4 / 2^32 ns short a tick, so
	// the error reaches half a ns only after 2^32 / 0.8 ticks (34 s).
	const std::uint64_t t0 = 777;
	NicClock c;
	c.add(at(t0, epoch));
	c.add(at(t0 + 156'250'000, epoch + s));
	ASSERT_TRUE(c.map());
	const auto &m = *c.map();
	EXPECT_EQ(m.mult, 27'487'790'694u);
	const std::uint64_t base = t0 + 156'250'000;
	EXPECT_EQ(m.to_ns(base), epoch + s);
	EXPECT_EQ(m.to_ns(base + 1), epoch + s + 6);  // 6.4
	EXPECT_EQ(m.to_ns(base + 3), epoch + s + 19); // 19.2
	EXPECT_EQ(m.to_ns(base + 4), epoch + s + 26); // 25.6
	EXPECT_EQ(m.to_ns(base - 4), epoch + s - 26); // -25.6
	EXPECT_EQ(m.to_ns(base + 156'250'000), epoch + 2 * s);
	EXPECT_EQ(m.to_ns(base + 5 * 156'250'000), epoch + 6 * s);
	// 100 s on: 1.5625e10 ticks, 1.5625e10 * 0.4 / 2^32 = 1.46 ns short.
	EXPECT_EQ(m.to_ns(base + 15'625'000'000), epoch + 101 * s - 1);
}

TEST(NicClock, WrapFree64BitCounterAboveInt64Max)
{
	// A counter past 2^63: differences stay small, no sign trouble.
	const std::uint64_t t0 = 0xF000'0000'0000'0000ull;
	NicClock c;
	c.add(at(t0, epoch));
	c.add(at(t0 + 500'000'000, epoch + 500 * ms));
	ASSERT_TRUE(c.map());
	EXPECT_EQ(c.map()->to_ns(t0 + 500'000'000 + 42), epoch + 500 * ms + 42);
	EXPECT_EQ(c.map()->to_ns(t0 + 1), epoch + 1);
	EXPECT_EQ(c.map()->to_ns(t0 - 1), epoch - 1); // just before the first sample
}

TEST(NicClock, FollowsDriftOfTheDeviceRate)
{
	// 1 GHz for 4 s, then a slower oscillator: 65536 ticks each 65537 ns
	// (mult 2^32 + 2^16 exactly, about 15 ppm slower). Samples each second.
	NicClock c;
	std::uint64_t ticks = 1'000'000;
	std::int64_t host = epoch;
	for (int i = 0; i <= 4; ++i, ticks += 1'000'000'000, host += s)
		ASSERT_TRUE(c.add(at(ticks, host)));
	ticks -= 1'000'000'000;
	host -= s;
	EXPECT_EQ(c.map()->mult, one_ns);
	const std::uint64_t slow = 65'536ull * 15'259; // ticks a step: 1.00000... s
	const std::int64_t slow_ns = 65'537ll * 15'259;
	std::uint64_t prev = c.map()->mult;
	for (std::size_t i = 1; i < NicClock::history; ++i) {
		ticks += slow;
		host += slow_ns;
		ASSERT_TRUE(c.add(at(ticks, host)));
		EXPECT_GT(c.map()->mult, prev); // moving towards the new rate
		prev = c.map()->mult;
		EXPECT_EQ(c.map()->to_ns(ticks), host); // always based on the newest
	}
	// The oldest sample kept is now the one where the rate changed.
	EXPECT_EQ(c.map()->mult, one_ns + (1u << 16));
	EXPECT_EQ(c.map()->to_ns(ticks + 65'536 * 1000), host + 65'537 * 1000);
	EXPECT_EQ(c.steps(), 0u);
}

TEST(NicClock, HostStepRestartsTheHistoryAndKeepsTheRate)
{
	for (const std::int64_t step : {2 * s, -2 * s, std::int64_t{5 * ms}}) {
		SCOPED_TRACE(step);
		NicClock c;
		c.add(at(0, epoch));
		c.add(at(1'000'000'000, epoch + s));
		ASSERT_EQ(c.map()->mult, one_ns);
		// settimeofday: the next sample, 1 s of device time later, is
		// step away from where the map puts it.
		ASSERT_TRUE(c.add(at(2'000'000'000, epoch + 2 * s + step)));
		EXPECT_EQ(c.steps(), 1u);
		EXPECT_EQ(c.map()->mult, one_ns);
		EXPECT_EQ(c.map()->to_ns(2'000'000'010), epoch + 2 * s + step + 10);
		// The rate measured after the step is not bent by it.
		ASSERT_TRUE(c.add(at(3'000'000'000, epoch + 3 * s + step)));
		EXPECT_EQ(c.steps(), 1u);
		EXPECT_EQ(c.map()->mult, one_ns);
		EXPECT_EQ(c.map()->to_ns(3'500'000'000), epoch + 3 * s + step + 500 * ms);
	}
}

TEST(NicClock, SlewWithinBoundsIsNoStep)
{
	// NTP slewing the host 400 ppm fast: followed as a rate, not a step.
	NicClock c;
	c.add(at(0, epoch));
	c.add(at(1'000'000'000, epoch + s));
	ASSERT_TRUE(c.add(at(2'000'000'000, epoch + 2 * s + 400'000)));
	EXPECT_EQ(c.steps(), 0u);
	// Span 2 s, 2.0004e9 ns over 2e9 ticks: 1.0002 ns a tick.
	EXPECT_EQ(c.map()->mult, (one_ns * 10'002 + 5'000) / 10'000);
	EXPECT_EQ(c.map()->to_ns(2'000'000'000), epoch + 2 * s + 400'000);
}

TEST(NicClock, RejectsACounterThatDoesNotGoForward)
{
	NicClock c;
	ASSERT_TRUE(c.add(at(5'000, epoch)));
	EXPECT_FALSE(c.add(at(5'000, epoch + s))); // stood still
	EXPECT_FALSE(c.add(at(4'000, epoch + s))); // went back (a reset)
	EXPECT_FALSE(c.add({6'000, epoch + 2 * s, epoch + s})); // bracket backwards
	EXPECT_FALSE(c.map());
	ASSERT_TRUE(c.add(at(5'000 + 1'000'000'000, epoch + s)));
	EXPECT_EQ(c.map()->mult, one_ns);
}

TEST(NicClock, BracketBoundsTheError)
{
	// Brackets of 1 µs, the worst case for the midpoints: the oldest kept
	// read at its bracket's end, the newest at its start, so the rate is
	// off by b / span. nic_clock.hpp's bound at t after the base:
	// b_new / 2 + (b_old + b_new) / 2 * t / span, reached here (± 1 ns).
	const std::int64_t b = 1000;
	NicClock c;
	std::uint64_t ticks = 0;
	for (std::size_t i = 0; i < NicClock::history; ++i, ticks += 1'000'000'000) {
		const std::int64_t read_at = epoch + static_cast<std::int64_t>(i) * s;
		const std::int64_t before = i == 0 ? read_at - b : read_at;
		c.add({ticks, before, before + b});
	}
	ticks -= 1'000'000'000;
	const std::int64_t base_true = epoch + static_cast<std::int64_t>(NicClock::history - 1) * s;
	const std::int64_t span = static_cast<std::int64_t>(NicClock::history - 1) * s;
	for (const std::int64_t t : {std::int64_t{0}, 250 * ms, s}) {
		const std::int64_t err = c.map()->to_ns(ticks + static_cast<std::uint64_t>(t)) - (base_true + t);
		const std::int64_t bound = b / 2 + b * t / span + 1;
		EXPECT_LE(std::abs(err), bound) << "t=" << t;
		EXPECT_GE(std::abs(err), bound - 2) << "t=" << t; // the bound is tight
	}
	EXPECT_EQ(c.map()->to_ns(ticks), base_true + b / 2); // the newest read sat at its bracket's start
}

TEST(NicClock, BestSampleIsTheNarrowestBracket)
{
	std::vector<ClockSample> tries = {{10, 100, 180}, {20, 200, 230}, {30, 300, 290}, {40, 400, 440}};
	auto best = best_sample(tries);
	ASSERT_TRUE(best);
	EXPECT_EQ(best->ticks, 20u); // 30 wide; the 290 < 300 one ran backwards
	EXPECT_EQ(best->host_mid(), 215);
	EXPECT_FALSE(best_sample({}));
	EXPECT_FALSE(best_sample(std::vector<ClockSample>{{1, 10, 9}}));
}
