// Guest tests for bpfdev.ko: the module is loaded by scripts/vm-run.
#include <gtest/gtest.h>

#include <fstream>

int main(int argc, char **argv)
{
	// No IPv6 autoconfiguration chatter on the veth pairs the tests create:
	// every frame a test sees is one it sent.
	for (const char *knob : {"/proc/sys/net/ipv6/conf/all/disable_ipv6",
				 "/proc/sys/net/ipv6/conf/default/disable_ipv6"})
		std::ofstream(knob) << "1\n";
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
