// In-process rtnetlink for the guest tests' own interfaces: veth pairs made,
// raised and removed, IPv4 addresses and /proc/sys knobs set, with no shell
// and no `ip` or `sysctl` process. Under the debug kernel in TCG each exec
// costs about half a second, and a veth pair made the old way took nine of
// them: most of a typical debug-kernel test's time (scripts/check).
// Errors throw std::runtime_error naming the request, the interface and the
// kernel's errno.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace rtnl {

namespace detail {

// One netlink request, built in place: header, fixed part, attributes.
class Request {
public:
	Request(uint16_t type, uint16_t flags)
	{
		nlmsghdr h{};
		h.nlmsg_type = type;
		h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
		raw(&h, sizeof(h));
	}
	void raw(const void *p, size_t n)
	{
		const auto *b = static_cast<const uint8_t *>(p);
		buf_.insert(buf_.end(), b, b + n);
		buf_.resize(NLMSG_ALIGN(buf_.size()));
	}
	void attr(uint16_t type, const void *p, size_t n)
	{
		rtattr a{};
		a.rta_type = type;
		a.rta_len = static_cast<uint16_t>(RTA_LENGTH(n));
		const size_t at = buf_.size();
		buf_.resize(at + RTA_SPACE(n));
		std::memcpy(buf_.data() + at, &a, sizeof(a));
		if (n)
			std::memcpy(buf_.data() + at + RTA_LENGTH(0), p, n);
	}
	void attr(uint16_t type, const std::string &s) { attr(type, s.c_str(), s.size() + 1); }
	// A nested attribute: begin() returns where it starts, end() sets its length.
	size_t begin(uint16_t type)
	{
		const size_t at = buf_.size();
		attr(type, nullptr, 0);
		return at;
	}
	void end(size_t at)
	{
		const auto len = static_cast<uint16_t>(buf_.size() - at);
		std::memcpy(buf_.data() + at + offsetof(rtattr, rta_len), &len, sizeof(len));
	}
	// Sends the request and waits for the kernel's acknowledgement: 0 or
	// its errno. Messages before the acknowledgement go to on_reply.
	int transact(const std::function<void(const nlmsghdr &)> &on_reply = {})
	{
		const auto len = static_cast<uint32_t>(buf_.size());
		std::memcpy(buf_.data() + offsetof(nlmsghdr, nlmsg_len), &len, sizeof(len));
		const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (fd < 0)
			return errno;
		const int err = exchange(fd, on_reply);
		::close(fd);
		return err;
	}

private:
	int exchange(int fd, const std::function<void(const nlmsghdr &)> &on_reply)
	{
		sockaddr_nl kernel{};
		kernel.nl_family = AF_NETLINK;
		if (::sendto(fd, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr *>(&kernel),
			     sizeof(kernel)) < 0)
			return errno;
		alignas(nlmsghdr) uint8_t reply[8192];
		for (;;) {
			ssize_t n = ::recv(fd, reply, sizeof(reply), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? errno : EPROTO;
			int left = static_cast<int>(n);
			for (auto *h = reinterpret_cast<nlmsghdr *>(reply); NLMSG_OK(h, left);
			     h = NLMSG_NEXT(h, left)) {
				if (h->nlmsg_type != NLMSG_ERROR) {
					if (on_reply)
						on_reply(*h);
					continue;
				}
				nlmsgerr e;
				std::memcpy(&e, NLMSG_DATA(h), sizeof(e));
				return -e.error;
			}
		}
	}

	std::vector<uint8_t> buf_;
};

inline void check(int err, const std::string &what)
{
	if (err)
		throw std::runtime_error(what + ": " + std::strerror(err));
}

inline Request link_request(uint16_t type, uint16_t flags, const std::string &ifname,
			    unsigned change = 0, unsigned set = 0)
{
	Request r(type, flags);
	ifinfomsg ifi{};
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_change = change;
	ifi.ifi_flags = set;
	r.raw(&ifi, sizeof(ifi));
	r.attr(IFLA_IFNAME, ifname);
	return r;
}

} // namespace detail

// Removes a link (its veth peer goes with it): 0, or the errno (ENODEV: none).
inline int del_link(const std::string &ifname)
{
	return detail::link_request(RTM_DELLINK, 0, ifname).transact();
}

// Raises or lowers a link (IFF_UP), as `ip link set NAME up|down`.
inline void set_up(const std::string &ifname, bool up = true)
{
	auto r = detail::link_request(RTM_NEWLINK, 0, ifname, IFF_UP, up ? IFF_UP : 0);
	detail::check(r.transact(), "RTM_NEWLINK " + ifname + (up ? " up" : " down"));
}

// IFLA_OPERSTATE values (RFC 2863) from <linux/if.h>, which clashes with
// <net/if.h>.
constexpr unsigned oper_unknown = 0, oper_up = 6;

// A link's operational state (IFLA_OPERSTATE of RTM_GETLINK).
inline unsigned operstate(const std::string &ifname)
{
	unsigned state = oper_unknown;
	auto r = detail::link_request(RTM_GETLINK, 0, ifname);
	detail::check(r.transact([&](const nlmsghdr &h) {
		if (h.nlmsg_type != RTM_NEWLINK)
			return;
		int len = static_cast<int>(h.nlmsg_len) - NLMSG_LENGTH(sizeof(ifinfomsg));
		const auto *ifi = static_cast<const ifinfomsg *>(NLMSG_DATA(&h));
		for (const rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == IFLA_OPERSTATE)
				state = *static_cast<const uint8_t *>(RTA_DATA(a));
	}), "RTM_GETLINK " + ifname);
	return state;
}

// Waits until a raised link can send. A veth end raised before its peer
// gets its carrier, and its queueing discipline, only later from linkwatch
// (after its peer comes up): until then a frame sent on it is dropped
// before any tap sees it. linkwatch sets the state and then activates the
// queues under RTNL, so once the state is up, taking RTNL (a no-op
// RTM_NEWLINK) waits out the activation too.
inline void wait_up(const std::string &ifname,
		    std::chrono::milliseconds limit = std::chrono::seconds(10))
{
	const auto end = std::chrono::steady_clock::now() + limit;
	while (operstate(ifname) != oper_up) {
		if (std::chrono::steady_clock::now() > end)
			throw std::runtime_error(ifname + ": not operationally up after " +
						 std::to_string(limit.count()) + " ms");
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	set_up(ifname);
}

// Creates the veth pair a/b, both ends down, as `ip link add a type veth peer name b`.
inline void add_veth(const std::string &a, const std::string &b)
{
	auto r = detail::link_request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, a);
	const size_t info = r.begin(IFLA_LINKINFO);
	r.attr(IFLA_INFO_KIND, "veth");
	const size_t data = r.begin(IFLA_INFO_DATA);
	const size_t peer = r.begin(VETH_INFO_PEER);
	ifinfomsg peer_ifi{};	// VETH_INFO_PEER carries the peer's ifinfomsg first
	r.raw(&peer_ifi, sizeof(peer_ifi));
	r.attr(IFLA_IFNAME, b);
	r.end(peer);
	r.end(data);
	r.end(info);
	detail::check(r.transact(), "RTM_NEWLINK veth " + a + " peer " + b);
}

// Moves a link into the namespace that `ip netns add NS` made (/run/netns/NS).
inline void move_to_netns(const std::string &ifname, const std::string &ns)
{
	const std::string what = "RTM_NEWLINK " + ifname + " netns " + ns;
	const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		detail::check(errno, what);
	auto r = detail::link_request(RTM_NEWLINK, 0, ifname);
	const auto nsfd = static_cast<uint32_t>(fd);
	r.attr(IFLA_NET_NS_FD, &nsfd, sizeof(nsfd));
	const int err = r.transact();
	::close(fd);
	detail::check(err, what);
}

// Runs fn on a thread of its own that has entered namespace NS, so that its
// netlink sockets and /proc/sys/net are NS's; rethrows what fn throws.
template <class Fn> void in_netns(const std::string &ns, Fn &&fn)
{
	std::exception_ptr failed;
	std::thread t([&] {
		try {
			const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				detail::check(errno, "open /run/netns/" + ns);
			const int err = ::setns(fd, CLONE_NEWNET) == 0 ? 0 : errno;
			::close(fd);
			detail::check(err, "setns " + ns);
			fn();
		} catch (...) {
			failed = std::current_exception();
		}
	});
	t.join();
	if (failed)
		std::rethrow_exception(failed);
}

// Adds an IPv4 address ("10.0.0.1") with its prefix length to a link.
inline void add_addr4(const std::string &ifname, const std::string &addr, unsigned prefix)
{
	const std::string what = "RTM_NEWADDR " + addr + "/" + std::to_string(prefix) + " on " + ifname;
	in_addr a{};
	if (::inet_pton(AF_INET, addr.c_str(), &a) != 1)
		throw std::runtime_error(what + ": not an IPv4 address");
	const unsigned index = ::if_nametoindex(ifname.c_str());
	if (!index)
		detail::check(errno, what);
	detail::Request r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifaddrmsg ifa{};
	ifa.ifa_family = AF_INET;
	ifa.ifa_prefixlen = static_cast<uint8_t>(prefix);
	ifa.ifa_index = index;
	r.raw(&ifa, sizeof(ifa));
	r.attr(IFA_LOCAL, &a, sizeof(a));
	r.attr(IFA_ADDRESS, &a, sizeof(a));
	detail::check(r.transact(), what);
}

// Writes /proc/sys/PATH ("net/ipv6/conf/fe0/disable_ipv6": slashes, so that
// interface names with dots need no escaping).
inline void write_sysctl(const std::string &path, const std::string &value)
{
	std::ofstream f("/proc/sys/" + path);
	f << value << '\n';
	f.flush();
	if (!f)
		throw std::runtime_error("write " + value + " to /proc/sys/" + path + ": " +
					 std::strerror(errno));
}

// No IPv6 on a link, so no neighbour discovery or MLD frames of its own.
inline void disable_ipv6(const std::string &ifname)
{
	write_sysctl("net/ipv6/conf/" + ifname + "/disable_ipv6", "1");
}

// A veth pair a/b whose two ends are up and can send (wait_up), IPv6 off
// on both first when ipv6 is false (no neighbour discovery or MLD frames).
inline void add_veth_up(const std::string &a, const std::string &b, bool ipv6 = true)
{
	add_veth(a, b);
	for (const std::string *end : {&a, &b}) {
		if (!ipv6)
			disable_ipv6(*end);
		set_up(*end);
	}
	wait_up(a);
	wait_up(b);
}

} // namespace rtnl
