// "dpdk:" device strings: DEVARGS, optionally @Q/N for receive queue Q of a
// port run with N RSS queues.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tap/error.hpp>

namespace tap::dpdk {

struct Spec {
	std::string devargs;     // what rte_dev_probe gets ("net_pcap0,rx_pcap=x")
	std::uint16_t queue = 0; // Q
	std::uint16_t queues = 1; // N; 1 without "@"
	bool queue_given = false;
};

// errc::invalid_option with name in the context for a malformed string.
Result<Spec> parse_spec(std::string_view text, const std::string &name);

} // namespace tap::dpdk
