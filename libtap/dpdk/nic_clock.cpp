// Device ticks to ns since the epoch: the rate and the base (nic_clock.hpp).
#include "nic_clock.hpp"

#include <algorithm>

namespace tap::dpdk {

std::optional<ClockSample> best_sample(std::span<const ClockSample> tries) noexcept
{
	std::optional<ClockSample> best;
	for (const ClockSample &s : tries)
		if (s.bracket() >= 0 && (!best || s.bracket() < best->bracket()))
			best = s;
	return best;
}

bool NicClock::add(const ClockSample &s) noexcept
{
	if (s.bracket() < 0)
		return false;
	if (count_ > 0) {
		const ClockSample &last = kept_[count_ - 1];
		if (s.ticks <= last.ticks)
			return false; // the counter went back or stood: not the clock we know
		bool restart = false;
		if (map_) {
			// Where the map says this sample should be, and how far off it
			// may be without a step: NTP slews at most 500 ppm, and either
			// reading may be off by its whole bracket.
			const std::int64_t predicted = map_->to_ns(s.ticks);
			const std::int64_t elapsed = std::max<std::int64_t>(predicted - last.host_mid(), 0);
			const std::int64_t residual = s.host_mid() - predicted;
			const std::int64_t limit = elapsed / 2000 + last.bracket() + s.bracket() + step_slack;
			if (residual > limit || residual < -limit) {
				++steps_;
				restart = true;
			}
		} else if (s.host_mid() <= last.host_mid()) {
			restart = true; // the host went back before any rate: start over
		}
		if (restart) {
			// The device's rate did not change with the host clock: keep it,
			// re-based on this sample, and measure the next one from here.
			kept_[0] = s;
			count_ = 1;
			if (map_)
				map_ = Map{s.ticks, s.host_mid(), map_->mult};
			return true;
		}
	}
	if (count_ == history) {
		std::move(kept_.begin() + 1, kept_.end(), kept_.begin());
		--count_;
	}
	kept_[count_++] = s;

	const ClockSample &oldest = kept_[0];
	const std::int64_t span = s.host_mid() - oldest.host_mid();
	if (count_ < 2 || span < min_rate_span)
		return true; // a map already known stays until the span is long enough
	const std::uint64_t dticks = s.ticks - oldest.ticks;
	const uint128 num = (static_cast<uint128>(span) << 32) + dticks / 2;
	const uint128 mult = num / dticks;
	if (mult >> 64)
		return true; // under a tick in 4 s: no NIC clock; keep what was known
	map_ = Map{s.ticks, s.host_mid(), static_cast<std::uint64_t>(mult)};
	return true;
}

std::int64_t NicClock::next_due() const noexcept
{
	if (count_ == 0)
		return 0;
	if (!map_)
		return kept_[0].host_mid() + min_rate_span;
	return kept_[count_ - 1].host_mid() + refresh_period;
}

} // namespace tap::dpdk
