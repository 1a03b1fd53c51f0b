// The RSS key libtap gives a multi-queue port. Its own header so the host
// tests can hash with it (tests/host/dpdk/test_group.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tap::dpdk {

// The Microsoft/Intel default RSS key with its 16-bit pattern repeated:
// hash(src, dst) == hash(dst, src), so both directions of a flow land on
// the same queue (Woo and Park, "Scalable TCP Session Monitoring with RSS").
inline std::vector<std::uint8_t> symmetric_rss_key(std::size_t size)
{
	std::vector<std::uint8_t> key(size);
	for (std::size_t i = 0; i < size; ++i)
		key[i] = (i % 2) ? 0x5a : 0x6d;
	return key;
}

} // namespace tap::dpdk
