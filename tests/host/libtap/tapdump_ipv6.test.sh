#!/bin/bash
# tapdump prints IPv6 extension headers and ICMPv6 as tcpdump -nn does:
# frames built here (hop-by-hop, destination options, routing types 0, 2, 4
# and an unknown one, first and later fragments, chains of them, no next
# header, ICMPv6 errors, echo, ND, MLD, truncated captures) are printed by
# both and compared line by line, timestamps aside. Ports with application
# decoders in tcpdump (53, 80, ...) are avoided: tapdump stops at UDP/TCP.
# Usage: tapdump_ipv6.test.sh BUILD_DIR
set -u
tapdump=$1/utils/tapdump/tapdump
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/v6.pcap" "$tmp/names" <<'PY'
import struct, sys

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

A = bytes.fromhex('20010db8000000000000000000000001')
B = bytes.fromhex('20010db8000000000000000000000002')
ALL = bytes.fromhex('ff020000000000000000000000000001')
MLD = bytes.fromhex('ff020000000000000000000000000016')

def ip6(nh, payload, src=A, dst=B, hlim=64):
    return struct.pack('!IHBB', 0x60000000, len(payload), nh, hlim) + src + dst + payload
def eth(p): return bytes.fromhex('333300000001' '020000000001' '86dd') + p
def icmp6(t, c, body, src=A, dst=B):
    m = struct.pack('!BBH', t, c, 0) + body
    ck = csum(src + dst + struct.pack('!IxxxB', len(m), 58) + m)
    return m[:2] + struct.pack('!H', ck) + m[4:]
def udp(sp, dp, data): return struct.pack('!HHHH', sp, dp, 8 + len(data), 0) + data
def tcp(sp, dp, flags=0x02, data=b''):
    return struct.pack('!HHIIBBHHH', sp, dp, 1000, 77, 0x50, flags, 64240, 0, 0) + data
def hbh(nh): return bytes([nh, 0]) + b'\x05\x02\x00\x00\x01\x00'   # router alert, PadN
def dstopt(nh): return bytes([nh, 0]) + b'\x01\x04\x00\x00\x00\x00'
def rth(nh, typ, addrs, rsv=0):
    return bytes([nh, 2 * len(addrs), typ, len(addrs)]) + struct.pack('!I', rsv) + b''.join(addrs)
def frag(nh, off, more, ident): return struct.pack('!BBHI', nh, 0, off << 3 | more, ident)

