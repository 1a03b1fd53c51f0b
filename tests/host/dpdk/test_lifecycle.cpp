// The EAL and port lifecycle: errors that carry EAL's words, one EAL per
// process, affinity, ports closed with their last Device, options that have
// no meaning on DPDK, Devices destroyed late.
#include <pthread.h>
#include <sys/wait.h>

#include <algorithm>
#include <optional>

#include "helpers.hpp"

using namespace dpdktest;
using namespace std::chrono;
using tap::Device;
using tap::Options;

TEST(Lifecycle, CallerAffinityIsRestoredAfterEalStart)
{
	cpu_set_t before, after;
	ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof before, &before), 0);
	Device dev = open_or_die("dpdk:net_null0");
	ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof after, &after), 0);
	EXPECT_TRUE(CPU_EQUAL(&before, &after));
	EXPECT_GT(CPU_COUNT(&after), 0);
}

TEST(Lifecycle, MissingPmdSaysSoInEalsWords)
{
	auto d = Device::open("dpdk:net_nosuchpmd0");
	ASSERT_FALSE(d);
	const std::string m = d.error().message();
	EXPECT_NE(m.find("dpdk:net_nosuchpmd0"), std::string::npos) << m;
	EXPECT_NE(m.find("installed PMD"), std::string::npos) << m;
	EXPECT_NE(m.find("[DPDK: "), std::string::npos) << m;
	EXPECT_NE(m.find("failed to parse device"), std::string::npos) << m; // EAL's words
}

TEST(Lifecycle, BadDevargsCarryThePmdsMessage)
{
	auto d = Device::open("dpdk:net_pcap0,rx_pcap=/nonexistent/x.pcap");
	ASSERT_FALSE(d);
	const std::string m = d.error().message();
	EXPECT_NE(m.find("[DPDK: "), std::string::npos) << m;
	EXPECT_NE(m.find("/nonexistent/x.pcap"), std::string::npos) << m;
	auto unparsable = Device::open("dpdk:,x");
	ASSERT_FALSE(unparsable);
	EXPECT_EQ(unparsable.error().code, tap::errc::invalid_option);
	// A failed open leaves nothing behind: the name is free again.
	EXPECT_TRUE(Device::open("dpdk:net_pcap0,iface=lo") || true);
}

TEST(Lifecycle, SecondEalWithOtherArgumentsIsAClearError)
{
	Device first = open_or_die("dpdk:net_null0");
	Options o;
	o.dpdk_eal_args = {"-l", "0", "--no-huge", "-m", "64", "--no-pci", "--no-shconf"};
	auto second = Device::open("dpdk:net_null1", o);
	ASSERT_FALSE(second);
	const std::string m = second.error().message();
	EXPECT_EQ(second.error().code, std::errc::connection_already_in_progress) << m; // EALREADY
	EXPECT_NE(m.find("already runs"), std::string::npos) << m;
	EXPECT_NE(m.find("already called initialization"), std::string::npos) << m;
	// Without explicit arguments a second device joins the running EAL.
	EXPECT_TRUE(Device::open("dpdk:net_null1"));
}

TEST(Lifecycle, EalArgumentsFromOptionsAreUsed)
{
	Options o;
	o.dpdk_eal_args = {"-l", "0", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
			   "--no-telemetry", "--log-level=*:error", "--vdev=net_ring9"};
	Device dev = open_or_die("dpdk:net_ring9", o); // the EAL made it; we use it
	Options same = o;
	EXPECT_TRUE(Device::open("dpdk:net_null0", same)) << "the same arguments again are fine";
	ASSERT_TRUE(dev.write(frame(1, 60)));
	EXPECT_EQ(read_n(dev, 1).size(), 1u);
}

TEST(Lifecycle, BadEalArgumentsFailWithEalsMessageAndStayFailed)
{
	Options o;
	o.dpdk_eal_args = {"--no-huge", "--in-memory", "--no-pci"};
	auto d = Device::open("dpdk:net_null0", o);
	ASSERT_FALSE(d);
	const std::string m = d.error().message();
	EXPECT_NE(m.find("rte_eal_init"), std::string::npos) << m;
	EXPECT_NE(m.find("in-memory"), std::string::npos) << m;
	auto again = Device::open("dpdk:net_null0");
	ASSERT_FALSE(again);
	EXPECT_NE(again.error().message().find("rte_eal_init"), std::string::npos);
}

