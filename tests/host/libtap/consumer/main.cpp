// Uses libtap as an installed package: compile a filter, parse a buffer,
// see a clean error for a backend that does not exist.
#include <tap/tap.hpp>

#include <cstdio>

int main()
{
	auto filter = tap::Filter::compile("udp port 53", DLT_EN10MB, 262144);
	if (!filter)
		return std::puts(filter.error().message().c_str()), 1;
	auto batch = tap::Batch::parse({}, tap::TimestampUnit::nanoseconds);
	auto dev = tap::Device::open("xdp:eth0");
	if (!batch || !batch->empty() || dev || dev.error().code != tap::errc::unknown_backend)
		return 1;
	std::printf("consumer ok: %zu instructions\n", filter->instructions().size());
	return 0;
}
