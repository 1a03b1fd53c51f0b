#include "frames.hpp"

#include <pcap/pcap.h>

#include <array>
#include <cstring>
#include <random>

namespace tap::cbpf::testing {
namespace {

class Builder {
public:
	Builder &u8(unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); return *this; }
	Builder &u16(unsigned v) { return u8(v >> 8).u8(v); }
	Builder &u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
	Builder &bytes(std::initializer_list<std::uint8_t> v) { b.insert(b.end(), v); return *this; }
	Builder &fill(std::size_t n, std::uint8_t v) { b.insert(b.end(), n, v); return *this; }
	std::size_t size() const { return b.size(); }
	void put16(std::size_t at, unsigned v) { b[at] = v >> 8; b[at + 1] = v & 0xff; }
	std::vector<std::uint8_t> b;
};

struct Rng {
	std::mt19937 gen;
	std::uint32_t below(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(gen); }
	template <typename T, std::size_t N> T pick(const std::array<T, N> &a) { return a[below(N)]; }
};

// Addresses from small pools, so "host X" and "net Y" filters do match.
constexpr std::array<std::uint32_t, 6> ipv4_pool = {0x0a000001, 0x0a000002, 0x0a000005,
						    0xc0a80101, 0xc0a80164, 0x08080808};
constexpr std::array<std::uint16_t, 12> port_pool = {80, 443, 22, 53, 123, 25, 8080, 67, 68,
						     1024, 65535, 0};

void ethernet(Builder &f, Rng &r, unsigned ethertype)
{
	static constexpr std::array<std::array<std::uint8_t, 6>, 4> macs = {{
		{0x00, 0x11, 0x22, 0x33, 0x44, 0x55},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
		{0x02, 0x00, 0x00, 0x00, 0x00, 0x02},
	}};
	auto dst = macs[r.below(4)], src = macs[r.below(4)];
	src[0] &= 0xfe; // sources are unicast
	f.b.insert(f.b.end(), dst.begin(), dst.end());
	f.b.insert(f.b.end(), src.begin(), src.end());
	f.u16(ethertype);
}

void l4(Builder &f, Rng &r, unsigned proto, std::size_t payload)
{
	if (proto == 6) { // TCP, sometimes with options
		const unsigned words = 5 + (r.below(3) == 0 ? 3 : 0);
		f.u16(r.pick(port_pool)).u16(r.pick(port_pool)).u32(r.gen()).u32(r.gen());
		static constexpr std::array<std::uint8_t, 7> flags = {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x29};
		f.u8(words << 4).u8(r.pick(flags)).u16(65535).u16(0).u16(0);
		f.fill((words - 5) * 4, 1);
	} else if (proto == 17) {
		f.u16(r.pick(port_pool)).u16(r.pick(port_pool)).u16(8 + payload).u16(0);
	} else if (proto == 1 || proto == 58) {
		static constexpr std::array<std::uint8_t, 5> types = {0, 8, 3, 128, 135};
		f.u8(r.pick(types)).u8(0).u16(0).u32(r.gen());
	}
	for (std::size_t i = 0; i < payload; ++i)
		f.u8(r.gen());
}

void ipv4(Builder &f, Rng &r, unsigned proto, std::size_t payload, bool fragment)
{
	const std::size_t start = f.size();
	const unsigned ihl = r.below(4) == 0 ? 6 : 5; // sometimes an option word
	unsigned frag = 0;
	if (fragment) {
		static constexpr std::array<std::uint16_t, 4> offsets = {0x2000, 0x2010, 0x0010, 0x4000};
		frag = r.pick(offsets);
	} else if (r.below(2)) {
		frag = 0x4000; // DF
	}
	f.u8(0x40 | ihl).u8(r.below(4) << 2).u16(0).u16(r.gen()).u16(frag);
	f.u8(r.below(2) ? 64 : 1).u8(proto).u16(0).u32(r.pick(ipv4_pool)).u32(r.pick(ipv4_pool));
	if (ihl == 6)
		f.u32(0x01010100);
	l4(f, r, proto, payload);
	f.put16(start + 2, f.size() - start);
}

void ipv6(Builder &f, Rng &r, unsigned proto, std::size_t payload)
{
	const std::size_t start = f.size();
	f.u32(0x60000000 | (r.gen() & 0xfffff)).u16(0);
	// Extension headers: hop-by-hop (0), routing (43), fragment (44), dst opts (60)
	static constexpr std::array<std::uint8_t, 5> chains = {0, 1, 2, 3, 4};
	const unsigned chain = r.pick(chains);
	std::vector<unsigned> ext;
	if (chain == 1) ext = {0};
	if (chain == 2) ext = {0, 43};
	if (chain == 3) ext = {44};
	if (chain == 4) ext = {60, 44};
	f.u8(ext.empty() ? proto : ext[0]).u8(64);
	static constexpr std::array<std::uint8_t, 16> a1 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static constexpr std::array<std::uint8_t, 16> a2 = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	static constexpr std::array<std::uint8_t, 16> a3 = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	const std::array<const std::array<std::uint8_t, 16> *, 3> pool = {&a1, &a2, &a3};
	for (int i = 0; i < 2; ++i) {
		auto *a = pool[r.below(3)];
		f.b.insert(f.b.end(), a->begin(), a->end());
	}
	for (std::size_t i = 0; i < ext.size(); ++i) {
		const unsigned next = i + 1 < ext.size() ? ext[i + 1] : proto;
		if (ext[i] == 44)
			f.u8(next).u8(0).u16(r.below(2) ? 0x0001 : 0x0100).u32(r.gen());
		else
			f.u8(next).u8(0).u16(0).u32(0);
	}
	l4(f, r, proto, payload);
	f.put16(start + 4, f.size() - start - 40);
}

Frame one_frame(Rng &r)
{
	Builder f;
	static constexpr std::array<std::uint8_t, 4> protos = {6, 17, 1, 47};
	const std::size_t payload = r.below(4) == 0 ? r.below(1400) : r.below(64);
	switch (r.below(14)) {
	case 0: case 1: case 2: case 3:
		ethernet(f, r, 0x0800);
		ipv4(f, r, r.pick(protos), payload, false);
		break;
	case 4:
		ethernet(f, r, 0x0800);
		ipv4(f, r, r.pick(protos), payload, true);
		break;
	case 5: case 6: {
		static constexpr std::array<std::uint8_t, 3> p6 = {6, 17, 58};
		ethernet(f, r, 0x86dd);
		ipv6(f, r, r.pick(p6), payload);
		break;
	}
	case 7: { // 802.1Q, sometimes QinQ
		const bool qinq = r.below(3) == 0;
		ethernet(f, r, qinq ? 0x88a8 : 0x8100);
		static constexpr std::array<std::uint16_t, 4> vids = {10, 100, 4095, 1};
		if (qinq)
			f.u16(r.pick(vids)).u16(0x8100);
		f.u16((r.below(8) << 13) | r.pick(vids));
		if (r.below(4) == 0) {
			f.u16(0x86dd);
			ipv6(f, r, 6, payload);
		} else {
			f.u16(0x0800);
			ipv4(f, r, r.pick(protos), payload, r.below(5) == 0);
		}
		break;
	}
	case 8: { // MPLS: one to three labels, then IPv4 or IPv6 by first nibble
		ethernet(f, r, r.below(4) ? 0x8847 : 0x8848);
		const unsigned labels = 1 + r.below(3);
		static constexpr std::array<std::uint32_t, 4> values = {16, 100, 1048575, 3};
		for (unsigned i = 0; i < labels; ++i)
			f.u32((r.pick(values) << 12) | (i + 1 == labels ? 0x100 : 0) | 64);
		if (r.below(3) == 0)
			ipv6(f, r, 17, payload);
		else
			ipv4(f, r, r.pick(protos), payload, false);
		break;
	}
	case 9: // ARP / RARP
		ethernet(f, r, r.below(5) ? 0x0806 : 0x8035);
		f.u16(1).u16(0x0800).u8(6).u8(4).u16(1 + r.below(4));
		f.bytes({0, 0x11, 0x22, 0x33, 0x44, 0x55}).u32(r.pick(ipv4_pool));
		f.fill(6, 0).u32(r.pick(ipv4_pool));
		break;
	case 10: { // 802.3 length + LLC (STP, IPX, SNAP)
		ethernet(f, r, 0);
		const std::size_t at = 12;
		static constexpr std::array<std::uint8_t, 3> saps = {0x42, 0xe0, 0xaa};
		const auto sap = r.pick(saps);
		f.u8(sap).u8(sap).u8(3);
		if (sap == 0xaa)
			f.bytes({0, 0, 0}).u16(0x0800);
		f.fill(r.below(60), 0x5a);
		f.put16(at, f.size() - 14);
		break;
	}
	case 11: // PPPoE session carrying IPv4
		ethernet(f, r, 0x8864);
		f.u8(0x11).u8(0).u16(r.below(4)).u16(0).u16(0x0021);
		ipv4(f, r, r.pick(protos), payload, false);
		break;
	case 12: // IPv4 with unusual protocols (SCTP, IGMP, ESP, GRE)
		ethernet(f, r, 0x0800);
		ipv4(f, r, std::array<unsigned, 4>{132, 2, 50, 47}[r.below(4)], payload, r.below(3) == 0);
		break;
	default: { // tiny or odd frames
		const unsigned n = r.below(20);
		f.fill(n, static_cast<std::uint8_t>(r.gen()));
		break;
	}
	}
	Frame frame{std::move(f.b), 0};
	frame.wire_len = static_cast<std::uint32_t>(frame.bytes.size());
	return frame;
}

} // namespace

