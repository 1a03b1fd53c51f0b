// Zero-copy buffers (FreeBSD's BIOCSETZBUF): ABI, errnos, ownership by
// generation, drops, rotation, readiness, and what the process may do to
// its own memory while the kernel writes into it.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// An anonymous mapping, unmapped on destruction unless released.
struct Mapping {
	explicit Mapping(size_t n, int prot = PROT_READ | PROT_WRITE)
		: len(n), p(mmap(nullptr, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
	{
		if (p == MAP_FAILED)
			throw std::runtime_error("mmap");
	}
	~Mapping()
	{
		if (p)
			munmap(p, len);
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	uint8_t *bytes() const { return static_cast<uint8_t *>(p); }
	bpf_zbuf_header *hdr() const { return static_cast<bpf_zbuf_header *>(p); }
	size_t len;
	void *p;
};

int setmode(int fd, unsigned mode)
{
	return ioctl(fd, BIOCSETBUFMODE, &mode) == 0 ? 0 : errno;
}

int setzbuf(int fd, void *a, void *b, size_t len)
{
	bpf_zbuf bz{a, b, len};
	return ioctl(fd, BIOCSETZBUF, &bz) == 0 ? 0 : errno;
}

long pinned_total()
{
	std::ifstream in("/proc/net/bpfdev");
	std::string line;
	std::getline(in, line);
	auto at = line.find(" pinned ");
	if (at == std::string::npos)
		return -1;
	return std::stol(line.substr(at + 8));
}

// A zero-copy descriptor with its two buffers of `len` bytes each.
struct Zbuf {
	explicit Zbuf(size_t len = 4 * kPage) : a(len), b(len), fd(::open("/dev/bpf", O_RDWR))
	{
		if (!fd || setmode(fd.get(), BPF_BUFMODE_ZBUF) || setzbuf(fd.get(), a.p, b.p, len))
			throw std::runtime_error("zbuf setup: " + std::string(strerror(errno)));
	}
	void attach(const std::string &ifname, bool immediate = false)
	{
		if (setif(fd.get(), ifname))
			throw std::runtime_error("BIOCSETIF");
		unsigned on = immediate;
		ioctl(fd.get(), BIOCIMMEDIATE, &on);
	}
	// The next buffer in FreeBSD's order (a first) if it is the process's.
	Mapping *owned()
	{
		Mapping *m = next ? &b : &a;
		auto *h = m->hdr();
		if (__atomic_load_n(&h->bzh_kernel_gen, __ATOMIC_ACQUIRE) == h->bzh_user_gen)
			return nullptr;
		return m;
	}
	// Records of the next owned buffer, which is then handed back.
	std::optional<std::vector<Record>> take()
	{
		Mapping *m = owned();
		if (!m)
			return std::nullopt;
		auto *h = m->hdr();
		auto recs = parse({m->bytes() + sizeof(*h), h->bzh_kernel_len});
		__atomic_store_n(&h->bzh_user_gen, h->bzh_kernel_gen, __ATOMIC_RELEASE);
		next = !next;
		return recs;
	}
	// Everything captured until `quiet` passes: rotate, take, repeat.
	std::vector<Record> drain(std::chrono::milliseconds quiet = 300ms)
	{
		std::vector<Record> all;
		auto last = std::chrono::steady_clock::now();
		while (std::chrono::steady_clock::now() - last < quiet) {
			bpf_zbuf bz{};
			ioctl(fd.get(), BIOCROTZBUF, &bz);
			bool got = false;
			while (auto recs = take()) {
				all.insert(all.end(), recs->begin(), recs->end());
				got = true;
			}
			if (got)
				last = std::chrono::steady_clock::now();
			else
				std::this_thread::sleep_for(20ms);
		}
		return all;
	}
	Mapping a, b;
	Fd fd;
	bool next = false;
};

bpf_stat64 stats64(int fd)
{
	bpf_stat64 st{};
	EXPECT_EQ(ioctl(fd, BIOCGSTATS64, &st), 0);
	return st;
}

bool readable(int fd, int ms)
{
	pollfd p{fd, POLLIN, 0};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

// The raw bytes of a record: what both modes must agree on.
Bytes raw(const Record &r)
{
	Bytes out(reinterpret_cast<const uint8_t *>(&r.sec), reinterpret_cast<const uint8_t *>(&r.sec) + 8);
	out.insert(out.end(), reinterpret_cast<const uint8_t *>(&r.frac),
		   reinterpret_cast<const uint8_t *>(&r.frac) + 8);
	for (uint32_t v : {r.caplen, r.datalen, uint32_t(r.hdrlen)})
		out.insert(out.end(), reinterpret_cast<uint8_t *>(&v), reinterpret_cast<uint8_t *>(&v) + 4);
	out.insert(out.end(), r.data.begin(), r.data.end());
	return out;
}

} // namespace

TEST(Zbuf, ModeIoctlsAndTheirErrnos)
{
	Fd fd(::open("/dev/bpf", O_RDWR));
	unsigned mode = 0;
	ASSERT_EQ(ioctl(fd.get(), BIOCGETBUFMODE, &mode), 0);
	EXPECT_EQ(mode, unsigned(BPF_BUFMODE_BUFFER));
	// Zero-copy ioctls in buffer mode: EOPNOTSUPP.
	size_t zmax = 0;
	bpf_zbuf bz{};
	EXPECT_EQ(ioctl(fd.get(), BIOCGETZMAX, &zmax), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	EXPECT_EQ(ioctl(fd.get(), BIOCROTZBUF, &bz), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	Mapping m(2 * kPage);
	EXPECT_EQ(setzbuf(fd.get(), m.p, m.bytes() + kPage, kPage), EOPNOTSUPP);
	EXPECT_EQ(setmode(fd.get(), 3), EINVAL);
	EXPECT_EQ(setmode(fd.get(), 0), EINVAL);
	ASSERT_EQ(setmode(fd.get(), BPF_BUFMODE_ZBUF), 0);
	ASSERT_EQ(ioctl(fd.get(), BIOCGETBUFMODE, &mode), 0);
	EXPECT_EQ(mode, unsigned(BPF_BUFMODE_ZBUF));
	ASSERT_EQ(ioctl(fd.get(), BIOCGETZMAX, &zmax), 0);
	EXPECT_EQ(zmax, 512 * kPage);
	// Back and forth is allowed while there are no buffers.
	EXPECT_EQ(setmode(fd.get(), BPF_BUFMODE_BUFFER), 0);
	EXPECT_EQ(setmode(fd.get(), BPF_BUFMODE_ZBUF), 0);
	// Zero-copy mode: no BIOCSBLEN, no read(), no attach without buffers.
	unsigned size = 8192;
	EXPECT_EQ(ioctl(fd.get(), BIOCSBLEN, &size), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	char buf[64];
	EXPECT_EQ(read(fd.get(), buf, sizeof(buf)), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	Veth v("zm0", "zm1");
	EXPECT_EQ(setif(fd.get(), v.a()), EINVAL);
	// FreeBSD's net.bpf.zerocopy_enable=0: the mode is not offered.
	auto enable = [](const char *v) {
		std::ofstream("/sys/module/bpfdev/parameters/zerocopy_enable") << v;
	};
	enable("0");
	Fd off(::open("/dev/bpf", O_RDWR));
	EXPECT_EQ(setmode(off.get(), BPF_BUFMODE_ZBUF), EINVAL);
	EXPECT_EQ(setmode(off.get(), BPF_BUFMODE_BUFFER), 0);
	enable("1");
	EXPECT_EQ(setmode(off.get(), BPF_BUFMODE_ZBUF), 0);
}

TEST(Zbuf, SetzbufBadArgumentsGetFreeBSDsErrnos)
{
	Veth v("ze0", "ze1");
	Fd fd(::open("/dev/bpf", O_RDWR));
	ASSERT_EQ(setmode(fd.get(), BPF_BUFMODE_ZBUF), 0);
	Mapping m(1026 * kPage);
	uint8_t *p = m.bytes();
	long before = pinned_total();
	EXPECT_EQ(setzbuf(fd.get(), nullptr, p, kPage), EINVAL);
	EXPECT_EQ(setzbuf(fd.get(), p, nullptr, kPage), EINVAL);
	EXPECT_EQ(setzbuf(fd.get(), p, p + kPage, 0), EINVAL);
	EXPECT_EQ(setzbuf(fd.get(), p + 8, p + kPage, kPage), EINVAL);	// unaligned
	EXPECT_EQ(setzbuf(fd.get(), p, p + kPage + 8, kPage), EINVAL);
	EXPECT_EQ(setzbuf(fd.get(), p, p + kPage, kPage / 2), EINVAL);	// not whole pages
	EXPECT_EQ(setzbuf(fd.get(), p, p + kPage, 32), EINVAL);		// smaller than a page
	EXPECT_EQ(setzbuf(fd.get(), p, p + 513 * kPage, 513 * kPage), EINVAL);	// over BIOCGETZMAX
	EXPECT_EQ(setzbuf(fd.get(), p, p + kPage, 2 * kPage), EINVAL);	// overlapping
	EXPECT_EQ(setzbuf(fd.get(), p, p, kPage), EINVAL);			// the same buffer twice
	// Unmapped, read-only, or a regular file's pages.
	Mapping hole(2 * kPage);
	munmap(hole.p, hole.len);
	EXPECT_EQ(setzbuf(fd.get(), hole.p, p, kPage), EFAULT);
	hole.p = nullptr;
	Mapping ro(kPage, PROT_READ);
	EXPECT_EQ(setzbuf(fd.get(), p, ro.p, kPage), EFAULT);
	EXPECT_EQ(setzbuf(fd.get(), reinterpret_cast<void *>(-(8 * long(kPage))), p, kPage), EFAULT);
	// A file on a real file system (not tmpfs): the current directory, the
	// host's tree over 9p in the guest.
	char path[] = "zbuf-fileXXXXXX";
	int tf = mkstemp(path);
	ASSERT_GE(tf, 0);
	Bytes zeros(kPage);
	ASSERT_EQ(write(tf, zeros.data(), kPage), ssize_t(kPage));
	void *filemap = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, tf, 0);
	unlink(path);
	bool tmpfs = sh_status("[ \"$(stat -f -c %T .)\" = tmpfs ]") == 0;
	if (filemap != MAP_FAILED && !tmpfs) {
		EXPECT_EQ(setzbuf(fd.get(), p, filemap, kPage), EINVAL);
	}
	if (filemap != MAP_FAILED)
		munmap(filemap, kPage);
	close(tf);
	// Nothing stayed pinned by the failures.
	EXPECT_EQ(pinned_total(), before);
	// Good buffers, then: twice is EINVAL, and so is a second after attach.
	ASSERT_EQ(setzbuf(fd.get(), p, p + 2 * kPage, 2 * kPage), 0);
	EXPECT_EQ(pinned_total(), before + 4);
	EXPECT_EQ(setzbuf(fd.get(), p + 4 * kPage, p + 6 * kPage, 2 * kPage), EINVAL);
	EXPECT_EQ(setmode(fd.get(), BPF_BUFMODE_BUFFER), EBUSY);
	EXPECT_EQ(blen(fd.get()), 2 * kPage - sizeof(bpf_zbuf_header));
	ASSERT_EQ(setif(fd.get(), v.a()), 0);
	EXPECT_EQ(setzbuf(fd.get(), p + 4 * kPage, p + 6 * kPage, 2 * kPage), EINVAL);
	unsigned size = 8192;
	EXPECT_EQ(ioctl(fd.get(), BIOCSBLEN, &size), -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	// Copy mode after attach: EBUSY too.
	Fd copy = open_bpf(v.a());
	EXPECT_EQ(setmode(copy.get(), BPF_BUFMODE_ZBUF), EBUSY);
	fd.reset();
	EXPECT_EQ(pinned_total(), before);
}

TEST(Zbuf, HeaderIsZeroedAndRecordsFollowIt)
{
	Veth v("zh0", "zh1");
	Mapping a(kPage), b(kPage);
	std::memset(a.p, 0xaa, kPage);
	std::memset(b.p, 0xaa, kPage);
	Fd fd(::open("/dev/bpf", O_RDWR));
	ASSERT_EQ(setmode(fd.get(), BPF_BUFMODE_ZBUF), 0);
	ASSERT_EQ(setzbuf(fd.get(), a.p, b.p, kPage), 0);
	for (auto *h : {a.hdr(), b.hdr()}) {
		EXPECT_EQ(h->bzh_kernel_gen, 0u);
		EXPECT_EQ(h->bzh_kernel_len, 0u);
		EXPECT_EQ(h->bzh_user_gen, 0u);
		EXPECT_EQ(h->_bzh_pad[4], 0u);
	}
	EXPECT_EQ(a.bytes()[sizeof(bpf_zbuf_header)], 0xaa) << "only the header is zeroed";
	fd.reset();
	Zbuf z2;
	z2.attach(v.a());
	PacketSocket(v.b()).send(frame(kTestType, 100, 7));
	settle(200ms);
	EXPECT_EQ(z2.owned(), nullptr) << "not handed over before a rotation";
	bpf_zbuf bz{};
	ASSERT_EQ(ioctl(z2.fd.get(), BIOCROTZBUF, &bz), 0);
	EXPECT_EQ(bz.bz_bufa, z2.a.p);
	EXPECT_GT(bz.bz_buflen, 100u);
	EXPECT_EQ(z2.a.hdr()->bzh_kernel_gen, 1u);
	EXPECT_EQ(z2.a.hdr()->bzh_kernel_len, bz.bz_buflen);
	auto recs = z2.take();
	ASSERT_TRUE(recs);
	ASSERT_EQ(recs->size(), 1u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 7));
	// Nothing stored: BIOCROTZBUF hands nothing over and says so.
	bz = bpf_zbuf{reinterpret_cast<void *>(1), reinterpret_cast<void *>(1), 1};
	ASSERT_EQ(ioctl(z2.fd.get(), BIOCROTZBUF, &bz), 0);
	EXPECT_EQ(bz.bz_bufa, nullptr);
	EXPECT_EQ(bz.bz_bufb, nullptr);
	EXPECT_EQ(bz.bz_buflen, 0u);
	EXPECT_EQ(z2.b.hdr()->bzh_kernel_gen, 0u);
	// The next frame goes to b, then a again once acknowledged.
	PacketSocket(v.b()).send(frame(kTestType, 100, 8));
	settle(200ms);
	ASSERT_EQ(ioctl(z2.fd.get(), BIOCROTZBUF, &bz), 0);
	EXPECT_EQ(bz.bz_bufa, z2.b.p);
	recs = z2.take();
	ASSERT_TRUE(recs);
	ASSERT_EQ(recs->size(), 1u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 8));
}

TEST(Zbuf, SameRecordsAsCopyModeBothDirectionsWithFilterAndSnaplen)
{
	Veth v("zc0", "zc1");
	Fd copy = open_bpf(v.a(), 65536, true);
	Zbuf z(16 * kPage);
	z.attach(v.a(), true);
	// Accept kTestType only, 80 bytes of each.
	std::vector<bpf_insn> prog = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTestType, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 80),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	ASSERT_EQ(setf(copy.get(), prog), 0);
	ASSERT_EQ(setf(z.fd.get(), prog), 0);
	PacketSocket in(v.b()), out(v.a());
	for (uint32_t i = 0; i < 200; i++) {
		size_t len = 60 + (i * 37) % 1400;
		(i % 2 ? in : out).send(frame(i % 5 ? kTestType : kOtherType, len, i));
	}
	auto want = read_all(copy.get());
	auto got = z.drain();
	ASSERT_EQ(want.size(), 160u);
	ASSERT_EQ(got.size(), want.size());
	for (size_t i = 0; i < want.size(); i++) {
		EXPECT_EQ(got[i].caplen, std::min<uint32_t>(80, got[i].datalen));
		EXPECT_EQ(raw(got[i]), raw(want[i])) << "record " << i;
	}
}

TEST(Zbuf, ReaderHoldingBothBuffersLosesExactlyTheRestAndDropsCountIt)
{
	Veth v("zd0", "zd1");
	Zbuf z(kPage);
	z.attach(v.a());
	// 200-byte frames: records of 26 + 200, aligned to 232; 17 fit in 4064.
	const unsigned per_buffer = 17, offered = 50;
	PacketSocket b(v.b());
	for (unsigned i = 0; i < offered; i++)
		b.send(frame(kTestType, 200, i));
	settle(300ms);
	// Both buffers are the process's now: a handed over on rotation, b
	// when it filled with nowhere to go.
	EXPECT_NE(z.a.hdr()->bzh_kernel_gen, z.a.hdr()->bzh_user_gen);
	EXPECT_NE(z.b.hdr()->bzh_kernel_gen, z.b.hdr()->bzh_user_gen);
	bpf_stat64 st = stats64(z.fd.get());
	EXPECT_EQ(st.bs_recv, offered);
	EXPECT_EQ(st.bs_drop, offered - 2 * per_buffer);
	bpf_stat st32{};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCGSTATS, &st32), 0);
	EXPECT_EQ(st32.bs_drop, offered - 2 * per_buffer);
	auto first = z.take(), second = z.take();
	ASSERT_TRUE(first && second);
	ASSERT_EQ(first->size(), per_buffer);
	ASSERT_EQ(second->size(), per_buffer);
	for (unsigned i = 0; i < per_buffer; i++) {
		EXPECT_EQ((*first)[i].data, frame(kTestType, 200, i));
		EXPECT_EQ((*second)[i].data, frame(kTestType, 200, per_buffer + i));
	}
	// Handed back: capture resumes, and the drop count stays.
	b.send(frame(kTestType, 200, 99));
	auto more = z.drain();
	ASSERT_EQ(more.size(), 1u);
	EXPECT_EQ(more[0].data, frame(kTestType, 200, 99));
	EXPECT_EQ(stats64(z.fd.get()).bs_drop, offered - 2 * per_buffer);
}

TEST(Zbuf, PollEpollTimeoutAndImmediate)
{
	Veth v("zp0", "zp1");
	PacketSocket b(v.b());
	{
		Zbuf z(kPage);
		z.attach(v.a());
		EXPECT_FALSE(readable(z.fd.get(), 100));
		b.send(frame(kTestType, 100, 1));
		// One record, no timeout, not immediate: nothing to wake for.
		EXPECT_FALSE(readable(z.fd.get(), 200));
		for (unsigned i = 0; i < 20; i++)
			b.send(frame(kTestType, 200, i));
		// The store filled and rotated: a is handed over and poll says so.
		EXPECT_TRUE(readable(z.fd.get(), 1000));
		int ep = epoll_create1(0);
		epoll_event ev{EPOLLIN, {}};
		ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, z.fd.get(), &ev), 0);
		EXPECT_EQ(epoll_wait(ep, &ev, 1, 1000), 1);
		ASSERT_TRUE(z.take());
		// Handed back, the store not handed over: not readable.
		EXPECT_EQ(epoll_wait(ep, &ev, 1, 100), 0);
		close(ep);
	}
	{
		// Read timeout: poll returns when it fires with records stored,
		// and the module has handed the store over by then (FreeBSD
		// leaves that to the process's BIOCROTZBUF).
		Zbuf z(kPage);
		z.attach(v.a());
		timeval tv{0, 200000};
		ASSERT_EQ(ioctl(z.fd.get(), BIOCSRTIMEOUT, &tv), 0);
		EXPECT_FALSE(readable(z.fd.get(), 400)) << "timeout with nothing stored";
		blen(z.fd.get());	// any ioctl ends the timed-out state (FreeBSD)
		b.send(frame(kTestType, 100, 2));
		settle(50ms);
		EXPECT_EQ(z.owned(), nullptr) << "not before the timeout";
		auto t0 = std::chrono::steady_clock::now();
		EXPECT_TRUE(readable(z.fd.get(), 3000));
		EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
		auto recs = z.take();
		ASSERT_TRUE(recs) << "handed over without BIOCROTZBUF";
		ASSERT_EQ(recs->size(), 1u);
		EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 2));
		// Nothing stored since: BIOCROTZBUF hands nothing over.
		bpf_zbuf bz{};
		ASSERT_EQ(ioctl(z.fd.get(), BIOCROTZBUF, &bz), 0);
		EXPECT_EQ(bz.bz_buflen, 0u);
		EXPECT_EQ(z.owned(), nullptr);
		// Timed out with nothing stored: the next record is handed over
		// with the wake-up it causes.
		EXPECT_FALSE(readable(z.fd.get(), 400));
		b.send(frame(kTestType, 100, 3));
		EXPECT_TRUE(readable(z.fd.get(), 3000));
		recs = z.take();
		ASSERT_TRUE(recs);
		ASSERT_EQ(recs->size(), 1u);
		EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 3));
	}
	{
		// Immediate: any record makes it readable.
		Zbuf z(kPage);
		z.attach(v.a(), true);
		EXPECT_FALSE(readable(z.fd.get(), 100));
		b.send(frame(kTestType, 100, 3));
		EXPECT_TRUE(readable(z.fd.get(), 1000));
		auto recs = z.take();
		ASSERT_TRUE(recs) << "immediate: handed over without BIOCROTZBUF";
		EXPECT_EQ(recs->size(), 1u);
	}
}

