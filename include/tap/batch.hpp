// A Batch is one capture buffer as the device handed it over: a range of
// PacketViews (range-for). Views point into the device's buffer and stay
// valid until the next read on that device.
//
// Every record is checked before it is yielded, in the same pass, so a
// corrupt buffer is never read out of bounds: iteration stops at the first
// corrupt record and error() says what and where. A Device also returns that
// error from its next read, so a loop that never looks at error() still
// learns of it. Batch::parse instead checks the whole buffer before it
// returns, for callers who want all-or-nothing (at the cost of a second pass).
//
// A backend that leaves packets where its driver put them (DPDK: one mbuf
// each) hands over a Batch::views instead: the same range of PacketViews,
// pointing into the driver's buffers, valid until the next read.
#pragma once

#include <cstddef>
#include <iterator>
#include <span>
#include <system_error>

#include <tap/error.hpp>
#include <tap/records.hpp>

namespace tap {

class Batch {
public:
	Batch() = default; // no packets

	// Check all of buffer now (see scan_records) and wrap it. A corrupt
	// buffer gives an error whose context names the offset of the bad record.
	static Result<Batch> parse(std::span<const std::byte> buffer, TimestampUnit unit);

	// Wrap buffer, to be checked record by record as it is iterated; the
	// first corrupt record met (or a misaligned buffer) is reported to
	// status, which must outlive the batch and its iterators.
	static Batch walk(std::span<const std::byte> buffer, TimestampUnit unit,
			  ParseStatus &status) noexcept;

	// Ready views (kept by the backend until its next read); never corrupt.
	static Batch views(std::span<const PacketView> views) noexcept;

	RecordIterator begin() const noexcept
	{
		return views_.data() ? RecordIterator(views_) : RecordIterator(buffer_, unit_, status_);
	}
	std::default_sentinel_t end() const noexcept { return {}; }

	// Intact records, counted by walking the buffer (O(packets)); the
	// number of views of a views batch.
	std::size_t count() const noexcept;
	// No packets at all (a timeout or an empty read).
	bool empty() const noexcept { return buffer_.empty() && views_.empty(); }
	// The corrupt record iteration stopped at, if any (walked batches).
	std::error_code error() const noexcept { return status_ ? status_->error : std::error_code{}; }

	// The raw buffer (records and all), e.g. to keep or forward it whole;
	// empty for a views batch.
	std::span<const std::byte> buffer() const noexcept { return buffer_; }
	// The views of a views batch; empty for a record buffer.
	std::span<const PacketView> packet_views() const noexcept { return views_; }
	TimestampUnit timestamp_unit() const noexcept { return unit_; }

private:
	Batch(std::span<const std::byte> buffer, TimestampUnit unit, ParseStatus *status) noexcept
		: buffer_(buffer), unit_(unit), status_(status)
	{
	}

	std::span<const std::byte> buffer_;
	std::span<const PacketView> views_;
	TimestampUnit unit_ = TimestampUnit::nanoseconds;
	ParseStatus *status_ = nullptr; // null: parse() checked it all up front
};

} // namespace tap
