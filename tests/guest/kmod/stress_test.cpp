// Races: descriptors attached, swapped, read and closed while traffic flows
// and interfaces vanish, in copy mode and with zero-copy buffers (whose
// memory the process also unmaps under the kernel). Passing means no crash, every call returned one of
// the documented errnos, and the kernel log stayed clean (vm-run checks it).
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <set>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

const std::set<int> kAllowed = {0, EAGAIN, ENXIO, EINVAL, EINTR, EBUSY, ENETDOWN, ENOBUFS};

int attach_to(int fd, const char *name)
{
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	return ioctl(fd, BIOCSETIF, &ifr) == 0 ? 0 : errno;
}

// Two threads each run a churn loop (seed 0 and 1) until `how_long` has
// passed or one of them sets `stop`; every errno they note must be one
// the module documents, and each loop counts its descriptor cycles.
struct Churn {
	std::atomic<bool> stop{false};
	std::atomic<int> bad_errno{0};
	std::atomic<uint64_t> cycles{0};

	void note(int e)
	{
		if (!kAllowed.count(e))
			bad_errno = e;
	}
	template <class Loop>
	void run(Loop loop, std::chrono::seconds how_long)
	{
		std::thread c1(loop, 0), c2(loop, 1);
		for (auto waited = 0ms; !stop && waited < how_long; waited += 100ms)
			std::this_thread::sleep_for(100ms);
		stop = true;
		c1.join();
		c2.join();
	}
	void expect_clean() const
	{
		EXPECT_EQ(bad_errno.load(), 0) << "an undocumented errno: " << strerror(bad_errno.load());
		EXPECT_GT(cycles.load(), 20u);
	}
};

} // namespace

TEST(Stress, ConcurrentReadersOnOneDescriptorGetEveryRecordOnce)
{
	Veth v("bs0", "bs1");
	Fd bpf = open_bpf(v.a(), 4096, false);
	timeval tv{0, 50000};
	ASSERT_EQ(ioctl(bpf.get(), BIOCSRTIMEOUT, &tv), 0);
	std::atomic<bool> stop{false};
	std::atomic<uint64_t> records{0};
	auto reader = [&] {
		Bytes buf(4096);
		while (!stop) {
			ssize_t n = read(bpf.get(), buf.data(), buf.size());
			if (n > 0)
				records += parse(std::span(buf.data(), size_t(n))).size();
		}
	};
	std::thread r1(reader), r2(reader);
	PacketSocket b(v.b());
	const unsigned sent = 3000;
	for (unsigned i = 0; i < sent; i++)
		b.send(frame(kTestType, 120, i));
	settle(1500ms);
	stop = true;
	r1.join();
	r2.join();
	bpf_stat st{};
	ASSERT_EQ(ioctl(bpf.get(), BIOCGSTATS, &st), 0);
	EXPECT_EQ(st.bs_recv, sent);
	EXPECT_EQ(records.load() + st.bs_drop, sent) << "each record read once or counted as dropped";
}

TEST(Stress, DescriptorsChurnWhileTrafficFlowsAndInterfacesVanish)
{
	Veth v("bs0", "bs1");
	Churn c;
	auto note = [&](int e) { c.note(e); };

	Turmoil turmoil(v.a(), "bs2", "bs3", 30ms);
	auto churn = [&](unsigned seed) {
		bpf_insn accept_vlan[] = {
			BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, 96),
			BPF_STMT(BPF_RET | BPF_K, 0xffff),
		};
		bpf_program prog{4, accept_vlan};
		Bytes buf(8192);
		for (unsigned i = seed; !c.stop; i++) {
			Fd fd(open(i % 3 ? "/dev/bpf" : "/dev/bpf0", O_RDWR | O_NONBLOCK));
			if (!fd) {
				note(errno);
				continue;
			}
			unsigned size = 8192;
			if (ioctl(fd.get(), BIOCSBLEN, &size) != 0)
				note(errno);
			const char *names[] = {"bs1", "bs2", "bs3", "bs0"};
			note(attach_to(fd.get(), names[i % 4]));
			if (i % 2 && ioctl(fd.get(), BIOCSETF, &prog) != 0)
				note(errno);
			if (i % 5 == 0 && ioctl(fd.get(), BIOCPROMISC) != 0)
				note(errno);
			for (int k = 0; k < 3; k++) {
				if (read(fd.get(), buf.data(), buf.size()) < 0)
					note(errno);
				if (k == 1)
					note(attach_to(fd.get(), names[(i + 1) % 4]));
			}
			Bytes f = frame(kTestType, 100, i);
			if (write(fd.get(), f.data(), f.size()) < 0)
				note(errno);
			if (i % 7 == 0)
				ioctl(fd.get(), BIOCFLUSH);
			c.cycles++;
		}
	};
	c.run(churn, 8s);
	turmoil.stop();
	c.expect_clean();
	std::printf("churn: %llu descriptor cycles in 8 s\n", (unsigned long long)c.cycles.load());
	Fd after = open_bpf(v.b());
	PacketSocket(v.a()).send(frame(kTestType, 100, 42));
	EXPECT_EQ(read_all(after.get()).size(), 1u) << "the module still works afterwards";
}

