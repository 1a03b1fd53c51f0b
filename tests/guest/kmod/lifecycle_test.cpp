// Lifecycle: interfaces and namespaces going away, module unload, isolation.
#include "testnet.hpp"

#include "rtnl.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

// A network namespace made with ip-netns, removed on destruction.
class Netns {
public:
	explicit Netns(std::string name) : name_(std::move(name))
	{
		sh_status("ip netns del " + name_ + " 2>/dev/null");
		sh("ip netns add " + name_);
	}
	~Netns() { sh_status("ip netns del " + name_ + " 2>/dev/null"); }
	const std::string &name() const { return name_; }
	// A veth pair inside this namespace, both ends up.
	void add_veth_inside(const std::string &a, const std::string &b) const
	{
		rtnl::in_netns(name_, [&] { rtnl::add_veth_up(a, b); });
	}

	// Opens /dev/bpf from a thread that has entered this namespace.
	Fd open_bpf_inside() const
	{
		Fd result;
		rtnl::in_netns(name_, [&] { result = Fd(open("/dev/bpf", O_RDWR)); });
		return result;
	}

private:
	std::string name_;
};

int attach(int fd, const std::string &ifname)
{
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	return ioctl(fd, BIOCSETIF, &ifr) == 0 ? 0 : errno;
}

} // namespace

TEST(Lifecycle, DeletingTheInterfaceWakesABlockedReaderWithEnxio)
{
	auto v = std::make_unique<Veth>("bl0", "bl1");
	Fd bpf = open_bpf(v->a(), 8192, false);
	std::atomic<ssize_t> rc{1};
	std::atomic<int> err{0};
	std::thread reader([&] {
		Bytes buf(8192);
		rc = read(bpf.get(), buf.data(), buf.size());
		err = errno;
	});
	settle(300ms);
	v.reset();	// ip link del
	reader.join();
	EXPECT_EQ(rc.load(), -1);
	EXPECT_EQ(err.load(), ENXIO);
	pollfd p{bpf.get(), POLLIN, 0};
	ASSERT_EQ(poll(&p, 1, 0), 1);
	EXPECT_TRUE(p.revents & POLLHUP);
	Bytes f = frame(kTestType, 100, 1);
	EXPECT_EQ(write(bpf.get(), f.data(), f.size()), -1);
	EXPECT_EQ(errno, ENXIO);
	ifreq ifr{};
	EXPECT_EQ(ioctl(bpf.get(), BIOCGETIF, &ifr), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(attach(bpf.get(), "lo"), 0) << "a detached descriptor can be attached again";
}

TEST(Lifecycle, RecordsStoredBeforeTheInterfaceWentAwayCanStillBeRead)
{
	auto v = std::make_unique<Veth>("bl0", "bl1");
	Fd bpf = open_bpf(v->a(), 8192, false);
	PacketSocket(v->b()).send(frame(kTestType, 100, 1));
	settle(200ms);
	v.reset();
	Bytes buf(8192);
	ssize_t n = read(bpf.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	EXPECT_EQ(parse(std::span(buf.data(), size_t(n))).size(), 1u);
	EXPECT_EQ(read(bpf.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, ENXIO);
}

TEST(Lifecycle, NamespaceGoingAwayDetachesDescriptorsOnItsVethPeer)
{
	Veth v("bl0", "bl1");
	Fd bpf = open_bpf(v.a(), 8192, false);
	{
		Netns ns("bpfns1");
		rtnl::move_to_netns(v.b(), ns.name());
	}
	// Deleting the namespace destroyed bl1 and with it its peer bl0.
	settle(300ms);
	Bytes buf(8192);
	EXPECT_EQ(read(bpf.get(), buf.data(), buf.size()), -1);
	EXPECT_EQ(errno, ENXIO);
}

TEST(Lifecycle, DescriptorCannotAttachToAnotherNamespacesInterface)
{
	Netns ns("bpfns2");
	ns.add_veth_inside("bn0", "bn1");
	Fd outside(open("/dev/bpf", O_RDWR));
	EXPECT_EQ(attach(outside.get(), "bn0"), ENXIO);
	Fd inside = ns.open_bpf_inside();
	ASSERT_TRUE(inside);
	EXPECT_EQ(attach(inside.get(), "bn0"), 0) << "the opener's namespace is used";
}

TEST(Lifecycle, SameNameInTwoNamespacesCapturesOnlyTheOpenersOwn)
{
	Veth v("bx0", "bx1");
	Netns ns("bpfns3");
	ns.add_veth_inside("bx0", "bx1");
	Fd bpf = open_bpf(v.a());
	// Traffic on the namespace's bx0: sent from a packet socket inside it.
	Fd inside = ns.open_bpf_inside();
	ASSERT_TRUE(inside);
	ASSERT_EQ(attach(inside.get(), "bx0"), 0);
	Bytes theirs = frame(kTestType, 100, 99);
	unsigned one = 1;
	ASSERT_EQ(ioctl(inside.get(), BIOCSHDRCMPLT, &one), 0);
	ASSERT_EQ(write(inside.get(), theirs.data(), theirs.size()), 100);
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	auto recs = read_all(bpf.get());
	ASSERT_EQ(recs.size(), 1u);
	EXPECT_EQ(recs[0].data, frame(kTestType, 100, 1));
}

TEST(Lifecycle, ModuleUnloadIsRefusedWhileADescriptorIsOpen)
{
	Fd fd(open("/dev/bpf", O_RDWR));
	ASSERT_TRUE(fd);
	EXPECT_EQ(syscall(SYS_delete_module, "bpfdev", O_NONBLOCK), -1);
	EXPECT_EQ(errno, EWOULDBLOCK);
	EXPECT_EQ(access("/dev/bpf", F_OK), 0);
}