namespace {

// SIGIO for fd, sent to this thread only and blocked, for sigtimedwait().
class SigioHere {
public:
	explicit SigioHere(int fd) : fd_(fd)
	{
		sigemptyset(&set_);
		sigaddset(&set_, SIGIO);
		pthread_sigmask(SIG_BLOCK, &set_, &old_);
		f_owner_ex me{F_OWNER_TID, static_cast<pid_t>(syscall(SYS_gettid))};
		int on = 1;
		ok_ = fcntl(fd, F_SETOWN_EX, &me) == 0 && ioctl(fd, FIOASYNC, &on) == 0;
	}
	~SigioHere()
	{
		int off = 0;
		ioctl(fd_, FIOASYNC, &off);
		while (wait(0ms)) {
		}
		pthread_sigmask(SIG_SETMASK, &old_, nullptr);
	}
	SigioHere(const SigioHere &) = delete;
	SigioHere &operator=(const SigioHere &) = delete;
	bool ok() const { return ok_; }
	bool wait(std::chrono::milliseconds ms)
	{
		timespec ts{ms.count() / 1000, (ms.count() % 1000) * 1000000};
		return sigtimedwait(&set_, nullptr, &ts) == SIGIO;
	}

private:
	int fd_;
	bool ok_;
	sigset_t set_, old_;
};

} // namespace

