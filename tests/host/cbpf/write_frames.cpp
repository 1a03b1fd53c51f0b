// Writes the generated test frames as a pcap file: write_frames OUT.pcap
#include "frames.hpp"

#include <cstdio>

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s OUT.pcap\n", argv[0]);
		return 2;
	}
	return tap::cbpf::testing::write_pcap(argv[1], tap::cbpf::testing::generated_frames()) ? 0 : 1;
}
