// Guest tests: programs Linux's classic-BPF loader refuses although BSD runs
// them (a scratch word read before any store) still filter, in userland,
// with exactly the verdicts and snap lengths the kernel gives the same
// program made acceptable to it (the reads of M[] preceded by zero stores,
// which is what they read on BSD), and libpcap's bpf_filter() agrees.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <vector>

#include <tap/tap.hpp>

#include "guest_net.hpp"

using namespace std::chrono_literals;
using Bytes = std::vector<std::byte>;
using Program = std::vector<bpf_insn>;

namespace {

using guest::Veth;

// EtherType 0x88b5, byte 14 = index, the rest 0x5a.
Bytes frame(unsigned index, std::size_t size)
{
	Bytes f(size, std::byte{0x5a});
	const unsigned char head[] = {2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 0xaa, 0x88, 0xb5};
	for (std::size_t i = 0; i < sizeof head; ++i)
		f[i] = std::byte{head[i]};
	f[14] = static_cast<std::byte>(index);
	return f;
}

void send_all(const std::string &ifname, const std::vector<Bytes> &frames)
{
	const guest::PacketSocket tx(ifname);
	for (const auto &f : frames)
		tx.send(f);
}

// Mixed sizes, 60..1460 bytes; indexes 0..47.
std::vector<Bytes> traffic()
{
	std::vector<Bytes> frames;
	for (unsigned i = 0; i < 48; ++i)
		frames.push_back(frame(i, 60 + (i * 233) % 1401));
	return frames;
}

// Our EtherType; odd index: keep 40 bytes; even index: keep 64 bytes if
// byte 300 is 0x5a (only frames longer than 300: the program reads far
// past what it keeps, so the kernel must not cut frames for it). X comes
// from M[0], never stored.
const Program reads_far = {
	BPF_STMT(BPF_LDX | BPF_MEM, 0),
	BPF_STMT(BPF_LD | BPF_H | BPF_IND, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x88b5, 0, 6),
	BPF_STMT(BPF_LD | BPF_B | BPF_IND, 14),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 40),
	BPF_STMT(BPF_LD | BPF_B | BPF_IND, 300),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5a, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 64),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

