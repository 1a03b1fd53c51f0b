// tap::CaptureGroup on dpdk: specs: member I is receive queue I of an
// N-queue port. Each packet reaches exactly one member, the members' stats
// add up to the group's, and where the vdev spreads real flows over its
// queues (net_af_packet's qpairs: the kernel's symmetric flow hash), both
// directions of a flow reach one member. No vdev here does RSS itself, so
// the symmetric key is checked by hashing with it as a NIC would (Toeplitz,
// DPDK's rte_softrss).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <rte_thash.h>

#include "helpers.hpp"
#include "rss_key.hpp"

using namespace dpdktest;
using namespace std::chrono;

namespace {

tap::CaptureGroup open_group(const std::string &spec, std::size_t members, const tap::Options &o = {})
{
	tap::GroupOptions g;
	g.members = members;
	auto r = tap::CaptureGroup::open(spec, g, o);
	if (!r) {
		ADD_FAILURE() << r.error().message();
		std::abort();
	}
	return std::move(*r);
}

// Runs the group (CaptureGroup::run, a thread per member), each member
// copying what it reads into its own list, until total packets came or 10 s
// passed; then interrupts it, as an application's signal handler would.
std::vector<std::vector<tap::Packet>> run_until(tap::CaptureGroup &group, std::size_t total)
{
	std::vector<std::vector<tap::Packet>> got(group.size());
	std::atomic<std::size_t> seen{0};
	std::thread stopper([&] {
		const auto deadline = steady_clock::now() + seconds(10);
		while (seen.load() < total && steady_clock::now() < deadline)
			std::this_thread::sleep_for(milliseconds(5));
		std::this_thread::sleep_for(milliseconds(200)); // time for a packet too many
		group.interrupt();
	});
	auto r = group.run([&](std::size_t i, tap::Device &member) -> tap::Result<void> {
		while (auto b = member.read(milliseconds(100))) {
			for (tap::PacketView p : *b) {
				got[i].push_back(p.copy());
				++seen;
			}
		}
		return {};
	});
	stopper.join();
	EXPECT_TRUE(r) << r.error().message();
	return got;
}

// The group's stats() is the members' member_stats() added up, field by field.
void expect_sum(const tap::CaptureGroup &group, const std::vector<tap::Stats> &each)
{
	auto all = group.stats();
	ASSERT_TRUE(all) << all.error().message();
	tap::Stats sum;
	for (const tap::Stats &s : each) {
		sum.received += s.received;
		sum.accepted += s.accepted;
		sum.dropped += s.dropped;
	}
	EXPECT_EQ(all->received, sum.received);
	EXPECT_EQ(all->accepted, sum.accepted);
	EXPECT_EQ(all->dropped, sum.dropped);
}

} // namespace

// net_ring: what queue q transmits comes back on receive queue q, so each
// member gets what it sent, and the filter's count is per member.
TEST(DpdkGroup, RingMembersEachPacketOnceStatsPerMemberAndSummed)
{
	constexpr std::size_t members = 3, per_member = 500;
	tap::Options o;
	o.header_complete = true;
	o.filter = "ether proto 0x88b5 and ether[14] & 1 = 0"; // even ids
	tap::CaptureGroup group = open_group("dpdk:net_ring5", members, o);
	ASSERT_EQ(group.size(), members);
	for (std::size_t m = 0; m < members; ++m) {
		std::vector<Bytes> frames;
		for (std::size_t i = 0; i < per_member; ++i)
			frames.push_back(frame(static_cast<std::uint32_t>(m * per_member + i), 60 + i % 200));
		std::vector<std::span<const std::byte>> views(frames.begin(), frames.end());
		auto n = group[m].write(views);
		ASSERT_TRUE(n) << n.error().message();
		ASSERT_EQ(*n, per_member);
	}
	auto got = run_until(group, members * per_member / 2);
	std::multiset<std::uint32_t> all;
	for (std::size_t m = 0; m < members; ++m) {
		EXPECT_EQ(got[m].size(), per_member / 2) << "member " << m;
		for (auto &p : got[m]) {
			const std::uint32_t id = id_of(p.bytes());
			EXPECT_EQ(id / per_member, m) << "id " << id << " came back on another queue";
			all.insert(id);
		}
	}
	for (std::uint32_t id = 0; id < members * per_member; ++id)
		EXPECT_EQ(all.count(id), id % 2 ? 0u : 1u) << id;
	auto each = group.member_stats();
	ASSERT_TRUE(each) << each.error().message();
	ASSERT_EQ(each->size(), members);
	for (std::size_t m = 0; m < members; ++m) {
		EXPECT_EQ((*each)[m].received, per_member) << m;
		EXPECT_EQ((*each)[m].accepted, per_member / 2) << m;
		EXPECT_EQ((*each)[m].dropped, 0u) << m;
	}
	expect_sum(group, *each);
}