// The read timeout's hand-over comes before every kind of wake-up: epoll
// (which polls again after the wake-up) and SIGIO (which does not poll).
TEST(Zbuf, ReadTimeoutHandsOverBeforeEpollAndSigio)
{
	Veth v("zt0", "zt1");
	PacketSocket b(v.b());
	Zbuf z(kPage);
	z.attach(v.a());
	timeval tv{0, 200000};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCSRTIMEOUT, &tv), 0);
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	epoll_event ev{EPOLLIN, {}};
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, z.fd.get(), &ev), 0);
	b.send(frame(kTestType, 100, 1));
	settle(50ms);
	EXPECT_EQ(epoll_wait(ep, &ev, 1, 3000), 1);
	auto recs = z.take();
	ASSERT_TRUE(recs) << "epoll: handed over without BIOCROTZBUF";
	EXPECT_EQ(recs->size(), 1u);
	close(ep);

	// SIGIO: a poll with no wait only arms the timeout; the signal comes
	// when it runs out, and the buffer is the process's by then.
	SigioHere sig(z.fd.get());
	ASSERT_TRUE(sig.ok());
	b.send(frame(kTestType, 100, 2));
	settle(50ms);
	while (sig.wait(0ms)) {	// the record's own wake-up, if any
	}
	EXPECT_FALSE(readable(z.fd.get(), 0));
	ASSERT_TRUE(sig.wait(3000ms));
	recs = z.take();
	ASSERT_TRUE(recs) << "SIGIO: handed over without BIOCROTZBUF";
	ASSERT_EQ(recs->size(), 1u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 2));
}

