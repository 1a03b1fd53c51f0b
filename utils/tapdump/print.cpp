// The dissector behind tapdump's one-line summaries. Every field read goes
// through Cursor, which checks against the captured length: a truncated or
// malformed frame prints what could be read, then "[|proto]" as tcpdump does.
#include "print.hpp"

#include <arpa/inet.h>
#include <net/bpf.h>
#include <sys/socket.h>

#include <ctime>
#include <optional>
#include <string>

namespace tapdump {
namespace {

class Cursor {
public:
	explicit Cursor(std::span<const std::byte> b) : b_(b) {}
	std::size_t left() const { return b_.size(); }
	bool has(std::size_t n) const { return b_.size() >= n; }
	std::uint8_t u8(std::size_t at) const { return static_cast<std::uint8_t>(b_[at]); }
	std::uint16_t u16(std::size_t at) const { return static_cast<std::uint16_t>(u8(at) << 8 | u8(at + 1)); }
	std::uint32_t u32(std::size_t at) const
	{
		return static_cast<std::uint32_t>(u16(at)) << 16 | u16(at + 2);
	}
	const std::byte *at(std::size_t n) const { return b_.data() + n; }
	Cursor skip(std::size_t n) const { return Cursor(b_.subspan(std::min(n, b_.size()))); }

private:
	std::span<const std::byte> b_;
};

std::string mac(const Cursor &c, std::size_t at)
{
	char s[18];
	std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", c.u8(at), c.u8(at + 1), c.u8(at + 2),
		      c.u8(at + 3), c.u8(at + 4), c.u8(at + 5));
	return s;
}

std::string addr(int family, const std::byte *p)
{
	char s[INET6_ADDRSTRLEN];
	return inet_ntop(family, p, s, sizeof s) ? s : "?";
}

std::string tcp_flags(std::uint8_t f)
{
	std::string s;
	if (f & 0x02) s += 'S';
	if (f & 0x01) s += 'F';
	if (f & 0x04) s += 'R';
	if (f & 0x08) s += 'P';
	if (f & 0x20) s += 'U';
	if (f & 0x40) s += 'E';
	if (f & 0x80) s += 'W';
	if (f & 0x10) s += '.';
	return s.empty() ? "none" : s;
}

// Transport layer after an IP header: "src.port > dst.port: ..." parts.
void print_transport(std::FILE *out, unsigned proto, Cursor l4, const std::string &src,
		     const std::string &dst, std::size_t l4_len, bool v6)
{
	switch (proto) {
	case 6: // TCP
		if (!l4.has(20)) {
			std::fprintf(out, "%s > %s: [|tcp]", src.c_str(), dst.c_str());
			return;
		}
		{
			const std::size_t off = (l4.u8(12) >> 4) * 4u;
			std::fprintf(out, "%s.%u > %s.%u: Flags [%s], seq %u, ack %u, win %u, length %zu",
				     src.c_str(), l4.u16(0), dst.c_str(), l4.u16(2), tcp_flags(l4.u8(13)).c_str(),
				     l4.u32(4), l4.u32(8), l4.u16(14), l4_len > off ? l4_len - off : 0);
		}
		return;
	case 17: // UDP
		if (!l4.has(8)) {
			std::fprintf(out, "%s > %s: [|udp]", src.c_str(), dst.c_str());
			return;
		}
		std::fprintf(out, "%s.%u > %s.%u: UDP, length %u", src.c_str(), l4.u16(0), dst.c_str(),
			     l4.u16(2), l4.u16(4) >= 8 ? l4.u16(4) - 8u : 0u);
		return;
	case 1:  // ICMP
	case 58: // ICMPv6
		if (!l4.has(4)) {
			std::fprintf(out, "%s > %s: [|icmp]", src.c_str(), dst.c_str());
			return;
		}
		{
			const unsigned type = l4.u8(0);
			const bool echo_req = v6 ? type == 128 : type == 8;
			const bool echo_rep = v6 ? type == 129 : type == 0;
			std::fprintf(out, "%s > %s: %s", src.c_str(), dst.c_str(), v6 ? "ICMP6" : "ICMP");
			if ((echo_req || echo_rep) && l4.has(8))
				std::fprintf(out, " echo %s, id %u, seq %u", echo_req ? "request" : "reply",
					     l4.u16(4), l4.u16(6));
			else
				std::fprintf(out, " type %u, code %u", type, l4.u8(1));
			std::fprintf(out, ", length %zu", l4_len);
		}
		return;
	default:
		std::fprintf(out, "%s > %s: ip-proto-%u %zu", src.c_str(), dst.c_str(), proto, l4_len);
	}
}

void print_ipv4(std::FILE *out, Cursor ip)
{
	if (!ip.has(20)) {
		std::fputs("IP [|ip]", out);
		return;
	}
	const std::size_t ihl = (ip.u8(0) & 0x0f) * 4u;
	const std::size_t total = ip.u16(2);
	std::fputs("IP ", out);
	if (ihl < 20 || !ip.has(ihl)) {
		std::fputs("[|ip]", out);
		return;
	}
	const std::string src = addr(AF_INET, ip.at(12)), dst = addr(AF_INET, ip.at(16));
	const bool later_fragment = (ip.u16(6) & 0x1fff) != 0;
	const std::size_t l4_len = total > ihl ? total - ihl : 0;
	if (later_fragment)
		std::fprintf(out, "%s > %s: ip-proto-%u fragment, length %zu", src.c_str(), dst.c_str(),
			     ip.u8(9), l4_len);
	else
		print_transport(out, ip.u8(9), ip.skip(ihl), src, dst, l4_len, false);
}

void print_ipv6(std::FILE *out, Cursor ip)
{
	if (!ip.has(40)) {
		std::fputs("IP6 [|ip6]", out);
		return;
	}
	std::fputs("IP6 ", out);
	print_transport(out, ip.u8(6), ip.skip(40), addr(AF_INET6, ip.at(8)), addr(AF_INET6, ip.at(24)),
			ip.u16(4), true);
}

void print_arp(std::FILE *out, Cursor arp, std::size_t wire)
{
	// Ethernet/IPv4 ARP only; others by opcode.
	if (!arp.has(28) || arp.u16(0) != 1 || arp.u16(2) != 0x0800) {
		std::fprintf(out, "ARP, length %zu", wire);
		return;
	}
	const unsigned op = arp.u16(6);
	if (op == 1)
		std::fprintf(out, "ARP, Request who-has %s tell %s, length %zu",
			     addr(AF_INET, arp.at(24)).c_str(), addr(AF_INET, arp.at(14)).c_str(), wire);
	else if (op == 2)
		std::fprintf(out, "ARP, Reply %s is-at %s, length %zu", addr(AF_INET, arp.at(14)).c_str(),
			     mac(arp, 8).c_str(), wire);
	else
		std::fprintf(out, "ARP, opcode %u, length %zu", op, wire);
}

void print_ethertype(std::FILE *out, unsigned type, Cursor payload, std::size_t wire)
{
	switch (type) {
	case 0x0800: print_ipv4(out, payload); break;
	case 0x86dd: print_ipv6(out, payload); break;
	case 0x0806: print_arp(out, payload, wire); break;
	default: std::fprintf(out, "ethertype 0x%04x, length %zu", type, wire);
	}
}

void print_ethernet(std::FILE *out, const PrintOptions &opts, Cursor eth, std::uint32_t wire)
{
	if (!eth.has(14)) {
		std::fputs("[|ether]", out);
		return;
	}
	unsigned type = eth.u16(12);
	std::size_t off = 14;
	if (opts.link_header) {
		const char *name = type == 0x0800 ? "IPv4 " : type == 0x86dd ? "IPv6 " :
				   type == 0x0806 ? "ARP " : type == 0x8100 ? "802.1Q " : "";
		std::fprintf(out, "%s > %s, ethertype %s(0x%04x), length %u: ", mac(eth, 6).c_str(),
			     mac(eth, 0).c_str(), name, type, wire);
	}
	while ((type == 0x8100 || type == 0x88a8) && eth.has(off + 4)) {
		std::fprintf(out, "vlan %u, ", eth.u16(off) & 0x0fffu);
		type = eth.u16(off + 2);
		off += 4;
	}
	print_ethertype(out, type, eth.skip(off), wire > off ? wire - off : 0);
}

void print_hex(std::FILE *out, std::span<const std::byte> bytes)
{
	for (std::size_t i = 0; i < bytes.size(); i += 16) {
		std::fprintf(out, "\n\t0x%04zx: ", i);
		for (std::size_t j = i; j < i + 16 && j < bytes.size(); ++j)
			std::fprintf(out, "%s%02x", (j - i) % 2 == 0 ? " " : "", static_cast<unsigned>(bytes[j]));
	}
}

} // namespace

void print_packet(std::FILE *out, const PrintOptions &opts, int datalink, tap::Timestamp when,
		  std::span<const std::byte> bytes, std::uint32_t wire_length)
{
	const auto ns = when.time_since_epoch().count();
	const std::time_t sec = static_cast<std::time_t>(ns / 1'000'000'000);
	std::tm tm{};
	localtime_r(&sec, &tm);
	std::fprintf(out, "%02d:%02d:%02d.%09lld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		     static_cast<long long>(ns % 1'000'000'000));
	const Cursor c(bytes);
	switch (datalink) {
	case DLT_EN10MB: print_ethernet(out, opts, c, wire_length); break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		if (c.has(1) && (c.u8(0) >> 4) == 6)
			print_ipv6(out, c);
		else
			print_ipv4(out, c);
		break;
	default: std::fprintf(out, "link-type %d, length %u", datalink, wire_length);
	}
	if (opts.hex)
		print_hex(out, bytes);
	std::fputc('\n', out);
}

} // namespace tapdump