// net_pcap with one rx_pcap= per queue: member I replays file I, whole and
// in order; the group's received is every frame of every file.
TEST(DpdkGroup, PcapQueuesEachFileToItsMemberInOrder)
{
	TempDir dir;
	constexpr std::size_t members = 4;
	const std::size_t sizes[members] = {300, 1, 750, 64};
	std::string spec = "dpdk:net_pcap7";
	for (std::size_t m = 0; m < members; ++m) {
		std::vector<Bytes> frames;
		for (std::size_t i = 0; i < sizes[m]; ++i)
			frames.push_back(frame(static_cast<std::uint32_t>(m << 16 | i), 60 + (i * 37) % 1400));
		const std::string path = dir.path + "/q" + std::to_string(m) + ".pcap";
		write_pcap(path, frames);
		spec += ",rx_pcap=" + path;
	}
	tap::CaptureGroup group = open_group(spec, members);
	std::size_t total = 0;
	for (std::size_t s : sizes)
		total += s;
	auto got = run_until(group, total);
	for (std::size_t m = 0; m < members; ++m) {
		ASSERT_EQ(got[m].size(), sizes[m]) << "member " << m;
		for (std::size_t i = 0; i < sizes[m]; ++i) {
			EXPECT_EQ(id_of(got[m][i].bytes()), m << 16 | i) << m << " " << i;
			EXPECT_EQ(got[m][i].bytes().size(), 60 + (i * 37) % 1400);
		}
	}
	auto each = group.member_stats();
	ASSERT_TRUE(each) << each.error().message();
	for (std::size_t m = 0; m < members; ++m) {
		EXPECT_EQ((*each)[m].received, sizes[m]) << m;
		EXPECT_EQ((*each)[m].accepted, sizes[m]) << m;
	}
	expect_sum(group, *each);
	EXPECT_EQ(group.stats()->received, total);
}

// A group larger than the port's queues is refused, naming the device.
TEST(DpdkGroup, MoreMembersThanTheVdevHasQueuesIsRefused)
{
	TempDir dir;
	write_pcap(dir.path + "/a.pcap", {frame(1, 60)});
	tap::GroupOptions g;
	g.members = 2;
	auto r = tap::CaptureGroup::open("dpdk:net_pcap8,rx_pcap=" + dir.path + "/a.pcap", g);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, std::errc::invalid_argument) << r.error().message();
	EXPECT_NE(r.error().message().find("net_pcap8"), std::string::npos) << r.error().message();
	g.members = 1; // the failed open left nothing behind: the port opens again
	EXPECT_TRUE(tap::CaptureGroup::open("dpdk:net_pcap8,rx_pcap=" + dir.path + "/a.pcap", g));
}

namespace {

// A TCP or UDP frame over IPv4 or IPv6 from (a, sport) to (b, dport) whose
// last 4 bytes are id. Addresses are 10.0.0.a / fd00::a.
Bytes flow_frame(bool v6, bool tcp, std::uint8_t a, std::uint8_t b, std::uint16_t sport, std::uint16_t dport,
		 std::uint32_t id, const std::uint8_t dst_mac[6])
{
	std::vector<std::uint8_t> f;
	f.reserve(96);
	for (int i = 0; i < 6; ++i)
		f.push_back(dst_mac[i]);
	for (std::uint8_t byte : {0x02, 0, 0, 0, 0, 0})
		f.push_back(byte);
	f.back() = a;
	auto u16 = [&](unsigned v) {
		f.push_back(static_cast<std::uint8_t>(v >> 8));
		f.push_back(static_cast<std::uint8_t>(v));
	};
	const unsigned l4 = (tcp ? 20 : 8) + 4;
	u16(v6 ? 0x86dd : 0x0800);
	if (v6) {
		u16(0x6000), u16(0), u16(l4), f.push_back(tcp ? 6 : 17), f.push_back(64);
		for (std::uint8_t host : {a, b}) {
			f.push_back(0xfd);
			for (int i = 0; i < 14; ++i)
				f.push_back(0);
			f.push_back(host);
		}
	} else {
		u16(0x4500), u16(20 + l4), u16(0), u16(0x4000), f.push_back(64), f.push_back(tcp ? 6 : 17), u16(0);
		for (std::uint8_t host : {a, b})
			f.push_back(10), f.push_back(0), f.push_back(0), f.push_back(host);
	}
	u16(sport), u16(dport);
	if (tcp)
		u16(0), u16(0), u16(0), u16(0), u16(0x5010), u16(1024), u16(0), u16(0);
	else
		u16(l4), u16(0);
	for (int i = 3; i >= 0; --i)
		f.push_back(static_cast<std::uint8_t>(id >> (8 * i)));
	Bytes out(std::max<std::size_t>(f.size(), 60));
	std::memcpy(out.data(), f.data(), f.size());
	// Short frames are padded; the id is at a known offset either way.
	return out;
}

std::uint32_t flow_id_at(std::span<const std::byte> f)
{
	const bool v6 = f[12] == std::byte{0x86};
	const bool tcp = f[v6 ? 20 : 23] == std::byte{6};
	const std::size_t at = 14 + (v6 ? 40 : 20) + (tcp ? 20 : 8);
	std::uint32_t id = 0;
	for (int i = 0; i < 4; ++i)
		id = id << 8 | std::to_integer<std::uint32_t>(f[at + static_cast<std::size_t>(i)]);
	return id;
}

} // namespace

