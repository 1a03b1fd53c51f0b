// libtap error codes of its own (parsing, filters, options, backends).
// Errors from the system keep their errno in std::generic_category().
// This header needs no <expected>, so the fuzz target (clang 14) can use it.
#pragma once

#include <system_error>

namespace tap {

enum class errc {
	// Batch parsing: a capture buffer that breaks the record format.
	truncated_header = 1,   // fewer bytes left than a record header
	header_too_short,       // bh_hdrlen smaller than the header itself (0 included)
	record_past_end,        // bh_hdrlen + bh_caplen runs past the buffer
	caplen_exceeds_wirelen, // more bytes captured than were on the wire
	misaligned_buffer,      // buffer start not aligned to BPF_ALIGNMENT
	// Filters and options.
	bad_filter,             // libpcap rejected the expression (message in context)
	invalid_option,         // an Options field out of range (which one: context)
	// Devices.
	unknown_backend,        // "xyz:..." with no such backend
	backend_unavailable,    // a known backend this build does not include
};

const std::error_category &category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
	return {static_cast<int>(e), category()};
}

} // namespace tap

template <> struct std::is_error_code_enum<tap::errc> : std::true_type {};