std::vector<Frame> generated_frames(std::uint32_t seed)
{
	Rng r{std::mt19937(seed)};
	std::vector<Frame> frames;
	for (int i = 0; i < 3000; ++i) {
		Frame f = one_frame(r);
		// The same frame truncated: at every header boundary region, by a snap length.
		if (r.below(3) == 0 && !f.bytes.empty()) {
			Frame cut = f;
			cut.bytes.resize(r.below(static_cast<std::uint32_t>(f.bytes.size())));
			frames.push_back(std::move(cut));
		}
		// Some frames claim a longer wire length than captured (snaplen 96).
		if (r.below(4) == 0 && f.bytes.size() > 96) {
			Frame snapped = f;
			snapped.bytes.resize(96);
			frames.push_back(std::move(snapped));
		}
		frames.push_back(std::move(f));
	}
	return frames;
}

Capture read_capture(const std::string &path)
{
	Capture capture;
	capture.name = path;
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path.c_str(), err);
	if (p == nullptr)
		return capture;
	capture.linktype = pcap_datalink(p);
	pcap_pkthdr *header;
	const u_char *data;
	while (pcap_next_ex(p, &header, &data) == 1)
		capture.frames.push_back(Frame{std::vector<std::uint8_t>(data, data + header->caplen), header->len});
	pcap_close(p);
	return capture;
}

bool write_pcap(const std::string &path, const std::vector<Frame> &frames)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	if (dead == nullptr)
		return false;
	pcap_dumper_t *out = pcap_dump_open(dead, path.c_str());
	if (out == nullptr) {
		pcap_close(dead);
		return false;
	}
	long usec = 0;
	for (const Frame &f : frames) {
		pcap_pkthdr h{};
		h.ts.tv_sec = 1700000000 + usec / 1000000;
		h.ts.tv_usec = usec % 1000000;
		usec += 1000;
		h.caplen = static_cast<bpf_u_int32>(f.bytes.size());
		h.len = f.wire_len;
		pcap_dump(reinterpret_cast<u_char *>(out), &h, f.bytes.data());
	}
	pcap_dump_close(out);
	pcap_close(dead);
	return true;
}

} // namespace tap::cbpf::testing
