// Fan-out groups (BIOCSFANOUT): every frame to exactly one member of each
// group, flow affinity in both directions, rollover before drops, join and
// leave under traffic, an interface deleted under a group, the ioctl's errnos.
#include "testnet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

int join(int fd, unsigned group, unsigned mode)
{
	bpf_fanout fo{group, mode};
	return ioctl(fd, BIOCSFANOUT, &fo) == 0 ? 0 : errno;
}

bpf_stat64 stats(int fd)
{
	bpf_stat64 st{};
	EXPECT_EQ(ioctl(fd, BIOCGSTATS64, &st), 0);
	return st;
}

// The frame's sequence number: its last four bytes.
uint32_t seq_of(const Bytes &f)
{
	uint32_t s;
	std::memcpy(&s, f.data() + f.size() - 4, 4);
	return ntohl(s);
}

std::vector<uint32_t> seqs(const std::vector<Record> &recs)
{
	std::vector<uint32_t> out;
	for (const Record &r : recs)
		out.push_back(seq_of(r.data));
	std::sort(out.begin(), out.end());
	return out;
}

struct Flow {
	bool v6;
	uint8_t proto;	// IPPROTO_TCP or IPPROTO_UDP
	uint16_t sport, dport;
	uint8_t id;
};

void put16(Bytes &f, size_t at, uint16_t v)
{
	f[at] = v >> 8;
	f[at + 1] = v & 0xff;
}

// Ethernet + IPv4/IPv6 + TCP/UDP of `flow`, addresses and ports swapped for
// `reverse`, an 802.1Q tag when `vid` is set, 110 bytes, seq in the last 4.
Bytes ip_frame(const Flow &flow, bool reverse, std::optional<uint16_t> vid, uint32_t seq)
{
	Bytes f(110, 0);
	const uint8_t a[6] = {0x02, 0, 0, 0, 0, 0x01}, b[6] = {0x02, 0, 0, 0, 0, 0x02};
	std::memcpy(f.data(), reverse ? a : b, 6);
	std::memcpy(f.data() + 6, reverse ? b : a, 6);
	size_t l3 = 14;
	if (vid) {
		put16(f, 12, 0x8100);
		put16(f, 14, *vid);
		l3 += 4;
	}
	put16(f, l3 - 2, flow.v6 ? 0x86dd : 0x0800);
	size_t l4;
	uint8_t src[16] = {}, dst[16] = {};
	const size_t alen = flow.v6 ? 16 : 4;
	if (flow.v6) {
		src[0] = dst[0] = 0xfd;
		src[14] = dst[14] = flow.id;
		src[15] = 1;
		dst[15] = 2;
	} else {
		src[0] = dst[0] = 10;
		src[2] = dst[2] = flow.id;
		src[3] = 1;
		dst[3] = 2;
	}
	const uint8_t *s = reverse ? dst : src, *d = reverse ? src : dst;
	if (flow.v6) {
		f[l3] = 0x60;
		f[l3 + 1] = reverse ? 0x0a : 0;	// each side its own flow label
		put16(f, l3 + 4, static_cast<uint16_t>(f.size() - l3 - 40));
		f[l3 + 6] = flow.proto;
		f[l3 + 7] = 64;
		std::memcpy(f.data() + l3 + 8, s, alen);
		std::memcpy(f.data() + l3 + 24, d, alen);
		l4 = l3 + 40;
	} else {
		f[l3] = 0x45;
		put16(f, l3 + 2, static_cast<uint16_t>(f.size() - l3));
		f[l3 + 8] = 64;
		f[l3 + 9] = flow.proto;
		std::memcpy(f.data() + l3 + 12, s, alen);
		std::memcpy(f.data() + l3 + 16, d, alen);
		l4 = l3 + 20;
	}
	put16(f, l4, reverse ? flow.dport : flow.sport);
	put16(f, l4 + 2, reverse ? flow.sport : flow.dport);
	const uint32_t nseq = htonl(seq);
	std::memcpy(f.data() + f.size() - 4, &nseq, 4);
	return f;
}

std::vector<Fd> members(const std::string &ifname, unsigned n, unsigned group, unsigned mode,
			unsigned bufsize = 262144)
{
	std::vector<Fd> out;
	for (unsigned i = 0; i < n; i++) {
		out.push_back(open_bpf(ifname, bufsize));
		EXPECT_EQ(join(out.back().get(), group, mode), 0);
	}
	return out;
}

