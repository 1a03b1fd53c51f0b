// A Batch is one capture buffer as the device handed it over: a range of
// PacketViews (range-for), checked once when it is made. Views point into
// the device's buffer and stay valid until the next read on that device.
#pragma once

#include <cstddef>
#include <iterator>
#include <span>

#include <tap/error.hpp>
#include <tap/records.hpp>

namespace tap {

class Batch {
public:
	Batch() = default; // no packets

	// Check buffer (see scan_records) and wrap it. A corrupt buffer gives
	// an error whose context names the offset of the bad record.
	static Result<Batch> parse(std::span<const std::byte> buffer, TimestampUnit unit);

	RecordIterator begin() const noexcept { return {buffer_, unit_}; }
	std::default_sentinel_t end() const noexcept { return {}; }

	std::size_t size() const noexcept { return packets_; }
	bool empty() const noexcept { return packets_ == 0; }
	// The raw buffer (records and all), e.g. to keep or forward it whole.
	std::span<const std::byte> buffer() const noexcept { return buffer_; }
	TimestampUnit timestamp_unit() const noexcept { return unit_; }

private:
	Batch(std::span<const std::byte> buffer, std::size_t packets, TimestampUnit unit) noexcept
		: buffer_(buffer), packets_(packets), unit_(unit)
	{
	}

	std::span<const std::byte> buffer_;
	std::size_t packets_ = 0;
	TimestampUnit unit_ = TimestampUnit::nanoseconds;
};

} // namespace tap