// Immediate mode: the record is the process's when its SIGIO arrives.
TEST(Zbuf, ImmediateRecordIsHandedOverWithItsSigio)
{
	Veth v("zi0", "zi1");
	PacketSocket b(v.b());
	Zbuf z(kPage);
	z.attach(v.a(), true);
	SigioHere sig(z.fd.get());
	ASSERT_TRUE(sig.ok());
	b.send(frame(kTestType, 100, 1));
	ASSERT_TRUE(sig.wait(3000ms));
	auto recs = z.take();
	ASSERT_TRUE(recs) << "handed over without poll or BIOCROTZBUF";
	ASSERT_EQ(recs->size(), 1u);
	// Records that come while the process holds the buffer wait in the
	// store, and are handed over when it acks and polls.
	b.send(frame(kTestType, 100, 2));
	ASSERT_TRUE(sig.wait(3000ms));
	ASSERT_NE(z.owned(), nullptr);
	b.send(frame(kTestType, 100, 3));
	b.send(frame(kTestType, 100, 4));
	settle(200ms);
	recs = z.take();
	ASSERT_TRUE(recs);
	ASSERT_EQ(recs->size(), 1u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 2));
	EXPECT_EQ(z.owned(), nullptr) << "not while the other was held";
	EXPECT_TRUE(readable(z.fd.get(), 1000));
	recs = z.take();
	ASSERT_TRUE(recs) << "poll hands over what waited";
	ASSERT_EQ(recs->size(), 2u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 3));
	EXPECT_EQ((*recs)[1].data, frame(kTestType, 100, 4));
	EXPECT_EQ(stats64(z.fd.get()).bs_drop, 0u);
}

