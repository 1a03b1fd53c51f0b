// Test helpers for guest tests (see testnet.hpp).
#include "testnet.hpp"

#include "rtnl.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace testnet {

Fd &Fd::operator=(Fd &&o) noexcept
{
	if (this != &o) {
		reset();
		fd_ = std::exchange(o.fd_, -1);
	}
	return *this;
}

Fd::~Fd() { reset(); }

void Fd::reset()
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = -1;
}

int sh_status(const std::string &cmd)
{
	int rc = std::system(cmd.c_str());
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

void sh(const std::string &cmd)
{
	if (sh_status(cmd) != 0)
		throw std::runtime_error("command failed: " + cmd);
}

Veth::Veth(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b))
{
	rtnl::del_link(a_);	// a pair a crashed test left behind
	rtnl::add_veth_up(a_, b_);
}

Veth::~Veth() { rtnl::del_link(a_); }

PacketSocket::PacketSocket(const std::string &ifname)
	: fd_(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL)))
{
	if (!fd_)
		throw std::runtime_error("AF_PACKET socket: " + std::string(strerror(errno)));
	sockaddr_ll sll{};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
	if (::bind(fd_.get(), reinterpret_cast<sockaddr *>(&sll), sizeof(sll)) != 0)
		throw std::runtime_error("bind AF_PACKET to " + ifname);
	// Reinsert VLAN tags in what we read back, as the tap does.
	int one = 1;
	::setsockopt(fd_.get(), SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
}

void PacketSocket::send(std::span<const uint8_t> frame) const
{
	for (;;) {
		ssize_t n = ::send(fd_.get(), frame.data(), frame.size(), 0);
		if (n == static_cast<ssize_t>(frame.size()))
			return;
		// The socket is non-blocking for drain(); a full queue means wait.
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			pollfd p{fd_.get(), POLLOUT, 0};
			::poll(&p, 1, 100);
			continue;
		}
		throw std::runtime_error("AF_PACKET send: " + std::string(strerror(errno)));
	}
}

std::vector<Bytes> PacketSocket::drain(std::chrono::milliseconds quiet) const
{
	std::vector<Bytes> out;
	uint8_t buf[65536 + 4];
	for (;;) {
		pollfd p{fd_.get(), POLLIN, 0};
		if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
			break;
		iovec iov{buf, sizeof(buf)};
		alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(tpacket_auxdata))];
		msghdr msg{};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl;
		msg.msg_controllen = sizeof(ctl);
		ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_TRUNC);
		if (n < 0)
			break;
		Bytes f(buf, buf + std::min<size_t>(n, sizeof(buf)));
		for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			tpacket_auxdata aux;
			std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if ((aux.tp_status & TP_STATUS_VLAN_VALID) && f.size() >= 12) {
				uint16_t tpid = htons((aux.tp_status & TP_STATUS_VLAN_TPID_VALID)
							      ? aux.tp_vlan_tpid : ETH_P_8021Q);
				uint16_t tci = htons(aux.tp_vlan_tci);
				uint8_t tag[4];
				std::memcpy(tag, &tpid, 2);
				std::memcpy(tag + 2, &tci, 2);
				f.insert(f.begin() + 12, tag, tag + 4);
			}
		}
		out.push_back(std::move(f));
	}
	return out;
}

Fd open_bpf(const std::string &ifname, unsigned bufsize, bool immediate)
{
	Fd fd(::open("/dev/bpf", O_RDWR));
	if (!fd)
		throw std::runtime_error("open /dev/bpf: " + std::string(strerror(errno)));
	if (::ioctl(fd.get(), BIOCSBLEN, &bufsize) != 0)
		throw std::runtime_error("BIOCSBLEN");
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	if (::ioctl(fd.get(), BIOCSETIF, &ifr) != 0)
		throw std::runtime_error("BIOCSETIF " + ifname + ": " + strerror(errno));
	unsigned on = immediate ? 1 : 0;
	if (::ioctl(fd.get(), BIOCIMMEDIATE, &on) != 0)
		throw std::runtime_error("BIOCIMMEDIATE");
	return fd;
}

unsigned blen(int fd)
{
	unsigned n = 0;
	if (::ioctl(fd, BIOCGBLEN, &n) != 0)
		throw std::runtime_error("BIOCGBLEN");
	return n;
}

int setf(int fd, std::vector<bpf_insn> insns, unsigned long cmd)
{
	bpf_program prog{static_cast<unsigned>(insns.size()), insns.data()};
	return ::ioctl(fd, cmd, &prog) == 0 ? 0 : errno;
}

int setif(int fd, const std::string &ifname)
{
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	return ::ioctl(fd, BIOCSETIF, &ifr) == 0 ? 0 : errno;
}

