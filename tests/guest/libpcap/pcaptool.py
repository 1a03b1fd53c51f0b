#!/usr/bin/env python3
"""Helpers for the libpcap guest tests (stdlib only).

  pcaptool.py send IFACE mix|flood N      raw frames out of IFACE (AF_PACKET)
  pcaptool.py cmp A.pcap B.pcap [SNAP]    same frames, in order; B truncated to SNAP
  pcaptool.py count F.pcap                number of records
  pcaptool.py dirs F.pcap MAC             "in out": frames to / from MAC
  pcaptool.py inject IFACE                pcap_inject + pcap_sendpacket via libpcap.so.0.8
  pcaptool.py both IFACE                  open bpf:IFACE and IFACE in one process, print fd kinds
"""
import ctypes, os, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ipv4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def l4(src, dst, proto, seg):
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(ph + seg)
    off = 16 if proto == 6 else 6
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]

def tcp(src, dst, sport, dport, flags):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0 if flags & 2 else 5000, 5 << 4, flags, 8192, 0, 0)
    return ipv4(src, dst, 6, l4(src, dst, 6, seg))

def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return ipv4(src, dst, 17, l4(src, dst, 17, seg))

def icmp_echo(src, dst, seq):
    m = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + b"bpfdev-ping" * 3
    m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    return ipv4(src, dst, 1, m)

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))

def ifmac(ifname):
    return mac(open("/sys/class/net/%s/address" % ifname).read().strip())

def send(ifname, kind, n=1):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    me = ifmac(ifname)
    peer = mac(os.environ.get("PEER_MAC", "ff:ff:ff:ff:ff:ff"))
    a, b = os.environ.get("SRC_IP", "10.97.0.2"), os.environ.get("DST_IP", "10.97.0.1")
    eth = lambda t, dst=peer, src=me: dst + src + struct.pack("!H", t)
    frames = []
    if kind == "mix":
        frames = [
            eth(0x0800) + icmp_echo(a, b, 1),
            eth(0x0800) + tcp(a, b, 40001, 80, 0x02),          # SYN :80
            eth(0x0800) + tcp(a, b, 40002, 80, 0x10),          # ACK :80
            eth(0x0800) + tcp(a, b, 40003, 22, 0x02),          # SYN :22
            eth(0x0800) + udp(a, b, 40004, 53, b"q" * 20),     # -> ICMP unreachable
            eth(0x8100) + struct.pack("!HH", 10, 0x0800) + udp(a, b, 40005, 9, b"vlan10"),
            eth(0x8100) + struct.pack("!HH", 20, 0x0800) + udp(a, b, 40006, 9, b"vlan20"),
            eth(0x88b5, src=mac("02:00:00:00:00:99")) + b"special source" + bytes(40),
            eth(0x0800) + icmp_echo(a, b, 2),
        ]
    elif kind == "flood":
        frames = [eth(0x88b5) + struct.pack("!I", i) + bytes(182) for i in range(n)]
    for f in frames:
        s.send(f)
        if kind == "mix":
            time.sleep(0.05)
    print("sent %d frames" % len(frames))

def records(path):
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    snap = struct.unpack(e + "I", d[16:20])[0]
    off, out = 24, []
    while off + 16 <= len(d):
        _, _, incl, orig = struct.unpack(e + "IIII", d[off:off + 16])
        out.append((d[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return snap, out

def cmp(a, b, snap=None):
    _, ra = records(a)
    sb, rb = records(b)
    if snap is not None:
        ra = [(x[:snap], o) for x, o in ra]
        if sb != snap:
            print("snaplen in header %d, expected %d" % (sb, snap)); return 1
    if ra == rb:
        print("%d frames identical" % len(ra)); return 0
    print("differ: %d vs %d frames" % (len(ra), len(rb)))
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x != y:
            print("first difference at frame %d: len %d/%d orig %d/%d" % (i, len(x[0]), len(y[0]), x[1], y[1]))
            break
    return 1

def dirs(path, m):
    m = mac(m)
    _, r = records(path)
    print(sum(1 for x, _ in r if x[:6] == m), sum(1 for x, _ in r if x[6:12] == m))

def lib():
    L = ctypes.CDLL("libpcap.so.0.8")
    L.pcap_open_live.restype = ctypes.c_void_p
    L.pcap_open_live.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
    for f in ("pcap_inject", "pcap_sendpacket"):
        getattr(L, f).argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    L.pcap_fileno.argtypes = [ctypes.c_void_p]
    L.pcap_geterr.argtypes = [ctypes.c_void_p]
    L.pcap_geterr.restype = ctypes.c_char_p
    L.pcap_lib_version.restype = ctypes.c_char_p
    return L

def inject(ifname):
    L = lib()
    err = ctypes.create_string_buffer(256)
    p = L.pcap_open_live(ifname.encode(), 65535, 0, 100, err)
    if not p:
        print("open failed:", err.value.decode()); return 1
    me = ifmac(ifname)
    peer = mac(os.environ["PEER_MAC"])
    f1 = peer + me + struct.pack("!H", 0x88b6) + b"pcap_inject" + bytes(40)
    f2 = peer + me + struct.pack("!H", 0x88b6) + b"pcap_sendpacket" + bytes(40)
    n = L.pcap_inject(p, f1, len(f1))
    r = L.pcap_sendpacket(p, f2, len(f2))
    print("pcap_inject=%d (of %d) pcap_sendpacket=%d %s" % (n, len(f1), r, L.pcap_geterr(p).decode()))
    return 0 if n == len(f1) and r == 0 else 1

def both(ifname):
    L = lib()
    err = ctypes.create_string_buffer(256)
    kinds = []
    for name in ("bpf:" + ifname, ifname):
        p = L.pcap_open_live(name.encode(), 65535, 0, 100, err)
        if not p:
            print("open %s failed: %s" % (name, err.value.decode())); return 1
        fd = L.pcap_fileno(p)
        kinds.append("%s=%s" % (name, os.readlink("/proc/self/fd/%d" % fd)))
    print(" ".join(kinds), L.pcap_lib_version().decode())
    return 0

if __name__ == "__main__":
    c, a = sys.argv[1], sys.argv[2:]
    if c == "send":
        send(a[0], a[1], int(a[2]) if len(a) > 2 else 1)
    elif c == "cmp":
        sys.exit(cmp(a[0], a[1], int(a[2]) if len(a) > 2 else None))
    elif c == "count":
        print(len(records(a[0])[1]))
    elif c == "dirs":
        dirs(a[0], a[1])
    elif c == "inject":
        sys.exit(inject(a[0]))
    elif c == "both":
        sys.exit(both(a[0]))