// The timeout runs out while the process still holds the other buffer:
// nothing is handed over and nothing is lost; the store goes to the
// process once it acks and polls.
TEST(Zbuf, TimeoutWhileTheOtherBufferIsHeldWaitsForTheAck)
{
	Veth v("zw0", "zw1");
	PacketSocket b(v.b());
	Zbuf z(kPage);
	z.attach(v.a());
	timeval tv{0, 500000};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCSRTIMEOUT, &tv), 0);
	auto t0 = std::chrono::steady_clock::now();
	EXPECT_FALSE(readable(z.fd.get(), 0));	// arms the timeout
	// a fills (17 records of 200 bytes) and is handed over; b keeps 3.
	for (unsigned i = 0; i < 20; i++)
		b.send(frame(kTestType, 200, i));
	std::this_thread::sleep_until(t0 + 900ms);
	EXPECT_NE(z.a.hdr()->bzh_kernel_gen, z.a.hdr()->bzh_user_gen);
	EXPECT_EQ(z.b.hdr()->bzh_kernel_gen, 0u) << "a held: b not handed over at the timeout";
	auto first = z.take();
	ASSERT_TRUE(first);
	EXPECT_EQ(first->size(), 17u);
	EXPECT_EQ(z.owned(), nullptr) << "the module has not seen the ack yet";
	EXPECT_TRUE(readable(z.fd.get(), 1000));
	auto rest = z.take();
	ASSERT_TRUE(rest) << "poll after the ack hands b over";
	ASSERT_EQ(rest->size(), 3u);
	for (unsigned i = 0; i < 3; i++)
		EXPECT_EQ((*rest)[i].data, frame(kTestType, 200, 17 + i));
	EXPECT_EQ(stats64(z.fd.get()).bs_drop, 0u);
	bpf_zbuf bz{};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCROTZBUF, &bz), 0);
	EXPECT_EQ(bz.bz_buflen, 0u);
}

