// Test packets: generated Ethernet frames for what real captures lack, and
// a pcap/pcapng reader for the tcpdump corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tap::cbpf::testing {

struct Frame {
	std::vector<std::uint8_t> bytes; // captured part
	std::uint32_t wire_len = 0;
};

struct Capture {
	std::string name;
	int linktype = 0;
	std::vector<Frame> frames;
};

// Deterministic DLT_EN10MB frames: IPv4/IPv6 TCP, UDP, ICMP, fragments, IP
// options, IPv6 extension headers, VLAN and QinQ, MPLS stacks, ARP, 802.3
// LLC, PPPoE, and each of them again truncated (caplen < wire length).
std::vector<Frame> generated_frames(std::uint32_t seed = 1);

// Every packet of a pcap or pcapng file; empty capture on error.
Capture read_capture(const std::string &path);

// Writes frames as a DLT_EN10MB pcap file; false on error.
bool write_pcap(const std::string &path, const std::vector<Frame> &frames);

} // namespace tap::cbpf::testing
