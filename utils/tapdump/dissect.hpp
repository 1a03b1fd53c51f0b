// What tapdump's dissectors share: a bounds-checked view of the bytes left
// and address formatting. Internal to tapdump.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace tapdump::detail {

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

inline std::string addr(int family, const std::byte *p)
{
	char s[INET6_ADDRSTRLEN];
	return inet_ntop(family, p, s, sizeof s) ? s : "?";
}

// TCP or UDP: "src.port > dst.port: ..."; with src and dst empty (an IPv6
// header with extension headers has printed them already), "port > port: ...".
void print_ports(std::FILE *out, unsigned proto, Cursor l4, const std::string &src,
		 const std::string &dst, std::size_t l4_len);

// An IPv6 packet: extension headers and ICMPv6 as tcpdump prints them.
void print_ipv6(std::FILE *out, Cursor ip);

} // namespace tapdump::detail
