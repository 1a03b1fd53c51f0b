// Guest tests: an idle Device sleeps. A read() blocked on a device with no
// traffic must not wake up periodically (it used to wake every read_timeout,
// 50 times a second by default): no timeout, no wakeups; with a timeout, one.
// Counted as the reading thread's voluntary context switches (each sleep in
// ppoll that ends is one), bounded generously: the old behaviour makes about
// 100 in the 2 s measured, the new one 1 or 2.
#include <gtest/gtest.h>


#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <tap/tap.hpp>

#include "guest_net.hpp"

using namespace std::chrono_literals;

namespace {

using guest::Veth;

// The calling thread's voluntary context switches so far.
long voluntary_switches()
{
	std::ifstream status("/proc/thread-self/status");
	std::string key;
	long value = -1;
	while (status >> key) {
		if (key == "voluntary_ctxt_switches:") {
			status >> value;
			break;
		}
		status.ignore(1 << 20, '\n');
	}
	return value;
}

constexpr long generous_bound = 10; // old behaviour: ~100 over 2 s

tap::Device open_idle(const std::string &ifname)
{
	tap::Options o; // read_timeout 20 ms, not immediate: the default
	auto d = tap::Device::open("bpf:" + ifname, o);
	if (!d)
		throw std::runtime_error(d.error().message());
	return std::move(*d);
}

} // namespace

TEST(LibtapIdle, BlockedReadWithoutTimeoutMakesNoWakeups)
{
	Veth v("lid0", "lid1");
	tap::Device d = open_idle(v.b);
	std::atomic<long> switches = -1;
	std::atomic<bool> started = false;
	std::thread reader([&] {
		const long before = voluntary_switches();
		started = true;
		auto b = d.read(); // only interrupt() ends it
		switches = voluntary_switches() - before;
		EXPECT_EQ(b ? std::error_code{} : b.error().code, std::errc::interrupted);
	});
	while (!started)
		std::this_thread::yield();
	std::this_thread::sleep_for(2s);
	d.interrupt();
	reader.join();
	std::cout << "  read() idle for 2 s: " << switches << " voluntary context switches\n";
	EXPECT_GE(switches, 0);
	EXPECT_LE(switches, generous_bound);
}

TEST(LibtapIdle, BlockedReadWithTimeoutWakesOnce)
{
	Veth v("lie0", "lie1");
	tap::Device d = open_idle(v.b);
	const long before = voluntary_switches();
	auto b = d.read(2s);
	const long switches = voluntary_switches() - before;
	ASSERT_TRUE(b) << b.error().message();
	EXPECT_TRUE(b->empty());
	std::cout << "  read(2 s) idle: " << switches << " voluntary context switches\n";
	EXPECT_LE(switches, generous_bound);
}

// Sleeping through the idle time must not cost latency: a packet that
// arrives during a read() without a timeout is handed over within about
// read_timeout (the module's poll-armed timer), not when a buffer fills.
TEST(LibtapIdle, PacketArrivingDuringAnUntimedReadIsStillDelivered)
{
	Veth v("lif0", "lif1");
	tap::Device d = open_idle(v.b);
	std::thread sender([&] {
		std::this_thread::sleep_for(300ms);
		std::vector<unsigned char> f(60, 0x5a);
		f[12] = 0x88, f[13] = 0xb5;
		guest::PacketSocket(v.a).send(f);
	});
	std::atomic<bool> done = false;
	std::thread watchdog([&] { // a lost wakeup must fail the test, not hang it
		for (int i = 0; i < 200 && !done; ++i)
			std::this_thread::sleep_for(100ms);
		if (!done)
			d.interrupt();
	});
	auto b = d.read();
	done = true;
	sender.join();
	watchdog.join();
	ASSERT_TRUE(b) << b.error().message();
	EXPECT_EQ(b->count(), 1u);
}