quoted_udp = ip6(17, udp(5000, 6000, b'q' * 8))
quoted_tcp = ip6(6, tcp(1, 2))
mldv2 = icmp6(143, 0, struct.pack('!HH', 0, 1) + struct.pack('!BBH', 4, 0, 0) + ALL, A, MLD)
big = udp(5000, 6000, b'A' * 100)
cases = [
    ('udp', ip6(17, udp(5000, 6000, b'abcd'))),
    ('tcp with data', ip6(6, tcp(40000, 7777, 0x18, b'hello'))),
    ('echo request', ip6(58, icmp6(128, 0, struct.pack('!HH', 7, 1) + b'x' * 16))),
    ('echo reply', ip6(58, icmp6(129, 0, struct.pack('!HH', 7, 1) + b'x' * 16))),
    ('hop-by-hop + mldv2 report', ip6(0, hbh(58) + mldv2, dst=MLD, hlim=1)),
    ('mld query', ip6(0, hbh(58) + icmp6(130, 0, struct.pack('!HH', 1000, 0) + bytes(16), A, ALL), dst=ALL, hlim=1)),
    ('mld report', ip6(0, hbh(58) + icmp6(131, 0, bytes(4) + MLD, A, MLD), dst=MLD, hlim=1)),
    ('mld done', ip6(0, hbh(58) + icmp6(132, 0, bytes(4) + MLD, A, MLD), dst=MLD, hlim=1)),
    ('neighbor solicitation', ip6(58, icmp6(135, 0, bytes(4) + B + bytes([1, 1]) + bytes(6)), hlim=255)),
    ('neighbor advertisement', ip6(58, icmp6(136, 0, struct.pack('!I', 0x60000000) + B), hlim=255)),
    ('router solicitation', ip6(58, icmp6(133, 0, bytes(4), dst=ALL), dst=ALL, hlim=255)),
    ('router advertisement', ip6(58, icmp6(134, 0, struct.pack('!BBHII', 64, 0, 1800, 0, 0), dst=ALL), dst=ALL, hlim=255)),
    ('redirect', ip6(58, icmp6(137, 0, bytes(4) + B + A))),
] + [
    ('unreachable code %d' % c, ip6(58, icmp6(1, c, bytes(4) + (quoted_tcp if c == 4 else quoted_udp))))
    for c in range(5)
] + [
    ('port unreachable, udp', ip6(58, icmp6(1, 4, bytes(4) + quoted_udp))),
    ('port unreachable, quoting icmp6', ip6(58, icmp6(1, 4, bytes(4) + ip6(58, icmp6(128, 0, bytes(4)))))),
    ('packet too big', ip6(58, icmp6(2, 0, struct.pack('!I', 1280) + quoted_udp))),
    ('packet too big, cut', ip6(58, icmp6(2, 0, b'\0\0'))),
    ('time exceeded in transit', ip6(58, icmp6(3, 0, bytes(4) + quoted_udp))),
    ('time exceeded reassembly', ip6(58, icmp6(3, 1, bytes(4) + quoted_udp))),
] + [
    ('parameter problem code %d' % c, ip6(58, icmp6(4, c, struct.pack('!I', 40 + c) + quoted_udp)))
    for c in range(4)
] + [
    ('echo request, cut', ip6(58, icmp6(128, 0, b'\0\0'))),
    ('first fragment', ip6(44, frag(17, 0, 1, 0x1234) + big[:64])),
    ('later fragment', ip6(44, frag(17, 8, 0, 0x1234) + big[64:])),
    ('first fragment of tcp', ip6(44, frag(6, 0, 1, 5) + tcp(1, 2))),
    ('first fragment of icmp6', ip6(44, frag(58, 0, 0, 5) + icmp6(128, 0, struct.pack('!HH', 1, 2)))),
    ('routing type 0', ip6(43, rth(6, 0, [B]) + tcp(40000, 7777))),
    ('routing type 0, reserved set', ip6(43, rth(17, 0, [B, A], rsv=5) + udp(1, 2, b''))),
    ('routing type 2', ip6(43, rth(6, 2, [B]) + tcp(40000, 7777))),
    ('routing type 4 (SRH)', ip6(43, rth(6, 4, [B, A]) + tcp(40000, 7777))),
    ('routing, unknown type', ip6(43, rth(6, 3, [B]) + tcp(40000, 7777))),
    ('destination options', ip6(60, dstopt(17) + udp(1, 2, b'zz'))),
    ('hbh, dstopt, fragment, udp', ip6(0, hbh(60) + dstopt(44) + frag(17, 0, 0, 9) + udp(7, 9, b'chain'))),
    ('no next header', ip6(59, b'')),
    ('unknown protocol', ip6(253, b'xyz')),
    ('dstopt, unknown protocol', ip6(60, dstopt(253) + b'xyz')),
]
full = eth(ip6(0, hbh(58) + mldv2, dst=MLD, hlim=1))
out = open(sys.argv[1], 'wb')
names = open(sys.argv[2], 'w')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i, (name, p) in enumerate(cases):
    f = eth(p)
    out.write(struct.pack('<IIII', 1700000000 + i, i, len(f), len(f)) + f)
    names.write(name + '\n')
for cut in (50, 56, 60, 62, 70):  # IPv6 header, HBH and ICMPv6 each cut
    out.write(struct.pack('<IIII', 1700000100 + cut, 0, cut, len(full)) + full[:cut])
    names.write('hbh + mldv2 cut at %d bytes\n' % cut)
PY

tcpdump -nn -r "$tmp/v6.pcap" 2>/dev/null | cut -d' ' -f2- >"$tmp/theirs"
"$tapdump" -r "$tmp/v6.pcap" 2>/dev/null | cut -d' ' -f2- >"$tmp/ours"
fails=0
n=$(wc -l <"$tmp/names")
if [ "$(wc -l <"$tmp/theirs")" != "$n" ] || [ "$(wc -l <"$tmp/ours")" != "$n" ]; then
	echo "not ok - one line per frame (names $n, tcpdump $(wc -l <"$tmp/theirs"), tapdump $(wc -l <"$tmp/ours"))"
	exit 1
fi
for i in $(seq "$n"); do
	name=$(sed -n "${i}p" "$tmp/names")
	theirs=$(sed -n "${i}p" "$tmp/theirs") ours=$(sed -n "${i}p" "$tmp/ours")
	if [ "$theirs" = "$ours" ]; then
		echo "ok - ipv6 as tcpdump: $name"
	else
		echo "not ok - ipv6 as tcpdump: $name"
		echo "  # tcpdump: $theirs"
		echo "  # tapdump: $ours"
		fails=$((fails + 1))
	fi
done
[ $fails = 0 ]
