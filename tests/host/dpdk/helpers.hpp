// Shared pieces of the DPDK host tests: frames, pcap files, reading until
// a count arrives.
#pragma once

#include <pcap/pcap.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <tap/tap.hpp>

namespace dpdktest {

using Bytes = std::vector<std::byte>;

// An Ethernet frame of size bytes: made-up MACs, ethertype 0x88b5 (local
// experimental), a 4-byte id, then a pattern from the id.
inline Bytes frame(std::uint32_t id, std::size_t size, std::uint16_t type = 0x88b5)
{
	Bytes f(size);
	const std::uint8_t head[14] = {0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0xaa,
				       static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type)};
	for (std::size_t i = 0; i < size; ++i)
		f[i] = i < 14 ? std::byte{head[i]} : std::byte(static_cast<std::uint8_t>(id * 7 + i));
	for (int i = 0; i < 4 && 14 + i < static_cast<int>(size); ++i)
		f[14 + i] = std::byte(static_cast<std::uint8_t>(id >> (8 * i)));
	return f;
}

inline std::uint32_t id_of(std::span<const std::byte> f)
{
	std::uint32_t id = 0;
	for (int i = 0; i < 4; ++i)
		id |= std::to_integer<std::uint32_t>(f[14 + i]) << (8 * i);
	return id;
}

// Read until n packets came (copies), or a read returns nothing for 2 s.
inline std::vector<tap::Packet> read_n(tap::Device &dev, std::size_t n)
{
	std::vector<tap::Packet> got;
	while (got.size() < n) {
		auto b = dev.read(std::chrono::seconds(2));
		if (!b) {
			ADD_FAILURE() << b.error().message();
			break;
		}
		if (b->empty())
			break;
		for (auto p : *b)
			got.push_back(p.copy());
	}
	return got;
}

struct TempDir {
	std::string path;
	TempDir()
	{
		char tmpl[] = "/tmp/tapdpdk.XXXXXX";
		path = mkdtemp(tmpl);
	}
	~TempDir() { [[maybe_unused]] int rc = std::system(("rm -rf '" + path + "'").c_str()); }
};

// A microsecond pcap (what net_pcap reads) of the frames, stamps t0 + i ms.
inline void write_pcap(const std::string &path, const std::vector<Bytes> &frames)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	pcap_dumper_t *d = pcap_dump_open(dead, path.c_str());
	ASSERT_NE(d, nullptr) << pcap_geterr(dead);
	for (std::size_t i = 0; i < frames.size(); ++i) {
		pcap_pkthdr h{};
		h.ts.tv_sec = 1700000000 + static_cast<time_t>(i / 1000);
		h.ts.tv_usec = static_cast<suseconds_t>((i % 1000) * 1000 + 7);
		h.caplen = h.len = static_cast<bpf_u_int32>(frames[i].size());
		pcap_dump(reinterpret_cast<u_char *>(d), &h, reinterpret_cast<const u_char *>(frames[i].data()));
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

inline tap::Device open_or_die(const std::string &spec, const tap::Options &o = {})
{
	auto d = tap::Device::open(spec, o);
	if (!d) {
		ADD_FAILURE() << d.error().message();
		std::abort();
	}
	return std::move(*d);
}

} // namespace dpdktest