// Zero-copy descriptors in the same churn: buffers donated, handed over by
// BIOCROTZBUF and by filling, acknowledged, re-attached to interfaces that
// vanish, one buffer unmapped by the process mid-capture, closed with the
// process still holding buffers. The kernel must keep to its own pinned
// pages; the pinned count must come back to where it was.
TEST(Stress, ZeroCopyDescriptorsChurnWhileTrafficFlowsAndInterfacesVanish)
{
	Veth v("bz0", "bz1");
	const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	Churn c;
	std::atomic<uint64_t> records{0};
	auto note = [&](int e) { c.note(e); };
	Turmoil turmoil(v.a(), "bz2", "bz3", 30ms);
	auto churn = [&](unsigned seed) {
		const char *names[] = {"bz1", "bz2", "bz3", "bz0"};
		for (unsigned i = seed; !c.stop; i++) {
			Fd fd(open("/dev/bpf", O_RDWR | O_NONBLOCK));
			if (!fd) {
				note(errno);
				continue;
			}
			const size_t len = page * (1 + i % 3);
			void *a = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			void *b = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			unsigned mode = BPF_BUFMODE_ZBUF, on = i % 2;
			bpf_zbuf bz{a, b, len};
			if (a == MAP_FAILED || b == MAP_FAILED || ioctl(fd.get(), BIOCSETBUFMODE, &mode) ||
			    ioctl(fd.get(), BIOCSETZBUF, &bz)) {
				ADD_FAILURE() << "zero-copy setup: " << strerror(errno);
				c.stop = true;
				return;
			}
			ioctl(fd.get(), BIOCIMMEDIATE, &on);
			note(attach_to(fd.get(), names[i % 4]));
			void *bufs[2] = {a, b};
			bool mapped[2] = {true, true};
			int next = 0;
			for (int k = 0; k < 6; k++) {
				bpf_zbuf rot{};
				if (ioctl(fd.get(), BIOCROTZBUF, &rot) != 0)
					note(errno);
				// Take and acknowledge what is ours, in the kernel's order;
				// at most both buffers, which the last rounds keep.
				for (int taken = 0; taken < 2 && mapped[next]; taken++) {
					auto *h = static_cast<bpf_zbuf_header *>(bufs[next]);
					if (__atomic_load_n(&h->bzh_kernel_gen, __ATOMIC_ACQUIRE) == h->bzh_user_gen)
						break;
					const auto n = std::min<size_t>(h->bzh_kernel_len, len - sizeof(*h));
					records += parse({static_cast<uint8_t *>(bufs[next]) + sizeof(*h), n}).size();
					if (k < 4) // the last rounds keep what they were given
						__atomic_store_n(&h->bzh_user_gen, h->bzh_kernel_gen, __ATOMIC_RELEASE);
					next ^= 1;
				}
				if (k == 2)
					note(attach_to(fd.get(), names[(i + 1) % 4]));
				if (k == 3 && i % 3 == 0) { // the process gives up a buffer mid-capture
					munmap(bufs[1], len);
					mapped[1] = false;
				}
				std::this_thread::sleep_for(200us);
			}
			if (i % 7 == 0)
				ioctl(fd.get(), BIOCFLUSH);
			fd.reset();
			for (int k = 0; k < 2; k++)
				if (mapped[k])
					munmap(bufs[k], len);
			c.cycles++;
		}
	};
	c.run(churn, 6s);
	turmoil.stop();
	c.expect_clean();
	std::printf("zero-copy churn: %llu descriptor cycles, %llu records in 6 s\n",
		    (unsigned long long)c.cycles.load(), (unsigned long long)records.load());
	std::ifstream in("/proc/net/bpfdev");
	std::string first;
	std::getline(in, first);
	EXPECT_NE(first.find(" pinned 0"), std::string::npos) << first;
}
