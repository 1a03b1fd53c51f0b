// IPv6 as tcpdump 4.99 prints it at its default verbosity: the chain of
// extension headers (hop-by-hop "HBH", destination options "DSTOPT",
// routing "RT6 (...)", fragment "frag (offset|length)"), then TCP, UDP or
// ICMPv6. What it cannot read prints " [|proto]" with tcpdump's protocol
// names. Not decoded as tcpdump would: hex dumps of unknown ICMPv6 types
// and codes, MLDv2 queries, ICMPv6 options (-v only in tcpdump anyway).
#include "dissect.hpp"

namespace tapdump::detail {
namespace {

std::string ip6(const Cursor &c, std::size_t at)
{
	return addr(AF_INET6, c.at(at));
}

void trunc(std::FILE *out, const char *proto)
{
	std::fprintf(out, " [|%s]", proto);
}

// Routing header (RFC 8200 4.4): types 0 and 2 list addresses, type 4 is
// the segment routing header (RFC 8754). Returns its length, 0 to stop.
std::size_t print_routing(std::FILE *out, const Cursor &rt)
{
	if (!rt.has(4)) {
		trunc(out, "rt6");
		return 0;
	}
	const unsigned len = rt.u8(1), type = rt.u8(2);
	std::fprintf(out, "RT6 (len=%u, type=%u%s, segleft=%u", len, type, type == 0 ? " [Deprecated]" : "",
		     rt.u8(3));
	unsigned addresses = 0;
	switch (type) {
	case 0:
	case 2:
		if (!rt.has(8))
			return trunc(out, "rt6"), 0;
		if (rt.u32(4) != 0)
			std::fprintf(out, ", rsv=0x%x", rt.u32(4));
		if (len % 2 == 1) {
			std::fputs(" (invalid)", out);
			return 0;
		}
		addresses = len / 2;
		break;
	case 4:
		if (!rt.has(8))
			return trunc(out, "rt6"), 0;
		std::fprintf(out, ", last-entry=%u", rt.u8(4));
		if (rt.u8(5) != 0)
			std::fprintf(out, ", flags=0x%x", rt.u8(5));
		std::fprintf(out, ", tag=%x", rt.u16(6));
		addresses = len / 2; // as tcpdump: by length, not last-entry
		break;
	default:
		std::fputs(" (unknown type) (invalid)", out);
		return 0;
	}
	for (unsigned i = 0; i < addresses; ++i) {
		if (!rt.has(8 + 16 * (i + 1)))
			return trunc(out, "rt6"), 0;
		std::fprintf(out, ", [%u]%s", i, ip6(rt, 8 + 16 * i).c_str());
	}
	std::fputs(") ", out);
	return (len + 1) * 8u;
}

// The invoking packet an ICMPv6 error quotes starts 8 bytes in.
constexpr std::size_t quoted = 8;

const char *unreach_code(unsigned code)
{
	switch (code) {
	case 0: return "unreachable route";
	case 1: return " unreachable prohibited"; // sic: tcpdump prints two spaces
	case 2: return "beyond scope";
	case 3: return "unreachable address";
	case 4: return "unreachable port";
	default: return nullptr;
	}
}

const char *param_code(unsigned code)
{
	switch (code) {
	case 0: return "erroneous";
	case 1: return "next header";
	case 2: return "option";
	case 3: return "incomplete header chain";
	default: return nullptr;
	}
}

const char *icmp6_name(unsigned type)
{
	switch (type) {
	case 1: return "destination unreachable";
	case 2: return "packet too big";
	case 3: return "time exceeded in-transit";
	case 4: return "parameter problem";
	case 128: return "echo request";
	case 129: return "echo reply";
	case 130: return "multicast listener query";
	case 131: return "multicast listener report";
	case 132: return "multicast listener done";
	case 133: return "router solicitation";
	case 134: return "router advertisement";
	case 135: return "neighbor solicitation";
	case 136: return "neighbor advertisement";
	case 137: return "redirect";
	case 143: return "multicast listener report v2";
	default: return nullptr;
	}
}

// Returns false when it stopped at missing bytes (tcpdump then prints no length).
bool print_icmp6_body(std::FILE *out, unsigned type, unsigned code, const Cursor &m, std::size_t len)
{
	switch (type) {
	case 1: {
		const char *what = unreach_code(code);
		if (!what) {
			std::fprintf(out, ", unknown unreach code (%u)", code);
			return true;
		}
		std::fprintf(out, ", %s", what);
		const Cursor inner = m.skip(quoted);
		if (code == 4) {
			// The port of the quoted TCP or UDP header.
			if (!inner.has(40 + 4) || (inner.u8(6) != 6 && inner.u8(6) != 17))
				return trunc(out, "icmp6"), false;
			std::fprintf(out, ", %s %s port %u", ip6(inner, 24).c_str(),
				     inner.u8(6) == 6 ? "tcp" : "udp", inner.u16(40 + 2));
			return true;
		}
		if (!inner.has(40))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, " %s", ip6(inner, 24).c_str());
		if (code == 2)
			std::fprintf(out, ", source address %s", ip6(inner, 8).c_str());
		return true;
	}
	case 2:
		if (!m.has(8))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, ", mtu %u", m.u32(4));
		return true;
	case 3:
		if (code == 0) {
			const Cursor inner = m.skip(quoted);
			if (!inner.has(40))
				return trunc(out, "icmp6"), false;
			std::fprintf(out, " for %s", ip6(inner, 24).c_str());
		} else if (code == 1) {
			std::fputs(" (reassembly)", out);
		} else {
			std::fprintf(out, ", unknown code (%u)", code);
		}
		return true;
	case 4: {
		if (!m.has(8))
			return trunc(out, "icmp6"), false;
		if (const char *what = param_code(code))
			std::fprintf(out, ", %s", what);
		else
			std::fprintf(out, ", unknown code (%u)", code);
		std::fprintf(out, " - octet %u", m.u32(4));
		return true;
	}
	case 128:
	case 129:
		if (!m.has(8))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, ", id %u, seq %u", m.u16(4), m.u16(6));
		return true;
	case 130:
	case 131:
	case 132:
		// MLDv1 (a v2 query is longer; its fields are not decoded here).
		if (len != 24)
			return true;
		if (!m.has(24))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, "max resp delay: %u addr: %s", m.u16(4), ip6(m, 8).c_str());
		return true;
	case 135:
	case 136:
		if (!m.has(24))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, type == 135 ? ", who has %s" : ", tgt is %s", ip6(m, 8).c_str());
		return true;
	case 137:
		if (!m.has(40))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, ", %s to %s", ip6(m, 24).c_str(), ip6(m, 8).c_str());
		return true;
	case 143:
		if (!m.has(8))
			return trunc(out, "icmp6"), false;
		std::fprintf(out, ", %u group record(s)", m.u16(6));
		return true;
	default: // 133, 134 (their options are printed with -v only), unknown types
		return true;
	}
}

