// What the guest tests of libtap share: a veth pair of their own and an
// AF_PACKET socket to send frames out of one end.
#pragma once

#include "rtnl.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace guest {

// A veth pair, both ends up, IPv6 off (no stray ND/MLD traffic).
struct Veth {
	std::string a, b;
	Veth(std::string a_, std::string b_) : a(std::move(a_)), b(std::move(b_))
	{
		rtnl::add_veth_up(a, b, false);
	}
	~Veth() { rtnl::del_link(a); }
	Veth(const Veth &) = delete;
	Veth &operator=(const Veth &) = delete;
};

class PacketSocket {
public:
	explicit PacketSocket(const std::string &ifname)
		: fd_(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)))
	{
		if (fd_ < 0)
			throw std::runtime_error("AF_PACKET socket");
		sockaddr_ll sll{};
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_ALL);
		sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
		if (::bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof sll) != 0) {
			::close(fd_);
			throw std::runtime_error("bind " + ifname);
		}
	}
	~PacketSocket() { ::close(fd_); }
	PacketSocket(const PacketSocket &) = delete;
	PacketSocket &operator=(const PacketSocket &) = delete;

	template <class Bytes> void send(const Bytes &f) const
	{
		if (!try_send(f))
			throw std::runtime_error("send");
	}
	template <class Bytes> bool try_send(const Bytes &f) const
	{
		return ::send(fd_, f.data(), f.size(), 0) == static_cast<ssize_t>(f.size());
	}

private:
	int fd_;
};

} // namespace guest