// net_af_packet,qpairs=2 on a veth: the PMD joins its queues' packet
// sockets in a PACKET_FANOUT_HASH group, the kernel's symmetric flow hash.
// The PMD also sets PACKET_FANOUT_FLAG_ROLLOVER, which moves frames off a
// ring more than 3/4 full; with 2048-frame rings and 640 frames that never
// happens, even if the readers did not run at all while they are sent.
// 64 TCP/UDP flows over IPv4 and IPv6, both directions interleaved: each
// frame on one member, every frame of a flow (both ways) on the same one,
// both members used. Root, in a network namespace of its own.
TEST(DpdkGroup, AfPacketQueuesKeepBothDirectionsOfEachFlowOnOneMember)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root for a network namespace";
	ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
	ASSERT_EQ(std::system("sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && "
			      "ip link add tgr0 type veth peer name tgr1 && "
			      "ip link set tgr0 up && ip link set tgr1 up"),
		  0);
	std::this_thread::sleep_for(milliseconds(200));
	std::uint8_t mac[6]{}; // tgr1's (sysfs shows the namespace it was mounted in, not this one)
	{
		const int fd = socket(AF_INET, SOCK_DGRAM, 0);
		ifreq ifr{};
		std::strncpy(ifr.ifr_name, "tgr1", IFNAMSIZ - 1);
		ASSERT_EQ(ioctl(fd, SIOCGIFHWADDR, &ifr), 0) << strerror(errno);
		close(fd);
		std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	tap::Options o;
	o.filter = "tcp or udp";
	tap::CaptureGroup group = open_group("dpdk:net_af_packet0,iface=tgr1,qpairs=2,framecnt=2048", 2, o);

	constexpr unsigned flows = 64, per_direction = 5;
	const unsigned total = flows * per_direction * 2;
	std::vector<std::vector<tap::Packet>> got;
	std::thread capture([&] { got = run_until(group, total); });
	std::this_thread::sleep_for(milliseconds(100));

	const int s = socket(AF_PACKET, SOCK_RAW, 0);
	ASSERT_GE(s, 0);
	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_ifindex = static_cast<int>(if_nametoindex("tgr0"));
	to.sll_halen = ETH_ALEN;
	// id = (flow * 2 + direction) * per_direction + k
	for (unsigned k = 0; k < per_direction; ++k)
		for (unsigned fl = 0; fl < flows; ++fl)
			for (unsigned dir = 0; dir < 2; ++dir) {
				const bool v6 = fl % 2, tcp = fl / 2 % 2;
				const auto a = static_cast<std::uint8_t>(1 + fl), b = static_cast<std::uint8_t>(200 - fl);
				const auto pa = static_cast<std::uint16_t>(40000 + fl * 7), pb = static_cast<std::uint16_t>(80 + fl);
				const std::uint32_t id = (fl * 2 + dir) * per_direction + k;
				const Bytes f = dir ? flow_frame(v6, tcp, b, a, pb, pa, id, mac)
						    : flow_frame(v6, tcp, a, b, pa, pb, id, mac);
				ASSERT_EQ(sendto(s, f.data(), f.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to),
					  static_cast<ssize_t>(f.size()));
				if (id % 32 == 31)
					std::this_thread::sleep_for(microseconds(300)); // never fill a ring
			}
	close(s);
	capture.join();
	ASSERT_EQ(got.size(), 2u);

	std::map<std::uint32_t, int> member_of; // id -> member
	std::map<unsigned, std::set<int>> flow_members;
	for (int m = 0; m < 2; ++m)
		for (auto &p : got[static_cast<std::size_t>(m)]) {
			const std::uint32_t id = flow_id_at(p.bytes());
			EXPECT_TRUE(member_of.emplace(id, m).second) << "frame " << id << " on both members";
			flow_members[id / per_direction / 2].insert(m);
		}
	EXPECT_EQ(member_of.size(), total) << "every frame, once";
	for (auto &[fl, ms] : flow_members)
		EXPECT_EQ(ms.size(), 1u) << "flow " << fl << " (" << (fl % 2 ? "IPv6" : "IPv4") << " "
					 << (fl / 2 % 2 ? "TCP" : "UDP") << ") split over the members";
	std::printf("member 0: %zu frames, member 1: %zu frames\n", got[0].size(), got[1].size());
	EXPECT_GT(got[0].size(), 0u) << "the hash put every flow on member 1";
	EXPECT_GT(got[1].size(), 0u) << "the hash put every flow on member 0";

	auto each = group.member_stats();
	ASSERT_TRUE(each) << each.error().message();
	for (std::size_t m = 0; m < 2; ++m) {
		EXPECT_EQ((*each)[m].accepted, got[m].size()) << m;
		EXPECT_EQ((*each)[m].received, got[m].size()) << m << ": only our frames are on the veth";
	}
	expect_sum(group, *each);
}