// The snap length found at run time: odd indexes only, len/2 + index + M[2]
// (never stored).
const Program returns_a = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 7),
	BPF_STMT(BPF_MISC | BPF_TAX, 0),
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 1),
	BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
	BPF_STMT(BPF_LDX | BPF_MEM, 2),
	BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
	BPF_STMT(BPF_RET | BPF_A, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

// The same program as Linux accepts it: M[0..15] stored as 0 first (what
// BSD and libpcap >= 1.10.4 read from a word never stored). Jumps are
// relative, so prepending keeps them right.
Program zero_scratch_first(const Program &p)
{
	Program out;
	out.push_back(BPF_STMT(BPF_LD | BPF_IMM, 0));
	for (unsigned i = 0; i < BPF_MEMWORDS; ++i)
		out.push_back(BPF_STMT(BPF_ST, i));
	out.insert(out.end(), p.begin(), p.end());
	return out;
}

// What the module answers BIOCSETF for p on a fresh descriptor.
int kernel_answer(const std::string &ifname, const Program &p)
{
	const int fd = ::open("/dev/bpf", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	int err = 0;
	bpf_program prog{static_cast<unsigned>(p.size()), const_cast<bpf_insn *>(p.data())};
	if (::ioctl(fd, BIOCSETIF, &ifr) < 0 || ::ioctl(fd, BIOCSETF, &prog) < 0)
		err = errno;
	::close(fd);
	return err;
}

tap::Device open_with(const std::string &ifname, const Program &p)
{
	tap::Options o;
	o.immediate = true;
	auto f = tap::Filter::from_instructions(p);
	if (!f)
		throw std::runtime_error(f.error().message());
	o.filter_program = std::move(*f);
	auto d = tap::Device::open("bpf:" + ifname, o);
	if (!d)
		throw std::runtime_error(d.error().message());
	return std::move(*d);
}

std::vector<tap::Packet> drain(tap::Device &d)
{
	std::vector<tap::Packet> got;
	for (;;) {
		auto b = d.read(500ms);
		if (!b)
			throw std::runtime_error(b.error().message());
		if (b->empty())
			return got;
		for (auto p : *b)
			got.push_back(p.copy());
	}
}

// libpcap's userland interpreter on what was sent: the expected records.
std::vector<Bytes> by_libpcap(const Program &p, const std::vector<Bytes> &frames)
{
	std::vector<Bytes> out;
	for (const auto &f : frames) {
		const auto *bytes = reinterpret_cast<const u_char *>(f.data());
		const auto n = static_cast<u_int>(f.size());
		const u_int keep = bpf_filter(p.data(), bytes, n, n);
		if (keep)
			out.emplace_back(f.begin(), f.begin() + std::min(keep, n));
	}
	return out;
}

void expect_same(const std::vector<tap::Packet> &got, const std::vector<Bytes> &want,
		 const std::vector<Bytes> &sent, const char *who)
{
	ASSERT_EQ(got.size(), want.size()) << who;
	std::size_t w = 0;
	for (std::size_t i = 0; i < got.size(); ++i) {
		EXPECT_TRUE(std::ranges::equal(got[i].bytes(), want[i])) << who << " record " << i;
		// The wire length is the frame's, whatever was kept.
		while (w < sent.size() && !std::equal(want[i].begin(), want[i].end(), sent[w].begin()))
			++w;
		ASSERT_LT(w, sent.size());
		EXPECT_EQ(got[i].wire_length(), sent[w].size()) << who << " record " << i;
		++w;
	}
}

// One check for a program Linux refuses: a device filtering it (libtap in
// userland) against a device with its zero-store twin (the kernel), both
// on the same interface at once, and libpcap over the sent frames.
void check_against_kernel(const Program &refused, std::uint32_t want_snap, const char *veth_a,
			  const char *veth_b)
{
	Veth v(veth_a, veth_b);
	const Program twin = zero_scratch_first(refused);
	// The premise: the module refuses one and takes the other. (Should a
	// module accept both, the comparison below still holds.)
	const int refused_err = kernel_answer(v.b, refused);
	EXPECT_EQ(kernel_answer(v.b, twin), 0);
	std::cout << "  module answers BIOCSETF for the program with: "
		  << (refused_err ? std::strerror(refused_err) : "success") << '\n';

	tap::Device user = open_with(v.b, refused);
	tap::Device kernel = open_with(v.b, twin);
	EXPECT_EQ(user.snap_length(), want_snap);
	EXPECT_EQ(kernel.snap_length(), want_snap);

	const auto sent = traffic();
	send_all(v.a, sent);
	const auto want = by_libpcap(twin, sent);
	ASSERT_GT(want.size(), 4u);
	ASSERT_LT(want.size(), sent.size()) << "the program must reject some frames";
	const auto from_kernel = drain(kernel);
	const auto from_user = drain(user);
	expect_same(from_kernel, want, sent, "kernel");
	expect_same(from_user, want, sent, "userland");

	auto us = user.stats(), ks = kernel.stats();
	ASSERT_TRUE(us && ks);
	EXPECT_EQ(us->accepted, want.size());
	EXPECT_EQ(ks->accepted, want.size());
	EXPECT_EQ(us->received, ks->received);
	EXPECT_EQ(us->dropped, 0u);
}

} // namespace

TEST(LibtapUserlandFilter, ScratchReadBeforeStoreGivesTheKernelsVerdictsAndSnapLengths)
{
	check_against_kernel(reads_far, 64, "luf0", "luf1");
}

TEST(LibtapUserlandFilter, RunTimeSnapLengthFromARegisterIsApplied)
{
	check_against_kernel(returns_a, tap::Options::max_snap_length, "lug0", "lug1");
}

// set_filter on an open device: to a refused program, then back to one the
// kernel takes (which runs in the kernel again and counts there).
TEST(LibtapUserlandFilter, SetFilterSwitchesIntoAndOutOfUserlandFiltering)
{
	Veth v("luh0", "luh1");
	tap::Options o;
	o.immediate = true;
	auto d = tap::Device::open("bpf:" + v.b, o);
	ASSERT_TRUE(d) << d.error().message();
	auto refused = tap::Filter::from_instructions(reads_far);
	ASSERT_TRUE(d->set_filter(*refused));
	EXPECT_EQ(d->snap_length(), 64u);
	const auto sent = traffic();
	send_all(v.a, sent);
	const auto want = by_libpcap(zero_scratch_first(reads_far), sent);
	expect_same(drain(*d), want, sent, "after set_filter");
	EXPECT_EQ(d->stats()->accepted, want.size());

	auto odd = tap::Filter::compile("ether[14] & 1 = 1", DLT_EN10MB, 100);
	ASSERT_TRUE(odd) << odd.error().message();
	ASSERT_TRUE(d->set_filter(*odd));
	EXPECT_EQ(d->snap_length(), 100u);
	send_all(v.a, sent);
	const auto got = drain(*d);
	ASSERT_EQ(got.size(), sent.size() / 2);
	for (const auto &p : got) {
		EXPECT_EQ(static_cast<unsigned>(p.bytes()[14]) % 2, 1u);
		EXPECT_EQ(p.captured_length(), std::min<std::size_t>(100, p.wire_length()));
	}
	EXPECT_EQ(d->stats()->accepted, sent.size() / 2);
}

// A program that is invalid for libtap's validator too stays an EINVAL
// error naming the device, the call and the reason; a failed set_filter
// leaves the filter before it in place.
TEST(LibtapUserlandFilter, InvalidProgramsAreStillEINVAL)
{
	Veth v("lui0", "lui1");
	const Program shift_32 = {BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32),
				  BPF_STMT(BPF_RET | BPF_A, 0)};
	const Program jumps_out = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), BPF_STMT(BPF_RET | BPF_K, 1)};
	for (const Program *bad : {&shift_32, &jumps_out}) {
		tap::Options o;
		o.filter_program = *tap::Filter::from_instructions(*bad);
		auto d = tap::Device::open("bpf:" + v.b, o);
		ASSERT_FALSE(d);
		EXPECT_EQ(d.error().code, std::errc::invalid_argument);
		const std::string msg = d.error().message();
		EXPECT_NE(msg.find("bpf:" + v.b), std::string::npos) << msg;
		EXPECT_NE(msg.find("BIOCSETF"), std::string::npos) << msg;
		EXPECT_NE(msg.find("insn "), std::string::npos) << "the validator's reason: " << msg;
	}

	tap::Device d = open_with(v.b, reads_far);
	auto set = d.set_filter(*tap::Filter::from_instructions(shift_32));
	ASSERT_FALSE(set);
	EXPECT_EQ(set.error().code, std::errc::invalid_argument);
	EXPECT_EQ(d.snap_length(), 64u);
	const auto sent = traffic();
	send_all(v.a, sent);
	expect_same(drain(d), by_libpcap(zero_scratch_first(reads_far), sent), sent, "old filter");
}