void print_icmp6(std::FILE *out, const Cursor &m, std::size_t len)
{
	if (!m.has(2))
		return trunc(out, "icmp6");
	const unsigned type = m.u8(0);
	if (const char *name = icmp6_name(type))
		std::fprintf(out, "ICMP6, %s", name);
	else
		std::fprintf(out, "ICMP6, unknown icmp6 type (%u)", type);
	if (print_icmp6_body(out, type, m.u8(1), m, len))
		std::fprintf(out, ", length %zu", len);
}

} // namespace

void print_ipv6(std::FILE *out, Cursor ip)
{
	if (!ip.has(40))
		return trunc(out, "ip6");
	std::fputs("IP6 ", out);
	const std::string src = ip6(ip, 8), dst = ip6(ip, 24);
	unsigned next = ip.u8(6);
	std::size_t len = ip.u16(4); // what follows the fixed header, per the header
	Cursor p = ip.skip(40);
	if (next == 6 || next == 17)
		return print_ports(out, next, p, src, dst, len);
	std::fprintf(out, "%s > %s: ", src.c_str(), dst.c_str());
	for (;;) {
		std::size_t hdr_len = 0;
		switch (next) {
		case 0:  // hop-by-hop options
		case 60: // destination options (their options print with -v only)
			if (!p.has(2) || !p.has((p.u8(1) + 1u) * 8u))
				return trunc(out, next == 0 ? "hbhopt" : "dstopt");
			std::fputs(next == 0 ? "HBH " : "DSTOPT ", out);
			hdr_len = (p.u8(1) + 1u) * 8u;
			break;
		case 43:
			hdr_len = print_routing(out, p);
			if (hdr_len == 0)
				return;
			break;
		case 44: { // fragment: only the first one is decoded further
			if (!p.has(8))
				return trunc(out, "frag6");
			const unsigned offset = p.u16(2) & 0xfff8u;
			std::fprintf(out, "frag (%u|%zu)", offset, len >= 8 ? len - 8 : 0);
			if (offset != 0)
				return;
			std::fputc(' ', out);
			hdr_len = 8;
			break;
		}
		case 59:
			std::fputs("no next header", out);
			return;
		case 58:
			return print_icmp6(out, p, len);
		case 6:
		case 17:
			return print_ports(out, next, p, {}, {}, len);
		default:
			std::fprintf(out, " ip-proto-%u %zu", next, len);
			return;
		}
		next = p.u8(0);
		len = len > hdr_len ? len - hdr_len : 0;
		p = p.skip(hdr_len);
	}
}

} // namespace tapdump::detail
