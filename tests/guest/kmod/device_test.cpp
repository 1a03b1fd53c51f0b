// Device nodes and per-descriptor identity ioctls.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace testnet;

namespace {

bool exists(const std::string &path)
{
	struct stat st;
	return stat(path.c_str(), &st) == 0;
}

// The macOS idiom: try /dev/bpf0, 1, ... while they are busy.
Fd open_free_unit(int *unit)
{
	for (int n = 0; n < 64; n++) {
		Fd fd(open(("/dev/bpf" + std::to_string(n)).c_str(), O_RDWR));
		if (fd) {
			*unit = n;
			return fd;
		}
		if (errno != EBUSY)
			break;
	}
	return Fd();
}

} // namespace

TEST(Device, NodesAreRootOnlyCharacterDevices)
{
	for (const char *path : {"/dev/bpf", "/dev/bpf0"}) {
		struct stat st;
		ASSERT_EQ(stat(path, &st), 0) << path;
		EXPECT_TRUE(S_ISCHR(st.st_mode)) << path;
		EXPECT_EQ(st.st_mode & 07777, 0600u) << path;
		EXPECT_EQ(st.st_uid, 0u) << path;
	}
}

TEST(Device, CloningNodeGivesAFreshDescriptorOnEveryOpen)
{
	std::vector<Fd> fds;
	for (int i = 0; i < 20; i++) {
		fds.emplace_back(open("/dev/bpf", O_RDWR));
		ASSERT_TRUE(fds.back()) << strerror(errno);
	}
	unsigned size = 4096;
	ASSERT_EQ(ioctl(fds[0].get(), BIOCSBLEN, &size), 0);
	EXPECT_EQ(blen(fds[0].get()), 4096u);
	EXPECT_NE(blen(fds[1].get()), 4096u) << "descriptors do not share state";
}

TEST(Device, NumberedNodeIsBusyWhileOpenAndTheNextAppearsOnDemand)
{
	Fd first(open("/dev/bpf0", O_RDWR));
	ASSERT_TRUE(first) << strerror(errno);
	EXPECT_TRUE(exists("/dev/bpf1")) << "opening the highest node creates the next";
	Fd again(open("/dev/bpf0", O_RDWR));
	EXPECT_FALSE(again);
	EXPECT_EQ(errno, EBUSY);
	int u1 = -1, u2 = -1;
	Fd second = open_free_unit(&u1), third = open_free_unit(&u2);
	ASSERT_TRUE(second);
	ASSERT_TRUE(third);
	EXPECT_EQ(u1, 1);
	EXPECT_EQ(u2, 2);
	EXPECT_TRUE(exists("/dev/bpf3"));
	first.reset();
	Fd reopened(open("/dev/bpf0", O_RDWR));
	EXPECT_TRUE(reopened) << "a closed node can be opened again";
}

TEST(Device, VersionIsOneOne)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	bpf_version v{};
	ASSERT_EQ(ioctl(fd.get(), BIOCVERSION, &v), 0);
	EXPECT_EQ(v.bv_major, BPF_MAJOR_VERSION);
	EXPECT_EQ(v.bv_minor, BPF_MINOR_VERSION);
}

TEST(Device, InterfaceNameAndLinkTypesAreReported)
{
	Veth v("bd0", "bd1");
	Fd bpf = open_bpf(v.a());
	ifreq ifr{};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGETIF, &ifr), 0);
	EXPECT_STREQ(ifr.ifr_name, "bd0");
	bpf_dltlist list{0, nullptr};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDLTLIST, &list), 0);
	EXPECT_EQ(list.bfl_len, 1u) << "NULL list: the count";
	unsigned dlts[4] = {};
	list = {4, dlts};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGDLTLIST, &list), 0);
	EXPECT_EQ(list.bfl_len, 1u);
	EXPECT_EQ(dlts[0], unsigned(DLT_EN10MB));
	unsigned dlt = DLT_EN10MB;
	EXPECT_EQ(ioctl(bpf.get(), BIOCSDLT, &dlt), 0);
	dlt = DLT_RAW;
	EXPECT_EQ(ioctl(bpf.get(), BIOCSDLT, &dlt), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST(Device, PromiscuousModeIsUndoneOnCloseAndOnReattach)
{
	Veth v("bd0", "bd1");
	ASSERT_FALSE(is_promisc(v.a()));
	{
		Fd bpf = open_bpf(v.a());
		ASSERT_EQ(ioctl(bpf.get(), BIOCPROMISC), 0);
		ASSERT_EQ(ioctl(bpf.get(), BIOCPROMISC), 0) << "idempotent";
		EXPECT_TRUE(is_promisc(v.a()));
	}
	EXPECT_FALSE(is_promisc(v.a())) << "undone on close";
	Fd bpf = open_bpf(v.a());
	ASSERT_EQ(ioctl(bpf.get(), BIOCPROMISC), 0);
	ifreq ifr{};
	std::strcpy(ifr.ifr_name, v.b().c_str());
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETIF, &ifr), 0);
	EXPECT_FALSE(is_promisc(v.a())) << "undone when moving to another interface";
	EXPECT_FALSE(is_promisc(v.b()));
}

TEST(Device, ReattachingMovesTheDescriptorToTheNewInterface)
{
	Veth v("bd0", "bd1"), w("bd2", "bd3");
	Fd bpf = open_bpf(v.a());
	ifreq ifr{};
	std::strcpy(ifr.ifr_name, w.a().c_str());
	ASSERT_EQ(ioctl(bpf.get(), BIOCSETIF, &ifr), 0);
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	PacketSocket(w.b()).send(frame(kTestType, 100, 2));
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, frame(kTestType, 100, 2));
}

TEST(Device, ProcListsEachDescriptorWithItsCounters)
{
	Veth v("bd0", "bd1");
	Fd bpf = open_bpf(v.a());
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	settle(std::chrono::milliseconds(200));
	std::ifstream in("/proc/net/bpfdev");
	std::string line, mine;
	std::getline(in, line);
	EXPECT_EQ(line.rfind("descriptors ", 0), 0u) << line;
	while (std::getline(in, line))
		if (line.find(" bd0 ") != std::string::npos)
			mine = line;
	ASSERT_FALSE(mine.empty()) << "descriptor on bd0 listed";
	std::istringstream fields(mine);
	std::string unit, pid, ifname, bufsize, recv, match, drop, mode, pinned, dir, flags;
	fields >> unit >> pid >> ifname >> bufsize >> recv >> match >> drop >> mode >> pinned >> dir >>
		flags;
	EXPECT_EQ(pid, std::to_string(getpid()));
	EXPECT_EQ(bufsize, "65536");
	EXPECT_EQ(recv, "1");
	EXPECT_EQ(match, "1");
	EXPECT_EQ(drop, "0");
	EXPECT_EQ(mode, "buffer");
	EXPECT_EQ(pinned, "0");
	EXPECT_EQ(dir, "inout");
	EXPECT_EQ(flags, "I");
}
