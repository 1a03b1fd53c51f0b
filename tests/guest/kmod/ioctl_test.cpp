// Every ioctl with a bad argument or in the wrong state gets BSD's errno.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

using namespace testnet;

namespace {

int err_of(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) == 0 ? 0 : errno;
}

struct Unmapped {
	void *p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	~Unmapped() { munmap(p, 4096); }
};

} // namespace

TEST(Ioctl, BadPointersGiveEfaultForEveryPointerArgument)
{
	Veth v("bi0", "bi1");
	Fd attached = open_bpf(v.a());
	Fd fresh(open("/dev/bpf", O_RDWR));
	Unmapped bad;
	for (unsigned long cmd : {BIOCGBLEN, BIOCGDLT, BIOCGETIF, BIOCGRTIMEOUT, BIOCSRTIMEOUT,
				  BIOCGSTATS, BIOCGSTATS64, BIOCIMMEDIATE, BIOCVERSION, BIOCGRSIG, BIOCSRSIG,
				  BIOCGHDRCMPLT, BIOCSHDRCMPLT, BIOCGDIRECTION, BIOCSDIRECTION,
				  BIOCSDLT, BIOCGDLTLIST, BIOCSETF, BIOCSETFNR, BIOCSETWF,
				  BIOCGTSTAMP, BIOCSTSTAMP, BIOCSFANOUT, BIOCGFANOUT,
				  static_cast<unsigned long>(FIONREAD),
				  BIOCFEEDBACK, BIOCGFEEDBACK, BIOCSETVLANPCP, BIOCGBATCHWRITE,
				  BIOCSBATCHWRITE, BIOCGFILDROP, BIOCSFILDROP, BIOCSWTIMEOUT})
		EXPECT_EQ(err_of(attached.get(), cmd, bad.p), EFAULT) << std::hex << cmd;
	for (unsigned long cmd : {BIOCSBLEN, BIOCSETIF})
		EXPECT_EQ(err_of(fresh.get(), cmd, bad.p), EFAULT) << std::hex << cmd;
	unsigned dlts[1];
	bpf_dltlist list{1, reinterpret_cast<unsigned *>(bad.p)};
	EXPECT_EQ(err_of(attached.get(), BIOCGDLTLIST, &list), EFAULT);
	list = {0, dlts};
	EXPECT_EQ(err_of(attached.get(), BIOCGDLTLIST, &list), ENOMEM) << "array too small";
}

TEST(Ioctl, InterfaceIoctlsOnAnUnattachedDescriptorGiveEinval)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	unsigned u = 0;
	ifreq ifr{};
	bpf_dltlist list{0, nullptr};
	EXPECT_EQ(err_of(fd.get(), BIOCGDLT, &u), EINVAL);
	EXPECT_EQ(err_of(fd.get(), BIOCSDLT, &u), EINVAL);
	EXPECT_EQ(err_of(fd.get(), BIOCGETIF, &ifr), EINVAL);
	EXPECT_EQ(err_of(fd.get(), BIOCGDLTLIST, &list), EINVAL);
	EXPECT_EQ(ioctl(fd.get(), BIOCPROMISC), -1);
	EXPECT_EQ(errno, EINVAL);
	Bytes buf(blen(fd.get()));
	EXPECT_EQ(read(fd.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, ENXIO) << "read before BIOCSETIF";
}

TEST(Ioctl, UnknownInterfaceGivesEnxio)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ifreq ifr{};
	std::strcpy(ifr.ifr_name, "nosuchif0");
	EXPECT_EQ(err_of(fd.get(), BIOCSETIF, &ifr), ENXIO);
	std::memset(ifr.ifr_name, 'x', IFNAMSIZ);	// no terminating NUL
	EXPECT_EQ(err_of(fd.get(), BIOCSETIF, &ifr), ENXIO);
}

TEST(Ioctl, BufferSizeCannotChangeAfterAttach)
{
	Veth v("bi0", "bi1");
	Fd fd = open_bpf(v.a(), 8192);
	unsigned size = 4096;
	EXPECT_EQ(err_of(fd.get(), BIOCSBLEN, &size), EINVAL);
	EXPECT_EQ(blen(fd.get()), 8192u);
}