TEST(Zbuf, FlushKeepsWhatTheProcessOwnsAndDiscardsTheStore)
{
	Veth v("zf0", "zf1");
	Zbuf z(kPage);
	z.attach(v.a());
	PacketSocket b(v.b());
	for (unsigned i = 0; i < 20; i++)	// a full and handed over, b has 3
		b.send(frame(kTestType, 200, i));
	settle(300ms);
	ASSERT_EQ(ioctl(z.fd.get(), BIOCFLUSH), 0);
	bpf_zbuf bz{};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCROTZBUF, &bz), 0);
	EXPECT_EQ(bz.bz_buflen, 0u) << "the store was discarded";
	auto recs = z.take();
	ASSERT_TRUE(recs) << "the buffer the process owns stays its";
	EXPECT_EQ(recs->size(), 17u);
	EXPECT_EQ(stats64(z.fd.get()).bs_recv, 0u);
}

TEST(Zbuf, MunmapAndRemapDuringCaptureNeverReachTheKernel)
{
	Veth v("zu0", "zu1");
	long before = pinned_total();
	{
		Zbuf z(2 * kPage);
		z.attach(v.a(), true);
		Turmoil t(v.b(), "zu2", "zu3", 50ms);
		std::this_thread::sleep_for(200ms);
		munmap(z.a.p, z.a.len);
		// Remap something else in its place.
		void *again = mmap(z.a.p, z.a.len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ASSERT_EQ(again, z.a.p);
		munmap(z.b.p, z.b.len);
		z.b.p = nullptr;
		std::this_thread::sleep_for(300ms);
		// The new mapping is the process's own: the kernel does not write there.
		for (size_t i = 0; i < z.a.len; i++)
			ASSERT_EQ(z.a.bytes()[i], 0) << i;
		bpf_zbuf bz{};
		EXPECT_EQ(ioctl(z.fd.get(), BIOCROTZBUF, &bz), 0);
		EXPECT_GT(stats64(z.fd.get()).bs_recv, 0u);
		EXPECT_EQ(pinned_total(), before + 4) << "still pinned while open";
	}
	EXPECT_EQ(pinned_total(), before);
}

TEST(Zbuf, ForkKeepsTheParentsBuffersAndTheChildsCopyIsItsOwn)
{
	Veth v("zk0", "zk1");
	Zbuf z(kPage);
	z.attach(v.a());
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		// Scribble over the child's copies, then exit.
		std::memset(z.a.p, 0x55, z.a.len);
		std::memset(z.b.p, 0x55, z.b.len);
		_exit(0);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	PacketSocket(v.b()).send(frame(kTestType, 100, 5));
	settle(200ms);
	bpf_zbuf bz{};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCROTZBUF, &bz), 0);
	auto recs = z.take();
	ASSERT_TRUE(recs) << "the parent's buffer got the record";
	ASSERT_EQ(recs->size(), 1u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 5));
	EXPECT_EQ(z.b.hdr()->bzh_user_gen, 0u) << "the child's scribbles stayed in the child";
}

