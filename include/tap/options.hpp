// How to open a Device. Every field has a working default; validate()
// checks ranges before any descriptor is opened.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tap/error.hpp>
#include <tap/filter.hpp>

namespace tap {

enum class Direction : std::uint8_t {
	in,    // frames the interface received
	out,   // frames it sent
	inout, // both
};

struct Options {
	static constexpr std::uint32_t max_snap_length = 262144; // libpcap's maximum

	// Capture buffer size in bytes (BIOCSBLEN); the kernel may clamp it
	// to its maximum: Device::buffer_size() tells what was granted.
	std::size_t buffer_size = 2 * 1024 * 1024;
	// Bytes kept of each packet (1..max_snap_length).
	std::uint32_t snap_length = max_snap_length;
	bool promiscuous = false;
	// Hand packets over as they arrive instead of when a buffer fills.
	bool immediate = false;
	// The longest a captured packet waits in a part-filled buffer before
	// read() returns it (BIOCSRTIMEOUT); 0 = until the buffer is full.
	// The short default avoids the one-second surprise of other libraries.
	std::chrono::milliseconds read_timeout{20};
	Direction direction = Direction::inout;
	// Zero-copy buffers (bpf(4) BIOCSETZBUF) where the module offers them:
	// records are read where the kernel wrote them, no read() per buffer.
	// false forces copy mode (BIOCSBLEN and read()).
	bool zero_copy = true;
	// Writes carry their own link-layer source address (BIOCSHDRCMPLT).
	bool header_complete = false;
	// A tcpdump expression, compiled for the device's link type and snap
	// length; or a ready program. At most one of the two.
	std::string filter;
	std::optional<Filter> filter_program;
	// DPDK only: the EAL command line for the process's one EAL, started by
	// the first "dpdk:" open (argv without the program name). Empty: the
	// environment variable LIBTAP_DPDK_EAL_ARGS (split at blanks) if set,
	// else libtap's defaults, which need no hugepages (README, "DPDK").
	// Given while the EAL already runs with other arguments: an error.
	std::vector<std::string> dpdk_eal_args;
};

// errc::invalid_option with the field's name in the context.
Result<void> validate(const Options &options);

} // namespace tap