// Each frame once, as sent from `from` with sequence numbers `first`, first+1, ...
void send_plain(const std::string &from, uint32_t first, uint32_t n)
{
	PacketSocket s(from);
	for (uint32_t i = 0; i < n; i++) {
		Flow flow{i % 2 == 0, static_cast<uint8_t>(i % 3 ? IPPROTO_UDP : IPPROTO_TCP),
			  static_cast<uint16_t>(1000 + i % 17), 80, static_cast<uint8_t>(i % 5)};
		s.send(ip_frame(flow, false, std::nullopt, first + i));
	}
}

std::string proc_first_line()
{
	std::ifstream in("/proc/net/bpfdev");
	std::string line;
	std::getline(in, line);
	return line;
}

// New interfaces without IPv6, so no neighbour discovery joins the counts.
class Fanout : public ::testing::Test {
protected:
	void SetUp() override { sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=1"); }
	void TearDown() override { sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=0"); }
};

} // namespace

TEST_F(Fanout, IoctlErrnosAndProc)
{
	Veth v("bo0", "bo1");
	Fd fresh(open("/dev/bpf", O_RDWR));
	EXPECT_EQ(join(fresh.get(), 1, BPF_FANOUT_HASH), EINVAL) << "not attached";
	Fd a = open_bpf(v.a()), b = open_bpf(v.a());
	EXPECT_EQ(join(a.get(), 1, 4), EINVAL) << "no such mode";
	EXPECT_EQ(join(a.get(), 1, BPF_FANOUT_HASH | 0x20000), EINVAL) << "unknown flag";
	EXPECT_EQ(join(a.get(), 1, BPF_FANOUT_ROLLOVER), EINVAL) << "flag without a mode";
	EXPECT_EQ(join(a.get(), 1, BPF_FANOUT_NONE), 0) << "leaving no group";
	EXPECT_EQ(join(a.get(), 7, BPF_FANOUT_HASH | BPF_FANOUT_ROLLOVER), 0);
	EXPECT_EQ(join(a.get(), 8, BPF_FANOUT_HASH), EBUSY) << "already in a group";
	EXPECT_EQ(join(b.get(), 7, BPF_FANOUT_HASH), EINVAL) << "group has another mode";
	EXPECT_EQ(join(b.get(), 7, BPF_FANOUT_HASH | BPF_FANOUT_ROLLOVER), 0);
	bpf_fanout fo{};
	ASSERT_EQ(ioctl(a.get(), BIOCGFANOUT, &fo), 0);
	EXPECT_EQ(fo.bf_group, 7u);
	EXPECT_EQ(fo.bf_mode, unsigned(BPF_FANOUT_HASH | BPF_FANOUT_ROLLOVER));

	std::ifstream in("/proc/net/bpfdev");
	std::string line;
	unsigned shown = 0;
	std::getline(in, line);
	EXPECT_NE(line.find(" groups 1"), std::string::npos) << line;
	while (std::getline(in, line))
		if (line.find(" bo0 ") != std::string::npos) {
			EXPECT_EQ(line.substr(line.rfind(' ') + 1), "7:hash+r") << line;
			shown++;
		}
	EXPECT_EQ(shown, 2u);

	EXPECT_EQ(join(a.get(), 0, BPF_FANOUT_NONE), 0);
	ASSERT_EQ(ioctl(a.get(), BIOCGFANOUT, &fo), 0);
	EXPECT_EQ(fo.bf_mode, unsigned(BPF_FANOUT_NONE));

	// A group holds BPF_FANOUT_MAX_MEMBERS descriptors.
	std::vector<Fd> many;
	for (unsigned i = 0; i < BPF_FANOUT_MAX_MEMBERS; i++) {
		many.push_back(open_bpf(v.a(), 64));
		ASSERT_EQ(join(many.back().get(), 9, BPF_FANOUT_RR), 0) << i;
	}
	Fd extra = open_bpf(v.a(), 64);
	EXPECT_EQ(join(extra.get(), 9, BPF_FANOUT_RR), ENOSPC);
	many.clear();
	b.reset();
	EXPECT_NE(proc_first_line().find(" groups 0"), std::string::npos) << proc_first_line();
}

TEST_F(Fanout, EveryFrameReachesExactlyOneMemberOfEachGroup)
{
	Veth v("bo0", "bo1");
	Fd plain = open_bpf(v.a());
	auto rr = members(v.a(), 3, 1, BPF_FANOUT_RR);
	auto hash = members(v.a(), 2, 2, BPF_FANOUT_HASH);
	auto cpu = members(v.a(), 2, 3, BPF_FANOUT_CPU);
	send_plain(v.b(), 0, 150);	// received on bo0
	send_plain(v.a(), 150, 150);	// sent on bo0
	const auto all = seqs(read_all(plain.get()));
	ASSERT_EQ(all.size(), 300u);
	for (auto *group : {&rr, &hash, &cpu}) {
		std::vector<uint32_t> uni;
		uint64_t recv = 0;
		for (Fd &m : *group) {
			auto s = seqs(read_all(m.get()));
			if (group == &rr) {
				EXPECT_EQ(s.size(), 100u) << "round robin shares evenly";
			}
			uni.insert(uni.end(), s.begin(), s.end());
			recv += stats(m.get()).bs_recv;
		}
		std::sort(uni.begin(), uni.end());
		EXPECT_EQ(uni, all) << "the members' union is the plain reader's capture, each frame once";
		EXPECT_EQ(recv, stats(plain.get()).bs_recv) << "members' bs_recv add up";
	}
}

TEST_F(Fanout, HashKeepsEachFlowOnOneMemberBothDirectionsTaggedOrNot)
{
	Veth v("bo0", "bo1");
	auto group = members(v.a(), 4, 5, BPF_FANOUT_HASH);
	Fd plain = open_bpf(v.a());
	std::map<uint32_t, unsigned> flow_of;	// seq -> flow index
	std::vector<Flow> flows;
	for (unsigned i = 0; i < 64; i++)
		flows.push_back({i % 2 == 1, static_cast<uint8_t>(i / 2 % 2 ? IPPROTO_UDP : IPPROTO_TCP),
				 static_cast<uint16_t>(20000 + 7 * i), static_cast<uint16_t>(i % 3 ? 443 : 53),
				 static_cast<uint8_t>(i)});
	PacketSocket in(v.b()), out(v.a());
	uint32_t seq = 0;
	for (unsigned i = 0; i < flows.size(); i++)
		for (bool reverse : {false, true})
			for (std::optional<uint16_t> vid : {std::optional<uint16_t>(), std::optional<uint16_t>(10)})
				for (const PacketSocket *s : {&in, &out}) {
					flow_of[seq] = i;
					s->send(ip_frame(flows[i], reverse, vid, seq++));
				}
	ASSERT_EQ(read_all(plain.get()).size(), seq);
	std::map<unsigned, std::set<unsigned>> members_of;	// flow -> members
	size_t total = 0;
	for (unsigned m = 0; m < group.size(); m++)
		for (uint32_t s : seqs(read_all(group[m].get()))) {
			members_of[flow_of.at(s)].insert(m);
			total++;
		}
	EXPECT_EQ(total, seq);
	std::set<unsigned> used;
	for (auto &[flow, ms] : members_of) {
		EXPECT_EQ(ms.size(), 1u) << "flow " << flow << (flows[flow].v6 ? " IPv6" : " IPv4")
					 << " split over members";
		used.insert(ms.begin(), ms.end());
	}
	EXPECT_GE(used.size(), 3u) << "64 flows spread over the members";
}

TEST_F(Fanout, RolloverMovesFramesBeforeAnyDrop)
{
	Veth v("bo0", "bo1");
	// Stalled readers with 4 KiB buffers: 30 records of 110-byte frames
	// (136 bytes each) per buffer, 60 per descriptor with the hold buffer.
	// One flow: one chosen member.
	auto roll = members(v.a(), 2, 1, BPF_FANOUT_HASH | BPF_FANOUT_ROLLOVER, 4096);
	auto plain = members(v.a(), 2, 2, BPF_FANOUT_HASH, 4096);
	PacketSocket s(v.b());
	const Flow flow{false, IPPROTO_UDP, 5000, 6000, 1};
	auto totals = [](std::vector<Fd> &g) {
		bpf_stat64 t{};
		for (Fd &m : g) {
			bpf_stat64 st = stats(m.get());
			t.bs_recv += st.bs_recv;
			t.bs_drop += st.bs_drop;
		}
		return t;
	};
	for (uint32_t i = 0; i < 100; i++)
		s.send(ip_frame(flow, false, std::nullopt, i));
	settle();
	EXPECT_EQ(totals(roll).bs_recv, 100u);
	EXPECT_EQ(totals(roll).bs_drop, 0u) << "the second member took what the first had no room for";
	EXPECT_EQ(std::min(stats(roll[0].get()).bs_recv, stats(roll[1].get()).bs_recv), 40u);
	EXPECT_EQ(totals(plain).bs_drop, 40u) << "without rollover the chosen member drops";
	for (uint32_t i = 100; i < 200; i++)
		s.send(ip_frame(flow, false, std::nullopt, i));
	settle();
	EXPECT_EQ(totals(roll).bs_recv, 200u);
	EXPECT_EQ(totals(roll).bs_drop, 200u - 120u) << "drops only once every member is full";
}

TEST_F(Fanout, JoinAndLeaveUnderTraffic)
{
	Veth v("bo0", "bo1");
	auto stable = members(v.a(), 2, 4, BPF_FANOUT_RR);
	Fd plain = open_bpf(v.a());
	std::atomic<bool> stop{false}, churn_stop{false};
	std::mutex mu;
	std::vector<uint32_t> got_stable, got_plain;
	auto reader = [&](int fd, std::vector<uint32_t> &into) {
		Bytes buf(blen(fd));
		while (!stop) {
			pollfd p{fd, POLLIN, 0};
			if (poll(&p, 1, 100) <= 0)
				continue;
			ssize_t n = read(fd, buf.data(), buf.size());
			if (n <= 0)
				continue;
			auto recs = parse(std::span(buf.data(), static_cast<size_t>(n)));
			std::lock_guard lock(mu);
			for (const Record &r : recs)
				into.push_back(seq_of(r.data));
		}
	};
	std::vector<std::thread> readers;
	for (Fd &m : stable)
		readers.emplace_back(reader, m.get(), std::ref(got_stable));
	readers.emplace_back(reader, plain.get(), std::ref(got_plain));
	std::atomic<unsigned> churns{0};
	std::thread churner([&] {
		while (!churn_stop) {
			Fd d = open_bpf(v.a(), 4096);
			EXPECT_EQ(join(d.get(), 4, BPF_FANOUT_RR), 0);
			std::this_thread::sleep_for(2ms);
			if (churns % 2) {
				EXPECT_EQ(join(d.get(), 0, BPF_FANOUT_NONE), 0);	// leave, stay open
				EXPECT_EQ(join(d.get(), 4, BPF_FANOUT_RR), 0);
			}
			churns++;
		}	// closed while a member
	});
	// Traffic until the churn has joined, left and closed members 20 times.
	uint32_t during = 0;
	while (churns < 20) {
		send_plain(v.b(), during, 50);
		during += 50;
	}
	const uint32_t after = 200;
	churn_stop = true;
	churner.join();
	send_plain(v.b(), during, after);
	settle(500ms);
	stop = true;
	for (auto &t : readers)
		t.join();
	std::sort(got_stable.begin(), got_stable.end());
	std::sort(got_plain.begin(), got_plain.end());
	EXPECT_EQ(got_plain.size() + stats(plain.get()).bs_drop, size_t(during + after))
		<< "the plain reader saw every frame";
	EXPECT_EQ(std::adjacent_find(got_stable.begin(), got_stable.end()), got_stable.end())
		<< "no frame reached two members";
	EXPECT_TRUE(std::includes(got_plain.begin(), got_plain.end(), got_stable.begin(), got_stable.end()));
	std::vector<uint32_t> tail(std::lower_bound(got_stable.begin(), got_stable.end(), during),
				   got_stable.end());
	EXPECT_EQ(tail.size(), size_t(after)) << "once the churn stops, the members get every frame";
	stable.clear();
	EXPECT_NE(proc_first_line().find(" groups 0"), std::string::npos) << proc_first_line();
}

TEST_F(Fanout, InterfaceDeletedUnderAGroupDetachesEveryMember)
{
	auto v = std::make_unique<Veth>("bo0", "bo1");
	auto group = members(v->a(), 3, 6, BPF_FANOUT_HASH);
	Fd plain = open_bpf(v->a());
	unsigned off = 0;
	ASSERT_EQ(ioctl(group[0].get(), BIOCIMMEDIATE, &off), 0);
	std::atomic<int> read_errno{0};
	std::thread blocked([&] {
		Bytes buf(blen(group[0].get()));
		ssize_t n;
		while ((n = read(group[0].get(), buf.data(), buf.size())) > 0) {
		}
		read_errno = n < 0 ? errno : -1;
	});
	send_plain(v->b(), 0, 20);
	settle();
	v.reset();	// ip link del
	blocked.join();
	EXPECT_EQ(read_errno.load(), ENXIO) << "the blocked member woke";
	for (Fd &m : group) {
		bpf_fanout fo{1, 1};
		ASSERT_EQ(ioctl(m.get(), BIOCGFANOUT, &fo), 0);
		EXPECT_EQ(fo.bf_mode, unsigned(BPF_FANOUT_NONE));
		EXPECT_EQ(join(m.get(), 6, BPF_FANOUT_HASH), EINVAL) << "detached";
	}
	EXPECT_NE(proc_first_line().find("interfaces 0 filters 0 groups 0"), std::string::npos)
		<< proc_first_line();
}
