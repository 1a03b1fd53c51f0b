// Filter compilation through libpcap, good and bad expressions.
#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include <array>

#include <tap/filter.hpp>
#include <tap/options.hpp>

using namespace tap;

namespace {

// A minimal Ethernet/IPv4/TCP frame to dst port `port`.
std::array<unsigned char, 54> tcp_frame(std::uint16_t port)
{
	std::array<unsigned char, 54> f{};
	f[12] = 0x08; // IPv4
	f[14] = 0x45;
	f[16] = 0;
	f[17] = 40; // total length
	f[22] = 64;
	f[23] = 6; // TCP
	f[36] = static_cast<unsigned char>(port >> 8);
	f[37] = static_cast<unsigned char>(port);
	f[46] = 0x50;
	return f;
}

unsigned run(const Filter &filter, std::span<const unsigned char> frame)
{
	auto prog = filter.program();
	return bpf_filter(reinterpret_cast<const struct ::bpf_insn *>(prog.bf_insns), frame.data(),
			  static_cast<unsigned>(frame.size()), static_cast<unsigned>(frame.size()));
}

} // namespace

TEST(Filter, TcpPortCompilesAndMatchesOnlyThatPort)
{
	auto f = Filter::compile("tcp port 80", DLT_EN10MB, 262144);
	ASSERT_TRUE(f) << f.error().message();
	EXPECT_EQ(f->expression(), "tcp port 80");
	ASSERT_FALSE(f->instructions().empty());
	EXPECT_EQ(BPF_CLASS(f->instructions().back().code), BPF_RET);
	EXPECT_EQ(run(*f, tcp_frame(80)), 262144u);
	EXPECT_EQ(run(*f, tcp_frame(443)), 0u);
}

TEST(Filter, SnapLengthIsTheAcceptReturnValue)
{
	auto f = Filter::compile("ip", DLT_EN10MB, 96);
	ASSERT_TRUE(f);
	EXPECT_EQ(run(*f, tcp_frame(1)), 96u);
}

TEST(Filter, SnapLengthIsTheLargestConstantReturn)
{
	auto f = Filter::compile("tcp port 80", DLT_EN10MB, 96);
	ASSERT_TRUE(f);
	EXPECT_EQ(f->snap_length(Options::max_snap_length), 96u);
	EXPECT_EQ(Filter::accept_all(0xffffffff).snap_length(Options::max_snap_length),
		  Options::max_snap_length);
	const struct bpf_insn two_rets[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 40),
		BPF_STMT(BPF_RET | BPF_K, 1500),
	};
	EXPECT_EQ(Filter::from_instructions(two_rets)->snap_length(Options::max_snap_length), 1500u);
	const struct bpf_insn ret_a[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	EXPECT_EQ(Filter::from_instructions(ret_a)->snap_length(Options::max_snap_length),
		  Options::max_snap_length);
}

TEST(Filter, EmptyExpressionAcceptsEverything)
{
	auto f = Filter::compile("", DLT_EN10MB, 1500);
	ASSERT_TRUE(f);
	EXPECT_EQ(run(*f, tcp_frame(1)), 1500u);
}

TEST(Filter, SyntaxErrorCarriesLibpcapMessage)
{
	auto f = Filter::compile("tcp portt 80", DLT_EN10MB, 262144);
	ASSERT_FALSE(f);
	EXPECT_EQ(f.error().code, errc::bad_filter);
	EXPECT_NE(f.error().context.find("syntax error"), std::string::npos) << f.error().context;
	EXPECT_NE(f.error().message().find("tcp portt 80"), std::string::npos) << f.error().message();
}

TEST(Filter, SemanticErrorCarriesLibpcapMessage)
{
	auto f = Filter::compile("port 99999", DLT_EN10MB, 262144);
	ASSERT_FALSE(f);
	EXPECT_EQ(f.error().code, errc::bad_filter);
	EXPECT_NE(f.error().context.find("port"), std::string::npos) << f.error().context;
}

TEST(Filter, ExpressionNotValidForTheLinkTypeIsRejected)
{
	auto f = Filter::compile("ether host 1:2:3:4:5:6", DLT_RAW, 262144);
	ASSERT_FALSE(f);
	EXPECT_EQ(f.error().code, errc::bad_filter);
}

TEST(Filter, FromInstructionsCopiesThem)
{
	struct bpf_insn prog[] = {BPF_STMT(BPF_RET | BPF_K, 42)};
	auto f = Filter::from_instructions(prog);
	ASSERT_TRUE(f);
	prog[0].k = 7;
	EXPECT_EQ(f->instructions()[0].k, 42u);
	EXPECT_EQ(run(*f, tcp_frame(1)), 42u);
}

TEST(Filter, EmptyOrOversizedProgramIsRejected)
{
	EXPECT_EQ(Filter::from_instructions({}).error().code, errc::invalid_option);
	std::vector<struct bpf_insn> big(BPF_MAXINSNS + 1, BPF_STMT(BPF_RET | BPF_K, 0));
	EXPECT_EQ(Filter::from_instructions(big).error().code, errc::invalid_option);
	struct bpf_program null_prog {3, nullptr};
	EXPECT_FALSE(Filter::from_program(null_prog));
}

TEST(Filter, AcceptAllReturnsTheSnapLength)
{
	const Filter f = Filter::accept_all(128);
	ASSERT_EQ(f.instructions().size(), 1u);
	EXPECT_EQ(run(f, tcp_frame(1)), 128u);
}

namespace {

// Ethernet/IPv4 (UDP) to dst a.b.c.d.
std::array<unsigned char, 42> ip_to(unsigned a, unsigned b, unsigned c, unsigned d)
{
	std::array<unsigned char, 42> f{};
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 28;
	f[22] = 64;
	f[23] = 17;
	const unsigned char dst[] = {static_cast<unsigned char>(a), static_cast<unsigned char>(b),
				     static_cast<unsigned char>(c), static_cast<unsigned char>(d)};
	std::copy(std::begin(dst), std::end(dst), f.begin() + 30);
	return f;
}

} // namespace

// "ip broadcast" needs a netmask: libpcap refuses it when the netmask is
// unknown (what libtap used to pass always), and with one it matches the
// subnet's broadcast address and 255.255.255.255.
TEST(Filter, IpBroadcastNeedsTheNetmask)
{
	auto unknown = Filter::compile("ip broadcast", DLT_EN10MB, 262144);
	ASSERT_FALSE(unknown);
	EXPECT_NE(unknown.error().context.find("netmask not known"), std::string::npos)
		<< unknown.error().context;

	auto f = Filter::compile("ip broadcast", DLT_EN10MB, 262144, true, 0xffffff00u);
	ASSERT_TRUE(f) << f.error().message();
	EXPECT_NE(run(*f, ip_to(10, 0, 0, 255)), 0u);
	EXPECT_NE(run(*f, ip_to(255, 255, 255, 255)), 0u);
	EXPECT_EQ(run(*f, ip_to(10, 0, 0, 7)), 0u);

	// 0, what tcpdump uses for files: only the all-ones (and all-zeros) address.
	auto file = Filter::compile("ip broadcast", DLT_EN10MB, 262144, true, 0);
	ASSERT_TRUE(file) << file.error().message();
	EXPECT_NE(run(*file, ip_to(255, 255, 255, 255)), 0u);
	EXPECT_EQ(run(*file, ip_to(10, 0, 0, 255)), 0u);
}
