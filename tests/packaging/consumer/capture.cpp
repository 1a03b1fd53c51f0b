// capture IFACE COUNT: read COUNT packets from IFACE through an installed
// libtap and print "captured N"; exit 1 on an error or if fewer packets come
// within 20 s. Uses <net/bpf.h> (DLT_*) as an outside program would.
#include <tap/tap.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char **argv)
{
	if (argc != 3)
		return std::fputs("usage: capture IFACE COUNT\n", stderr), 2;
	const std::size_t want = std::strtoul(argv[2], nullptr, 10);
	tap::Options options;
	options.immediate = true;
	auto dev = tap::Device::open(argv[1], options);
	if (!dev)
		return std::fprintf(stderr, "%s\n", dev.error().message().c_str()), 1;
	if (dev->datalink() != DLT_EN10MB)
		return std::fprintf(stderr, "link type %d, not DLT_EN10MB\n", dev->datalink()), 1;
	std::size_t got = 0;
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
	while (got < want && std::chrono::steady_clock::now() < deadline) {
		auto batch = dev->read(std::chrono::milliseconds(200));
		if (!batch)
			return std::fprintf(stderr, "%s\n", batch.error().message().c_str()), 1;
		for (const auto &packet : *batch) {
			(void)packet;
			++got;
		}
	}
	std::printf("captured %zu\n", got);
	return got >= want ? 0 : 1;
}