TEST(Zbuf, ExitWhileBlockedInPollReleasesThePages)
{
	Veth v("zx0", "zx1");
	long before = pinned_total();
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		Zbuf z(8 * kPage);
		z.attach(v.a());
		// No event asked for: the traffic below fills both buffers, and
		// a POLLIN poll would return and let the child exit by itself.
		// This one stays on the wait queue until the kill.
		pollfd p{z.fd.get(), 0, 0};
		for (;;)
			poll(&p, 1, -1);
	}
	Turmoil t(v.b(), "zx2", "zx3", 100ms);
	// Up to 10 s for the child to pin its buffers (a loaded TCG guest).
	for (int i = 0; i < 500 && pinned_total() != before + 16; i++)
		std::this_thread::sleep_for(20ms);
	EXPECT_EQ(pinned_total(), before + 16);
	kill(pid, SIGKILL);
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(status));
	for (int i = 0; i < 50 && pinned_total() != before; i++)
		std::this_thread::sleep_for(20ms);
	EXPECT_EQ(pinned_total(), before);
}

TEST(Zbuf, PinnedPagesAreChargedToTheLockedMemoryLimit)
{
	// mm->pinned_vm, as io_uring and RDMA charge what they pin: VmPin.
	long vmpin_before = -1, vmpin_during = -1;
	auto vmpin = [] {
		std::ifstream in("/proc/self/status");
		std::string line;
		while (std::getline(in, line))
			if (line.rfind("VmPin:", 0) == 0)
				return std::stol(line.substr(6));
		return -1L;
	};
	vmpin_before = vmpin();
	{
		Zbuf z(4 * kPage);
		vmpin_during = vmpin();
	}
	EXPECT_EQ(vmpin_during - vmpin_before, long(8 * kPage / 1024));
	EXPECT_EQ(vmpin(), vmpin_before) << "uncharged at close";
	// Without CAP_IPC_LOCK the limit holds.
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		__user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
		__user_cap_data_struct d[2]{};
		if (syscall(SYS_capget, &h, d))
			_exit(10);
		d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
		if (syscall(SYS_capset, &h, d))
			_exit(11);
		rlimit lim{8 * kPage, 8 * kPage};
		if (setrlimit(RLIMIT_MEMLOCK, &lim))
			_exit(12);
		Mapping m(16 * kPage);
		Fd one(::open("/dev/bpf", O_RDWR)), two(::open("/dev/bpf", O_RDWR));
		setmode(one.get(), BPF_BUFMODE_ZBUF);
		setmode(two.get(), BPF_BUFMODE_ZBUF);
		if (setzbuf(one.get(), m.p, m.bytes() + 4 * kPage, 4 * kPage))
			_exit(13);	// exactly the limit
		if (setzbuf(two.get(), m.bytes() + 8 * kPage, m.bytes() + 12 * kPage, 4 * kPage) != ENOMEM)
			_exit(14);
		one.reset();	// uncharged at close
		if (setzbuf(two.get(), m.bytes() + 8 * kPage, m.bytes() + 12 * kPage, 4 * kPage))
			_exit(15);
		_exit(0);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Zbuf, ProcShowsTheModeAndPinnedPages)
{
	Veth v("zq0", "zq1");
	Zbuf z(4 * kPage);
	z.attach(v.a());
	std::ifstream in("/proc/net/bpfdev");
	std::string line, mine;
	std::getline(in, line);
	while (std::getline(in, line))
		if (line.find(" zq0 ") != std::string::npos)
			mine = line;
	ASSERT_FALSE(mine.empty());
	std::istringstream fields(mine);
	std::string unit, pid, ifname, bufsize, recv, match, drop, mode, pinned;
	fields >> unit >> pid >> ifname >> bufsize >> recv >> match >> drop >> mode >> pinned;
	EXPECT_EQ(bufsize, std::to_string(4 * kPage - sizeof(bpf_zbuf_header)));
	EXPECT_EQ(mode, "zbuf");
	EXPECT_EQ(pinned, "8");
}

