// The record format of a /dev/bpf capture buffer, and the two ways of
// parsing it, both checking every bound (a corrupt buffer is an error, never
// an out-of-bounds read): scan_records() checks a whole buffer up front;
// RecordIterator checks each record as it walks to it.
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
#include <string>

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

// The kernel fills a buffer we allocate aligned; anything else is a
// caller's slice that breaks the alignment the format promises.
inline bool aligned(std::span<const std::byte> buffer) noexcept
{
	return reinterpret_cast<std::uintptr_t>(buffer.data()) % record_alignment == 0;
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

} // namespace detail

// Where a walk that checks records as it goes (Batch::walk) reports the
// first corrupt record it meets. Owned by whoever made the batch, so it
// outlives every iterator (a Device keeps one and reports it on the next read).
struct ParseStatus {
	std::error_code error;       // empty while every record met was intact
	std::size_t error_offset = 0; // offset of the corrupt record
	std::size_t buffer_size = 0;  // size of the buffer it was found in

	// "capture buffer of N bytes, record at offset X", for error contexts.
	std::string where() const;
};

namespace detail {
// Records in status (if any, and if it holds no earlier error) what is wrong
// with the record at offset. Out of line and given no iterator, so the
// walk's state can stay in registers.
void report_corrupt(ParseStatus *status, std::span<const std::byte> buffer, std::size_t offset) noexcept;
} // namespace detail

// Forward iterator over the records of a capture buffer. Every record is
// checked in the same pass that yields it (one pass over the buffer; a scan
// before the walk would read it twice): the walk ends at the end of the
// buffer or at the first record that breaks the format, which is then
// reported to the ParseStatus, if one was given. It never reads outside the
// buffer, whatever the buffer holds.
//
// It also walks an array of ready PacketViews (a backend whose packets stay
// where the driver put them, such as DPDK's mbufs): one type for both, so a
// Batch is the same range whatever the backend. The records' walk pays a
// predicted branch for it in operator* and in operator++, on a value kept
// in a register; the views' walk is an index and a bounds test.
class RecordIterator {
public:
	using iterator_category = std::forward_iterator_tag;
	using value_type = PacketView;
	using difference_type = std::ptrdiff_t;
	using pointer = void;
	using reference = PacketView;

	RecordIterator() = default;
	// buffer must start BPF_ALIGNMENT-aligned (Batch checks that).
	RecordIterator(std::span<const std::byte> buffer, TimestampUnit unit,
		       ParseStatus *status = nullptr) noexcept
		: base_(buffer.data()), size_(buffer.size()), status_(status),
		  frac_scale_(unit == TimestampUnit::nanoseconds ? 1 : 1000)
	{
		enter_checked(0);
	}

	// Over views (valid while the iterator is used): index instead of
	// offset, base_ points at the views and frac_scale_ is 0, the mark
	// operator* and operator++ test.
	explicit RecordIterator(std::span<const PacketView> views) noexcept
		: base_(reinterpret_cast<const std::byte *>(views.data())), size_(views.size()), step_(1),
		  frac_scale_(0)
	{
	}

	PacketView operator*() const noexcept
	{
		if (frac_scale_ == 0) [[unlikely]] {
			// Field by field, as the record path builds its view: a
			// whole-object copy here made GCC merge the two through a
			// stack slot, a store and reload per view.
			const PacketView &v = reinterpret_cast<const PacketView *>(base_)[offset_];
			return {v.bytes(), v.wire_length(), v.timestamp()};
		}
		const std::byte *rec = base_ + offset_;
		const auto f = detail::read_fields(rec);
		// Unsigned arithmetic: a corrupt stamp wraps instead of being UB.
		const std::uint64_t ns = static_cast<std::uint64_t>(f.sec) * 1'000'000'000u + f.frac * frac_scale_;
		return {{rec + f.hdrlen, f.caplen},
			f.datalen,
			Timestamp(std::chrono::nanoseconds(static_cast<std::int64_t>(ns)))};
	}

	RecordIterator &operator++() noexcept
	{
		if (frac_scale_ == 0) [[unlikely]] { // views: the next index, the end stays the end
			offset_ += offset_ < size_;
			return *this;
		}
		enter(offset_ + step_);
		return *this;
	}

	RecordIterator operator++(int) noexcept
	{
		RecordIterator old = *this;
		++*this;
		return old;
	}

	bool operator==(std::default_sentinel_t) const noexcept { return offset_ == size_; }
	bool operator==(const RecordIterator &o) const noexcept
	{
		return base_ == o.base_ && offset_ == o.offset_;
	}

private:
	// Make the record at offset current if it is intact; else end the walk.
	//
	// Fast path: a record as long as the last one (runs of equal lengths
	// are the common case under load). The offset test then covers the end
	// of the buffer, the header and the whole record at once, and the next
	// offset is known before this record's header is even loaded, so the
	// walk is not a chain of loads and the CPU runs ahead. Anything else
	// takes the full check.
	void enter(std::size_t offset) noexcept
	{
		if (offset <= last_fit_) [[likely]] {
			const auto f = detail::read_fields(base_ + offset); // unused fields: not loaded
			// Three branches, never taken in the fast path; the empty asm
			// keeps the compiler from merging them into flag arithmetic,
			// which costs more than predicted branches.
			if (f.hdrlen + std::size_t{f.caplen} != length_) [[unlikely]]
				return enter_checked(offset);
			asm volatile("");
			if (f.hdrlen < record_header_size) [[unlikely]]
				return enter_checked(offset);
			asm volatile("");
			if (f.caplen > f.datalen) [[unlikely]]
				return enter_checked(offset);
			if (offset >= size_) // implied (length_ > 0); saves the end test a compare
				__builtin_unreachable();
			offset_ = offset;
			return;
		}
		enter_checked(offset);
	}

	void enter_checked(std::size_t offset) noexcept
	{
		// offset is at most 7 past the end: the last record need not be padded.
		if (offset >= size_ || size_ - offset < record_header_size)
			return stop(offset);
		const auto f = detail::read_fields(base_ + offset); // unused fields: not loaded
		const std::size_t length = f.hdrlen + std::size_t{f.caplen}; // < 2^33: no wrap
		if (f.hdrlen < record_header_size || length > size_ - offset || f.caplen > f.datalen)
			return stop(offset);
		if (offset >= size_)
			__builtin_unreachable();
		offset_ = offset;
		length_ = length;
		step_ = align_record(length);
		last_fit_ = size_ - length;
	}

	// The walk ends at offset: normally (at or past the end of the buffer)
	// or at a corrupt record.
	void stop(std::size_t offset) noexcept
	{
		if (offset < size_)
			detail::report_corrupt(status_, {base_, size_}, offset);
		offset_ = size_;
		step_ = 1; // past last_fit_ (<= size_): a stray ++ at the end stays there
	}

	const std::byte *base_ = nullptr;
	std::size_t size_ = 0;
	std::size_t offset_ = 0;   // of the current record; size_ at the end
	std::size_t length_ = 0;   // current record's hdrlen + caplen (>= header size)
	std::size_t step_ = 0;     // to the next record: length_, aligned
	std::size_t last_fit_ = 0; // the last offset a record of length_ fits at
	ParseStatus *status_ = nullptr;
	std::uint64_t frac_scale_ = 1; // to nanoseconds; 0: a walk over views
};

} // namespace tap