namespace {

// Toeplitz over words in host order (rte_softrss's input), with the tuple's
// two endpoints given in either order.
std::uint32_t v4_hash(const std::vector<std::uint8_t> &key, std::uint32_t src, std::uint32_t dst,
		      std::uint16_t sport, std::uint16_t dport)
{
	std::uint32_t t[3] = {src, dst, std::uint32_t{sport} << 16 | dport};
	return rte_softrss(t, 3, key.data());
}

std::uint32_t v6_hash(const std::vector<std::uint8_t> &key, const std::uint32_t (&src)[4],
		      const std::uint32_t (&dst)[4], std::uint16_t sport, std::uint16_t dport)
{
	std::uint32_t t[9];
	for (int i = 0; i < 4; ++i)
		t[i] = src[i], t[4 + i] = dst[i];
	t[8] = std::uint32_t{sport} << 16 | dport;
	return rte_softrss(t, 9, key.data());
}

} // namespace

// The key libtap configures on a multi-queue port (rss_key.hpp): a NIC's
// Toeplitz hash with it is the same for both directions of IPv4 and IPv6
// flows, with and without ports, so the redirection table sends both to one
// queue; and it still spreads 4096 flows over 2 and 4 queues. The default
// Microsoft key, by contrast, is not symmetric (so this test can fail).
TEST(DpdkGroup, SymmetricRssKeyHashesBothDirectionsOfAFlowAlike)
{
	const auto key = tap::dpdk::symmetric_rss_key(40);
	ASSERT_EQ(key.size(), 40u);
	std::mt19937 rng(13);
	std::uniform_int_distribution<std::uint32_t> word;
	std::vector<unsigned> per_queue2(2), per_queue4(4);
	for (int i = 0; i < 4096; ++i) {
		const std::uint32_t a = word(rng), b = word(rng);
		const auto pa = static_cast<std::uint16_t>(word(rng)), pb = static_cast<std::uint16_t>(word(rng));
		const std::uint32_t h = v4_hash(key, a, b, pa, pb);
		ASSERT_EQ(h, v4_hash(key, b, a, pb, pa)) << "IPv4 flow " << i;
		std::uint32_t t1[2] = {a, b}, t2[2] = {b, a};
		ASSERT_EQ(rte_softrss(t1, 2, key.data()), rte_softrss(t2, 2, key.data())) << "IPv4 addresses only";
		const std::uint32_t sa[4] = {word(rng), word(rng), word(rng), a}, sb[4] = {word(rng), 0, word(rng), b};
		ASSERT_EQ(v6_hash(key, sa, sb, pa, pb), v6_hash(key, sb, sa, pb, pa)) << "IPv6 flow " << i;
		// A 128-entry redirection table filled round robin, as PMDs do by default.
		++per_queue2[(h & 127) % 2];
		++per_queue4[(h & 127) % 4];
	}
	for (unsigned n : per_queue2)
		EXPECT_GT(n, 4096u * 2 / 5) << "2 queues";
	for (unsigned n : per_queue4)
		EXPECT_GT(n, 4096u / 5) << "4 queues";

	const std::vector<std::uint8_t> microsoft = { // the key as Microsoft's RSS specification gives it
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
		0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
		0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
	int asymmetric = 0;
	for (int i = 0; i < 100; ++i) {
		const std::uint32_t a = word(rng), b = word(rng);
		asymmetric += v4_hash(microsoft, a, b, 1000, 80) != v4_hash(microsoft, b, a, 80, 1000);
	}
	EXPECT_GT(asymmetric, 90);
}
