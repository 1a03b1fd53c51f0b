// A stalled reader on a small ring: DPDK's port drops (net_pcap on a live
// interface reports the kernel ring's drops as imissed) are counted once,
// as received, accepted and dropped; received - accepted is exactly what
// the filter rejected; nothing offered goes uncounted. Runs as root in a
// network namespace of its own (a veth pair nobody else sees).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

#include <thread>

#include "helpers.hpp"

using namespace dpdktest;
using namespace std::chrono;

TEST(Overload, StalledReaderDropsAreCountedExactly)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root for a network namespace";
	ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
	ASSERT_EQ(std::system("sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && "
			      "ip link add tov0 type veth peer name tov1 && "
			      "ip link set tov0 up && ip link set tov1 up"),
		  0);
	std::this_thread::sleep_for(milliseconds(200));

	tap::Options o;
	o.filter = "ether proto 0x88b5 and ether[14] & 1 = 0"; // even ids only
	tap::Device dev = open_or_die("dpdk:net_pcap0,iface=tov1", o);

	const int s = socket(AF_PACKET, SOCK_RAW, 0);
	ASSERT_GE(s, 0);
	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = static_cast<int>(if_nametoindex("tov0"));
	to.sll_halen = ETH_ALEN;
	// 6000 frames of 1000 bytes into libpcap's 2 MiB ring, nobody reading:
	// most are dropped. Paced, so the kernel's backlog never overflows
	// before the ring does.
	constexpr std::uint32_t offered = 6000;
	for (std::uint32_t i = 0; i < offered; ++i) {
		const Bytes f = frame(i, 1000);
		ASSERT_EQ(sendto(s, f.data(), f.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to),
			  static_cast<ssize_t>(f.size()));
		if (i % 50 == 49)
			std::this_thread::sleep_for(microseconds(500));
	}
	close(s);
	std::this_thread::sleep_for(milliseconds(300));

	std::uint64_t delivered = 0;
	for (;;) {
		auto b = dev.read(milliseconds(500));
		ASSERT_TRUE(b);
		if (b->empty())
			break;
		for (auto p : *b) {
			EXPECT_EQ(id_of(p.bytes()) % 2, 0u);
			++delivered;
		}
	}
	auto st = dev.stats();
	ASSERT_TRUE(st);
	std::printf("offered %u, delivered %llu, stats received %llu accepted %llu dropped %llu\n", offered,
		    static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(st->received),
		    static_cast<unsigned long long>(st->accepted), static_cast<unsigned long long>(st->dropped));
	EXPECT_GT(st->dropped, 0u) << "the stall did not overflow the ring";
	EXPECT_EQ(st->received, offered) << "every frame offered is counted, seen or dropped";
	// What was seen: the filter kept the even ids, rejected the odd ones.
	const std::uint64_t seen = st->received - st->dropped;
	EXPECT_EQ(st->accepted - st->dropped, delivered);
	// Frames alternate odd and even ids, so the rejected are about half.
	EXPECT_LE(delivered, seen);
	EXPECT_GE(delivered + 1, seen / 2);
	EXPECT_LE(delivered, seen / 2 + 1);
}
