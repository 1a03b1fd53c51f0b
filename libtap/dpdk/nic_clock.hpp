// A NIC's receive timestamps (device ticks, RTE_ETH_RX_OFFLOAD_TIMESTAMP)
// mapped to ns since the epoch. Pure arithmetic over samples the caller
// takes (port.cpp: rte_eth_read_clock bracketed by two CLOCK_REALTIME
// readings), so it is tested with synthetic clocks (tests/host/dpdk/).
//
// The map is affine: ns = base_ns + round((ticks - base_ticks) * mult / 2^32),
// mult being ns per tick in 32.32 fixed point. The counter is taken to be a
// wrap-free 64-bit count (mlx5, ice, igc, cnxk: free-running 64-bit), so a
// difference of two readings fits an int64 and a packet stamped a little
// before the base sample gets a negative delta, not a wrap.
//
// Precision. A sample's host time is the midpoint of its bracket [before,
// after], wrong by at most half the bracket (b/2: about 0.5 µs for a 1 µs
// register read). The rate comes from the newest sample and the oldest one
// kept (up to history samples, one per refresh, at least min_rate_span
// apart), so its relative error is at most (b_old + b_new) / 2 / span; a
// stamp t ns after the base sample is then off by at most
//     b_new / 2 + (b_old + b_new) / 2 * t / span  (+ 0.5 ns rounding,
//     + t * 2^-32 / mult relative from the fixed point: < 1e-9 ns per tick),
// e.g. 1 µs brackets, span 8 s, t ≤ 1 s: 0.5 + 0.125 µs. Before span reaches
// a few seconds the second term dominates (0.1 s span: up to 10 µs at t = 1 s).
// What the host clock does between samples (NTP slewing up to 500 ppm, the
// oscillator's drift of a few ppm) is followed at the next refresh; a host
// step (settimeofday, NTP step) is recognised as a residual beyond what
// slewing can explain and restarts the history, keeping the rate, so stamps
// follow the new host time from that sample on. Each refresh re-bases the
// map on the newest sample: stamps may move by up to the error above at
// that moment (not monotonic across a refresh, like host time under NTP).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace tap::dpdk {

// 64 × 64 → 128-bit products (one mul on x86-64); __extension__ keeps
// -Wpedantic quiet about the GNU type.
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

// One reading of the device clock between two readings of CLOCK_REALTIME
// (ns since the epoch).
struct ClockSample {
	std::uint64_t ticks = 0;
	std::int64_t host_before = 0;
	std::int64_t host_after = 0;

	std::int64_t bracket() const noexcept { return host_after - host_before; }
	std::int64_t host_mid() const noexcept { return host_before + bracket() / 2; }
};

// The sample of a few back-to-back tries whose host bracket is narrowest
// (least disturbed by preemption or a slow register read); none if every
// try failed or ran backwards.
std::optional<ClockSample> best_sample(std::span<const ClockSample> tries) noexcept;

class NicClock {
public:
	static constexpr std::int64_t ns_per_s = 1'000'000'000;
	// The first rate needs two samples this far apart; until then (and
	// before any sample) the caller stamps host time.
	static constexpr std::int64_t min_rate_span = ns_per_s / 10;
	// Then one sample a second.
	static constexpr std::int64_t refresh_period = ns_per_s;
	// Samples kept for the rate: its span grows to history - 1 periods.
	static constexpr std::size_t history = 9;
	// A residual beyond slewing (500 ppm of the time since the last sample)
	// plus the brackets plus this is a step of the host clock.
	static constexpr std::int64_t step_slack = 100'000;

	struct Map {
		std::uint64_t base_ticks;
		std::int64_t base_ns;
		std::uint64_t mult; // ns per tick, 32.32 fixed point

		std::int64_t to_ns(std::uint64_t ticks) const noexcept
		{
			const auto delta = static_cast<std::int64_t>(ticks - base_ticks);
			const int128 scaled = static_cast<int128>(delta) * static_cast<int128>(mult);
			return base_ns + static_cast<std::int64_t>((scaled + (int128{1} << 31)) >> 32);
		}
	};

	// Feeds a sample; false (and ignored) if it does not go forward in both
	// clocks from the last one (a counter that was reset, a bad reading).
	// Exactly when a host step was detected, steps() counts it.
	bool add(const ClockSample &s) noexcept;
	// The map, once a rate is known.
	const std::optional<Map> &map() const noexcept { return map_; }
	// Host time (ns since the epoch) when the next sample is due.
	std::int64_t next_due() const noexcept;
	std::uint64_t steps() const noexcept { return steps_; }

private:
	std::array<ClockSample, history> kept_{};
	std::size_t count_ = 0; // in kept_, oldest first
	std::optional<Map> map_;
	std::uint64_t steps_ = 0;
};

} // namespace tap::dpdk