TEST(Ioctl, OutOfRangeValuesGiveEinval)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	unsigned u = 3;
	EXPECT_EQ(err_of(fd.get(), BIOCSDIRECTION, &u), EINVAL);
	u = 0x7;
	EXPECT_EQ(err_of(fd.get(), BIOCSTSTAMP, &u), EINVAL);
	u = BPF_T_NANOTIME | 0x400;
	EXPECT_EQ(err_of(fd.get(), BIOCSTSTAMP, &u), EINVAL);
	u = 0;
	EXPECT_EQ(err_of(fd.get(), BIOCSRSIG, &u), EINVAL);
	u = 1000;
	EXPECT_EQ(err_of(fd.get(), BIOCSRSIG, &u), EINVAL);
	u = SIGUSR2;
	EXPECT_EQ(err_of(fd.get(), BIOCSRSIG, &u), 0);
	EXPECT_EQ(err_of(fd.get(), BIOCGRSIG, &u), 0);
	EXPECT_EQ(u, unsigned(SIGUSR2));
	timeval tv{-1, 0};
	EXPECT_EQ(err_of(fd.get(), BIOCSRTIMEOUT, &tv), EINVAL);
	tv = {0, 1000000};
	EXPECT_EQ(err_of(fd.get(), BIOCSRTIMEOUT, &tv), EINVAL);
	tv = {0, -1};
	EXPECT_EQ(err_of(fd.get(), BIOCSRTIMEOUT, &tv), EINVAL);
	tv = {1, 500000};
	EXPECT_EQ(err_of(fd.get(), BIOCSRTIMEOUT, &tv), 0);
}

TEST(Ioctl, BufferModesAreFreeBSDs)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	unsigned mode = 0;
	ASSERT_EQ(err_of(fd.get(), BIOCGETBUFMODE, &mode), 0);
	EXPECT_EQ(mode, unsigned(BPF_BUFMODE_BUFFER)) << "read() buffers by default";
	EXPECT_EQ(err_of(fd.get(), BIOCSETBUFMODE, &mode), 0);
	mode = BPF_BUFMODE_ZBUF;	/* zero-copy (zbuf_test.cpp) */
	EXPECT_EQ(err_of(fd.get(), BIOCSETBUFMODE, &mode), 0);
	for (unsigned bad : {0u, 3u, 0xffffffffu})
		EXPECT_EQ(err_of(fd.get(), BIOCSETBUFMODE, &bad), EINVAL) << bad;
	ASSERT_EQ(err_of(fd.get(), BIOCGETBUFMODE, &mode), 0);
	EXPECT_EQ(mode, unsigned(BPF_BUFMODE_ZBUF)) << "a refused mode changes nothing";
}

TEST(Ioctl, UnknownCommandGivesEinval)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	unsigned u = 0;
	EXPECT_EQ(err_of(fd.get(), _IOW('B', 200, unsigned), &u), EINVAL);
	EXPECT_EQ(err_of(fd.get(), _IOR('Z', 1, unsigned), &u), EINVAL);
	EXPECT_EQ(err_of(fd.get(), _IOW('B', 102, unsigned long), &u), EINVAL) << "wrong size";
}

TEST(Ioctl, LockedDescriptorRefusesAllButTheAllowList)
{
	Veth v("bi0", "bi1");
	Fd fd = open_bpf(v.a());
	ASSERT_EQ(ioctl(fd.get(), BIOCLOCK), 0);
	bpf_insn ret[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	bpf_program prog{1, ret};
	EXPECT_EQ(err_of(fd.get(), BIOCSETF, &prog), EPERM);
	unsigned u = BPF_D_OUT;
	EXPECT_EQ(err_of(fd.get(), BIOCSDIRECTION, &u), EPERM);
	ifreq ifr{};
	std::strcpy(ifr.ifr_name, v.b().c_str());
	EXPECT_EQ(err_of(fd.get(), BIOCSETIF, &ifr), EPERM);
	EXPECT_EQ(ioctl(fd.get(), BIOCPROMISC), -1);
	EXPECT_EQ(errno, EPERM);
	bpf_fanout fo{1, BPF_FANOUT_HASH};
	EXPECT_EQ(err_of(fd.get(), BIOCSFANOUT, &fo), EPERM) << "joining or leaving changes what is seen";
	EXPECT_EQ(err_of(fd.get(), BIOCGFANOUT, &fo), 0);
	bpf_stat st;
	EXPECT_EQ(err_of(fd.get(), BIOCGSTATS, &st), 0);
	bpf_stat64 st64;
	EXPECT_EQ(err_of(fd.get(), BIOCGSTATS64, &st64), 0);
	u = 1;
	EXPECT_EQ(err_of(fd.get(), BIOCIMMEDIATE, &u), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCFLUSH), 0);
	// FreeBSD's list has no BIOCSETVLANPCP; macOS has no BIOCLOCK at all.
	EXPECT_EQ(err_of(fd.get(), BIOCSETVLANPCP, &u), EPERM);
	EXPECT_EQ(err_of(fd.get(), BIOCSBATCHWRITE, &u), EPERM);
	EXPECT_EQ(err_of(fd.get(), BIOCGBATCHWRITE, &u), 0) << "getters stay allowed";
}