std::vector<Record> parse(std::span<const uint8_t> buf, bool xhdr)
{
	std::vector<Record> out;
	size_t off = 0;
	while (off < buf.size()) {
		EXPECT_EQ(off % BPF_ALIGNMENT, 0u) << "record not aligned";
		if (buf.size() - off < SIZEOF_BPF_HDR(struct bpf_hdr)) {
			ADD_FAILURE() << "truncated header at " << off;
			break;
		}
		Record r;
		if (xhdr) {
			bpf_xhdr h;
			std::memcpy(&h, buf.data() + off, SIZEOF_BPF_HDR(struct bpf_xhdr));
			r.sec = h.bh_tstamp.bt_sec;
			r.frac = static_cast<int64_t>(h.bh_tstamp.bt_frac);
			r.caplen = h.bh_caplen;
			r.datalen = h.bh_datalen;
			r.hdrlen = h.bh_hdrlen;
		} else {
			bpf_hdr h;
			std::memcpy(&h, buf.data() + off, SIZEOF_BPF_HDR(struct bpf_hdr));
			r.sec = h.bh_tstamp.tv_sec;
			r.frac = h.bh_tstamp.tv_usec;
			r.caplen = h.bh_caplen;
			r.datalen = h.bh_datalen;
			r.hdrlen = h.bh_hdrlen;
		}
		if (r.hdrlen < SIZEOF_BPF_HDR(struct bpf_hdr) ||
		    off + r.hdrlen + r.caplen > buf.size()) {
			ADD_FAILURE() << "record runs past the buffer at " << off;
			break;
		}
		const uint8_t *p = buf.data() + off + r.hdrlen;
		r.data.assign(p, p + r.caplen);
		out.push_back(std::move(r));
		off += BPF_WORDALIGN(static_cast<size_t>(r.hdrlen) + r.caplen);
	}
	return out;
}

std::vector<Record> read_all(int fd, std::chrono::milliseconds quiet, bool xhdr)
{
	std::vector<Record> out;
	Bytes buf(blen(fd));
	for (;;) {
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
			break;
		ssize_t n = ::read(fd, buf.data(), buf.size());
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ADD_FAILURE() << "read: " << strerror(errno);
			break;
		}
		if (n == 0)
			continue;
		auto recs = parse(std::span(buf.data(), static_cast<size_t>(n)), xhdr);
		out.insert(out.end(), std::make_move_iterator(recs.begin()),
			   std::make_move_iterator(recs.end()));
	}
	return out;
}

Bytes frame(uint16_t ethertype, size_t len, uint32_t seq)
{
	Bytes f(std::max<size_t>(len, 60));
	const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
	std::memcpy(f.data(), dst, 6);
	std::memcpy(f.data() + 6, src, 6);
	f[12] = ethertype >> 8;
	f[13] = ethertype & 0xff;
	for (size_t i = 14; i < f.size(); i++)
		f[i] = static_cast<uint8_t>(seq * 7 + i);
	uint32_t nseq = htonl(seq);
	std::memcpy(f.data() + 14, &nseq, 4);
	return f;
}

Bytes vlan_frame(uint16_t vid, uint16_t ethertype, size_t len, uint32_t seq)
{
	Bytes f = frame(ethertype, len, seq);
	const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(vid >> 8), static_cast<uint8_t>(vid)};
	f.insert(f.begin() + 12, tag, tag + 4);
	return f;
}

Bytes arp_frame(uint16_t op, const std::string &target)
{
	Bytes f(60, 0);
	const uint8_t me[6] = {0x02, 0, 0, 0, 0, 0x02};
	std::memset(f.data(), 0xff, 6);
	std::memcpy(f.data() + 6, me, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	const uint8_t fixed[8] = {0, 1, 0x08, 0, 6, 4, static_cast<uint8_t>(op >> 8),
				  static_cast<uint8_t>(op)};
	std::memcpy(f.data() + 14, fixed, 8);
	std::memcpy(f.data() + 22, me, 6);
	in_addr sender{}, tip{};
	inet_pton(AF_INET, "10.203.0.2", &sender);
	inet_pton(AF_INET, target.c_str(), &tip);
	std::memcpy(f.data() + 28, &sender, 4);
	std::memcpy(f.data() + 38, &tip, 4);
	return f;
}

bool is_arp(const Bytes &f, uint16_t op)
{
	return f.size() >= 22 && f[12] == 0x08 && f[13] == 0x06 && f[20] == (op >> 8) &&
	       f[21] == (op & 0xff);
}

std::string mac_of(const std::string &ifname)
{
	std::ifstream in("/sys/class/net/" + ifname + "/address");
	std::string mac;
	in >> mac;
	return mac;
}

bool is_promisc(const std::string &ifname)
{
	std::ifstream in("/sys/class/net/" + ifname + "/flags");
	unsigned long flags = 0;
	in >> std::hex >> flags;
	return flags & 0x100;	// IFF_PROMISC
}

void settle(std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); }

Turmoil::Turmoil(const std::string &from, const std::string &flap, const std::string &flap_peer,
		 std::chrono::milliseconds period, std::chrono::microseconds gap)
{
	traffic_ = std::thread([this, from, gap] {
		PacketSocket out(from);
		const Bytes plain = frame(kTestType, 200, 0), tagged = vlan_frame(5, kTestType, 300, 1);
		while (!stop_) {
			out.send(plain);
			out.send(tagged);
			if (gap.count())
				std::this_thread::sleep_for(gap);
		}
	});
	flapper_ = std::thread([this, flap, flap_peer, period] {
		while (!stop_) {
			// Errors ignored, as the stress wants: the pair may linger from a crash.
			try {
				rtnl::add_veth(flap, flap_peer);
				rtnl::set_up(flap);
				rtnl::set_up(flap_peer);
			} catch (const std::runtime_error &) {
			}
			std::this_thread::sleep_for(period);
			rtnl::del_link(flap);
		}
	});
}

void Turmoil::stop()
{
	stop_ = true;
	for (auto *t : {&traffic_, &flapper_})
		if (t->joinable())
			t->join();
}

} // namespace testnet