TEST(Zbuf, DescriptorChurnUnderTraffic)
{
	Veth v("zs0", "zs1");
	long before = pinned_total();
	Turmoil t(v.b(), "zs2", "zs3", 30ms, 50us);
	std::vector<std::thread> workers;
	for (int w = 0; w < 2; w++)
		workers.emplace_back([&] {
			for (int i = 0; i < 60; i++) {
				Zbuf z(kPage * (1 + i % 3));
				z.attach(v.a(), i % 2);
				for (int j = 0; j < i % 4; j++) {
					bpf_zbuf bz{};
					ioctl(z.fd.get(), BIOCROTZBUF, &bz);
					while (z.take()) {
					}
					std::this_thread::sleep_for(1ms);
				}
				if (i % 5 == 0)
					ioctl(z.fd.get(), BIOCFLUSH);
			}
		});
	for (auto &w : workers)
		w.join();
	t.stop();
	EXPECT_EQ(pinned_total(), before);
}

// OpenBSD's wait timeout in zero-copy mode: the store is handed over when
// it runs out, with no poll() arming anything and no BIOCROTZBUF.
TEST(Zbuf, WaitTimeoutHandsTheStoreOver)
{
	Veth v("zv0", "zv1");
	Zbuf z(kPage);
	z.attach(v.a());
	timeval tv{0, 200000};
	ASSERT_EQ(ioctl(z.fd.get(), BIOCSWTIMEOUT, &tv), 0);
	SigioHere sig(z.fd.get());
	ASSERT_TRUE(sig.ok());
	PacketSocket(v.b()).send(frame(kTestType, 100, 1));
	ASSERT_TRUE(sig.wait(3000ms));
	auto recs = z.take();
	ASSERT_TRUE(recs) << "handed over when the wait timeout ran out";
	ASSERT_EQ(recs->size(), 1u);
	EXPECT_EQ((*recs)[0].data, frame(kTestType, 100, 1));
}
