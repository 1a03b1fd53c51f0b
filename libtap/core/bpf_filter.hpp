// The kernel backend's fallback for programs Linux's classic-BPF loader
// refuses although they are valid (BSD and libpcap run them): a scratch word
// read before any store, for one. As libpcap does, the kernel then gets an
// accept-all program and libtap's own engine (tap::cbpf: JIT or interpreter)
// decides in userland, in the capture buffer, before the batch is handed out.
#pragma once

#include <cstdint>
#include <span>

#include <tap/cbpf/filter.hpp>
#include <tap/records.hpp>

namespace tap::detail {

class UserlandFilter {
public:
	explicit UserlandFilter(cbpf::Filter engine) noexcept : engine_(std::move(engine)) {}

	// The kernel must keep whole frames: the program may read any byte of
	// the frame, not only the ones it keeps, and the kernel's own run of it
	// would have seen them all. So ret #-1 (the kernel's snap length is
	// then the frame, or what fits in the buffer).
	static constexpr std::uint32_t kernel_snap_length = 0xffffffffu;

	// Run the program over every intact record of buffer (n bytes, the
	// start of a capture buffer as read() returned it) and compact it in
	// place: a rejected record is removed, an accepted one is cut to the
	// program's return value (bh_caplen = min(return, bh_caplen)), as the
	// kernel would have stored it. Returns the new length. The walk stops
	// at a corrupt record as Batch's does and reports it to status.
	std::size_t filter_in_place(std::span<std::byte> buffer, ParseStatus &status) noexcept;

	// Records the program accepted since it was installed.
	std::uint64_t accepted() const noexcept { return accepted_; }

private:
	cbpf::Filter engine_;
	std::uint64_t accepted_ = 0;
};

} // namespace tap::detail
