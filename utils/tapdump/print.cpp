// The dissector behind tapdump's one-line summaries. Every field read goes
// through Cursor, which checks against the captured length: a truncated or
// malformed frame prints what could be read, then "[|proto]" as tcpdump does.
#include "print.hpp"

#include <net/bpf.h>

#include <ctime>
#include <optional>
#include <string>

#include "dissect.hpp"

namespace tapdump {
namespace detail {

static std::string tcp_flags(std::uint8_t f)
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

// "host.port", or only the port when the addresses were printed already.
static std::string endpoint(const std::string &host, unsigned port)
{
	return host.empty() ? std::to_string(port) : host + "." + std::to_string(port);
}

void print_ports(std::FILE *out, unsigned proto, Cursor l4, const std::string &src,
		 const std::string &dst, std::size_t l4_len)
{
	const char *name = proto == 6 ? "tcp" : "udp";
	if (!l4.has(proto == 6 ? 20 : 8)) {
		if (src.empty())
			std::fprintf(out, " [|%s]", name);
		else
			std::fprintf(out, "%s > %s: [|%s]", src.c_str(), dst.c_str(), name);
		return;
	}
	if (proto == 6) { // TCP
		// tcpdump's form, with absolute sequence numbers and no options.
		const std::size_t off = (l4.u8(12) >> 4) * 4u;
		const std::size_t data = l4_len > off ? l4_len - off : 0;
		const std::uint8_t flags = l4.u8(13);
		std::fprintf(out, "%s > %s: Flags [%s], seq %u", endpoint(src, l4.u16(0)).c_str(),
			     endpoint(dst, l4.u16(2)).c_str(), tcp_flags(flags).c_str(), l4.u32(4));
		if (data > 0)
			std::fprintf(out, ":%u", static_cast<std::uint32_t>(l4.u32(4) + data));
		if (flags & 0x10)
			std::fprintf(out, ", ack %u", l4.u32(8));
		std::fprintf(out, ", win %u, length %zu", l4.u16(14), data);
		return;
	}
	// UDP
	std::fprintf(out, "%s > %s: UDP, length %u", endpoint(src, l4.u16(0)).c_str(),
		     endpoint(dst, l4.u16(2)).c_str(), l4.u16(4) >= 8 ? l4.u16(4) - 8u : 0u);
}

} // namespace detail

namespace {

using detail::addr;
using detail::Cursor;

std::string mac(const Cursor &c, std::size_t at)
{
	char s[18];
	std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", c.u8(at), c.u8(at + 1), c.u8(at + 2),
		      c.u8(at + 3), c.u8(at + 4), c.u8(at + 5));
	return s;
}

// Transport layer after an IPv4 header: "src[.port] > dst[.port]: ...".
void print_transport(std::FILE *out, unsigned proto, Cursor l4, const std::string &src,
		     const std::string &dst, std::size_t l4_len)
{
	switch (proto) {
	case 6:
	case 17:
		detail::print_ports(out, proto, l4, src, dst, l4_len);
		return;
	case 1: // ICMP
		if (!l4.has(4)) {
			std::fprintf(out, "%s > %s: [|icmp]", src.c_str(), dst.c_str());
			return;
		}
		{
			const unsigned type = l4.u8(0);
			std::fprintf(out, "%s > %s: ICMP", src.c_str(), dst.c_str());
			if ((type == 8 || type == 0) && l4.has(8))
				std::fprintf(out, " echo %s, id %u, seq %u", type == 8 ? "request" : "reply",
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
		print_transport(out, ip.u8(9), ip.skip(ihl), src, dst, l4_len);
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
	case 0x86dd: detail::print_ipv6(out, payload); break;
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
			detail::print_ipv6(out, c);
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
