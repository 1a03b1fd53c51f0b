// The record format of a /dev/bpf capture buffer, and the two halves of
// parsing it: scan_records() checks a whole buffer once (every bound, so a
// corrupt buffer is an error, never an out-of-bounds read); RecordIterator
// then walks a buffer that passed the scan without checking again.
//
// Records: struct bpf_hdr (microsecond stamps) or struct bpf_xhdr
// (BIOCSTSTAMP nanosecond stamps) -- the same layout on LP64: 16-byte stamp,
// bh_caplen, bh_datalen, bh_hdrlen -- then bh_caplen bytes of frame at
// offset bh_hdrlen; the next record starts BPF_WORDALIGN(hdrlen + caplen)
// further on. The last record need not be padded.
// No <expected> here, so the clang-built fuzz target can include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>

#include <net/bpf.h>
#include <tap/errc.hpp>
#include <tap/packet.hpp>

namespace tap {

enum class TimestampUnit : std::uint8_t {
	microseconds, // struct bpf_hdr, BPF_T_MICROTIME
	nanoseconds,  // struct bpf_xhdr, BPF_T_NANOTIME
};

inline constexpr std::size_t record_alignment = BPF_ALIGNMENT;
inline constexpr std::size_t record_header_size = SIZEOF_BPF_HDR(struct bpf_xhdr);

static_assert(SIZEOF_BPF_HDR(struct bpf_hdr) == SIZEOF_BPF_HDR(struct bpf_xhdr));
static_assert(offsetof(struct bpf_hdr, bh_caplen) == offsetof(struct bpf_xhdr, bh_caplen));
static_assert(offsetof(struct bpf_hdr, bh_datalen) == offsetof(struct bpf_xhdr, bh_datalen));
static_assert(offsetof(struct bpf_hdr, bh_hdrlen) == offsetof(struct bpf_xhdr, bh_hdrlen));

constexpr std::size_t align_record(std::size_t n) noexcept
{
	return (n + record_alignment - 1) & ~(record_alignment - 1);
}

struct ScanResult {
	std::size_t packets = 0;      // records found before any error
	std::error_code error;        // empty when the whole buffer is valid
	std::size_t error_offset = 0; // offset of the bad record

	bool ok() const noexcept { return !error; }
};

// Check every record of buffer. Never reads outside it.
ScanResult scan_records(std::span<const std::byte> buffer) noexcept;

namespace detail {

// Unaligned-safe field loads: the scan accepts any record offset the
// format allows, and memcpy keeps the compiler honest about aliasing.
template <class T> inline T load(const std::byte *p) noexcept
{
	T v;
	std::memcpy(&v, p, sizeof v);
	return v;
}

struct RecordFields {
	std::int64_t sec;
	std::uint64_t frac;
	std::uint32_t caplen;
	std::uint32_t datalen;
	std::uint16_t hdrlen;
};

inline RecordFields read_fields(const std::byte *rec) noexcept
{
	return {load<std::int64_t>(rec + offsetof(struct bpf_xhdr, bh_tstamp.bt_sec)),
		load<std::uint64_t>(rec + offsetof(struct bpf_xhdr, bh_tstamp.bt_frac)),
		load<std::uint32_t>(rec + offsetof(struct bpf_xhdr, bh_caplen)),
		load<std::uint32_t>(rec + offsetof(struct bpf_xhdr, bh_datalen)),
		load<std::uint16_t>(rec + offsetof(struct bpf_xhdr, bh_hdrlen))};
}

// The offset of the next record, step_hint being the previous record's
// step. Walking records is a chain of loads: each offset comes from the
// last record's lengths. When the step repeats, we add the *previous* step,
// laundered so the compiler cannot substitute the loaded value; the branch
// predictor then runs ahead of the loads (about 3x faster on runs of equal
// sizes, the common case under load), and a wrong guess is only a branch miss.
inline std::size_t next_offset(std::size_t offset, std::size_t step, std::size_t &step_hint) noexcept
{
	// Laundered before the compare: the compiler knows step == step_hint
	// inside the branch, but not that known is either.
	std::size_t known = step_hint;
	asm("" : "+r"(known));
	if (step == step_hint) [[likely]]
		return offset + known;
	asm volatile(""); // keeps this a branch: a cmov would bring the load chain back
	step_hint = step;
	return offset + step;
}

} // namespace detail

// Forward iterator over the records of a buffer that scan_records() accepted.
class RecordIterator {
public:
	using iterator_category = std::forward_iterator_tag;
	using value_type = PacketView;
	using difference_type = std::ptrdiff_t;
	using pointer = void;
	using reference = PacketView;

	RecordIterator() = default;
	RecordIterator(std::span<const std::byte> buffer, TimestampUnit unit) noexcept
		: base_(buffer.data()), size_(buffer.size()), unit_(unit)
	{
	}

	PacketView operator*() const noexcept
	{
		const std::byte *rec = base_ + offset_;
		const auto f = detail::read_fields(rec);
		// Unsigned arithmetic: a corrupt stamp wraps instead of being UB.
		const std::uint64_t sub = unit_ == TimestampUnit::nanoseconds ? f.frac : f.frac * 1000;
		const std::uint64_t ns = static_cast<std::uint64_t>(f.sec) * 1'000'000'000u + sub;
		return {{rec + f.hdrlen, f.caplen},
			f.datalen,
			Timestamp(std::chrono::nanoseconds(static_cast<std::int64_t>(ns)))};
	}

	RecordIterator &operator++() noexcept
	{
		const std::byte *rec = base_ + offset_;
		const std::size_t len = detail::load<std::uint16_t>(rec + offsetof(struct bpf_xhdr, bh_hdrlen)) +
					std::size_t{detail::load<std::uint32_t>(rec + offsetof(struct bpf_xhdr, bh_caplen))};
		// May step up to 7 bytes past the end: the last record need not be
		// padded. Every end test is offset_ >= size_.
		offset_ = detail::next_offset(offset_, align_record(len), step_);
		return *this;
	}

	RecordIterator operator++(int) noexcept
	{
		RecordIterator old = *this;
		++*this;
		return old;
	}

	bool operator==(std::default_sentinel_t) const noexcept { return offset_ >= size_; }
	bool operator==(const RecordIterator &o) const noexcept
	{
		const bool at_end = offset_ >= size_, o_at_end = o.offset_ >= o.size_;
		return base_ == o.base_ && (at_end || o_at_end ? at_end == o_at_end : offset_ == o.offset_);
	}

private:
	const std::byte *base_ = nullptr;
	std::size_t size_ = 0;
	std::size_t offset_ = 0;
	std::size_t step_ = 0; // last record's step, see next_offset
	TimestampUnit unit_ = TimestampUnit::nanoseconds;
};

} // namespace tap