TEST(Lifecycle, PortClosesWithItsLastDeviceAndReopens)
{
	TempDir dir;
	const std::string a = dir.path + "/a.pcap", b = dir.path + "/b.pcap";
	write_pcap(a, {frame(1, 60)});
	write_pcap(b, {frame(2, 60), frame(3, 60)});
	{
		Device d = open_or_die("dpdk:net_pcap5,rx_pcap=" + a);
		EXPECT_EQ(read_n(d, 1).size(), 1u);
		auto busy = Device::open("dpdk:net_pcap5,rx_pcap=" + b);
		ASSERT_FALSE(busy);
		EXPECT_EQ(busy.error().code, std::errc::device_or_resource_busy) << busy.error().message();
	}
	// Closed and unplugged: the same name probes again with new arguments.
	Device d = open_or_die("dpdk:net_pcap5,rx_pcap=" + b);
	auto got = read_n(d, 2);
	ASSERT_EQ(got.size(), 2u);
	EXPECT_EQ(id_of(got[0].bytes()), 2u);
	auto listed = Device::list();
	EXPECT_TRUE(std::ranges::any_of(listed, [](auto &e) { return e.spec == "dpdk:net_pcap5"; }));
	EXPECT_TRUE(std::ranges::any_of(listed, [](auto &e) { return e.spec.starts_with("dpdk:net_ring0"); }));
}

TEST(Lifecycle, ListSaysWhereTimestampsComeFrom)
{
	// No vdev here has RTE_ETH_RX_OFFLOAD_TIMESTAMP: net_pcap keeps its
	// file's stamps, every other PMD host time (the NIC clock path needs
	// a NIC).
	TempDir dir;
	const std::string a = dir.path + "/a.pcap";
	write_pcap(a, {frame(1, 60)});
	Device pcap = open_or_die("dpdk:net_pcap6,rx_pcap=" + a);
	Device ring = open_or_die("dpdk:net_ring6");
	auto listed = Device::list();
	auto described = [&](const std::string &spec) {
		auto it = std::ranges::find_if(listed, [&](auto &e) { return e.spec == spec; });
		return it == listed.end() ? std::string("(not listed)") : it->description;
	};
	EXPECT_NE(described("dpdk:net_pcap6").find("timestamps: net_pcap's (µs)"), std::string::npos)
		<< described("dpdk:net_pcap6");
	EXPECT_NE(described("dpdk:net_ring6").find("timestamps: host time per burst"), std::string::npos)
		<< described("dpdk:net_ring6");
}

TEST(Lifecycle, OptionsWithoutMeaningHereAreErrors)
{
	Options o;
	o.direction = tap::Direction::out;
	auto d = Device::open("dpdk:net_null0", o);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, tap::errc::invalid_option);
	EXPECT_NE(d.error().message().find("receive queue"), std::string::npos);
	Options bpf;
	bpf.dpdk_eal_args = {"-l", "0"};
	auto k = Device::open("bpf:lo", bpf);
	ASSERT_FALSE(k);
	EXPECT_EQ(k.error().code, tap::errc::invalid_option);
	Options bad_filter;
	bad_filter.filter = "tcp portt 80";
	auto f = Device::open("dpdk:net_null0", bad_filter);
	ASSERT_FALSE(f);
	EXPECT_EQ(f.error().code, tap::errc::bad_filter);
}

// Devices destroyed in any order, moved from, and one still open when the
// process exits (destroyed among the static destructors): no crash.
TEST(Lifecycle, DestructionOrderNeverCrashes)
{
	const pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		static std::optional<Device> late;
		late.emplace(open_or_die("dpdk:net_ring0"));
		Device a = open_or_die("dpdk:net_ring1@0/2");
		Device b = open_or_die("dpdk:net_ring1@1/2");
		Device moved = std::move(a);
		a.interrupt(); // moved-from: a no-op
		if (a.read() || moved.write(frame(1, 60)).has_value() == false)
			_exit(3);
		{ Device gone = std::move(moved); } // queue 0 closes first, queue 1 keeps the port
		if (!b.write(frame(2, 60)) || read_n(b, 1).size() != 1)
			_exit(4);
		std::exit(0); // `late` and `b` go during exit
	}
	int status = 0;
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status)) << "signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	EXPECT_EQ(WEXITSTATUS(status), 0);
}
