// One line per packet, tcpdump style: time, link, network, transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include <tap/packet.hpp>

namespace tapdump {

struct PrintOptions {
	bool link_header = false; // -e
	bool hex = false;         // -x
};

void print_packet(std::FILE *out, const PrintOptions &opts, int datalink, tap::Timestamp when,
		  std::span<const std::byte> bytes, std::uint32_t wire_length);

} // namespace tapdump
