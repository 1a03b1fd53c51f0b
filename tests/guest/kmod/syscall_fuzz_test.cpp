// Syscall fuzzing of the module. Threads make random calls:
//  - every ioctl, with random, absent or unmapped arguments;
//  - random filter programs;
//  - reads of any size, writes of random frames;
//  - attach and re-attach, close and reopen;
//  - zero-copy buffers: BIOCSETZBUF with good and bad buffers from a pool
//    the fuzzer also remaps under the kernel (mmap MAP_FIXED), BIOCROTZBUF,
//    random acknowledgements written into the shared headers.
// The calls go to one shared descriptor and to descriptors of each thread's
// own, while traffic flows and an interface comes and goes. Passing means:
//  - every failure is one of the module's documented errnos;
//  - the module still captures afterwards;
//  - the kernel log stays clean (vm-run's gate).
// BPFDEV_FUZZ_SECONDS sets the length (default 10). BPFDEV_FUZZ_SEED replays
// a run; the seed is printed.
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

using namespace testnet;
using namespace std::chrono_literals;

namespace {

// What the module may answer (README "Ioctls", read/write semantics).
const std::set<int> kModuleErrnos = {EAGAIN, ENXIO,  ENOBUFS, EINVAL, EINTR,    EBUSY,
				     EFAULT, ENETDOWN, EPERM, EMSGSIZE, ENOMEM, EOPNOTSUPP, ENOSPC};

enum class Arg { none, uint, timeval, ifreq, program, dltlist, fanout, zbuf, out };

struct Op {
	unsigned long cmd;
	Arg arg;
	const char *name;
};

#define OP(cmd, arg) {cmd, Arg::arg, #cmd}
const Op kOps[] = {
	OP(BIOCGBLEN, out),
	OP(BIOCSBLEN, uint),
	OP(BIOCSETF, program),
	OP(BIOCSETFNR, program),
	OP(BIOCSETWF, program),
	OP(BIOCFLUSH, none),
	OP(BIOCPROMISC, none),
	OP(BIOCGDLT, out),
	OP(BIOCGETIF, out),
	OP(BIOCSETIF, ifreq),
	OP(BIOCSRTIMEOUT, timeval),
	OP(BIOCGRTIMEOUT, out),
	OP(BIOCGSTATS, out),
	OP(BIOCGSTATS64, out),
	OP(BIOCIMMEDIATE, uint),
	OP(BIOCVERSION, out),
	OP(BIOCGRSIG, out),
	OP(BIOCSRSIG, uint),
	OP(BIOCGHDRCMPLT, out),
	OP(BIOCSHDRCMPLT, uint),
	OP(BIOCGDIRECTION, out),
	OP(BIOCSDIRECTION, uint),
	OP(BIOCSDLT, uint),
	OP(BIOCGDLTLIST, dltlist),
	OP(BIOCLOCK, none),
	OP(BIOCGETBUFMODE, out),
	OP(BIOCSETBUFMODE, uint),
	OP(BIOCGTSTAMP, out),
	OP(BIOCSTSTAMP, uint),
	OP(BIOCSFANOUT, fanout),
	OP(BIOCGFANOUT, out),
	OP(FIONREAD, out),
	OP(BIOCSHEADDROP, uint),
	OP(BIOCGHEADDROP, out),
	OP(BIOCFEEDBACK, uint),
	OP(BIOCGFEEDBACK, out),
	OP(BIOCSETVLANPCP, uint),
	OP(BIOCGBATCHWRITE, out),
	OP(BIOCSBATCHWRITE, uint),
	OP(BIOCGFILDROP, out),
	OP(BIOCSFILDROP, uint),
	OP(BIOCGETZMAX, out),
	OP(BIOCSETZBUF, zbuf),
	OP(BIOCROTZBUF, out),
	OP(BIOCSWTIMEOUT, timeval),
	OP(BIOCGWTIMEOUT, out),
	OP(BIOCDWTIMEOUT, none),
};
#undef OP

// Instruction codes the kernel's classic loader knows, and a few it doesn't.
const uint16_t kCodes[] = {
	BPF_LD | BPF_W | BPF_ABS,  BPF_LD | BPF_H | BPF_ABS,  BPF_LD | BPF_B | BPF_ABS,
	BPF_LD | BPF_W | BPF_IND,  BPF_LD | BPF_B | BPF_IND,  BPF_LD | BPF_W | BPF_LEN,
	BPF_LD | BPF_IMM,	   BPF_LD | BPF_MEM,	      BPF_LDX | BPF_B | BPF_MSH,
	BPF_LDX | BPF_IMM,	   BPF_LDX | BPF_MEM,	      BPF_ST,
	BPF_STX,		   BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_DIV | BPF_X,
	BPF_ALU | BPF_MOD | BPF_K, BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_NEG,
	BPF_JMP | BPF_JA,	   BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_X,
	BPF_JMP | BPF_JSET | BPF_K, BPF_RET | BPF_K,	      BPF_RET | BPF_A,
	BPF_MISC | BPF_TAX,	   BPF_MISC | BPF_TXA,	      0xffff,
};

struct Unmapped {
	void *p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	~Unmapped() { munmap(p, 4096); }
};

// Pages to donate as zero-copy buffers (and to pull from under the kernel).
struct Pool {
	static constexpr size_t kPages = 32;
	const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	uint8_t *p = static_cast<uint8_t *>(
		mmap(nullptr, kPages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	~Pool() { munmap(p, kPages * page); }
	Pool() = default;
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;
};

class Fuzzer {
public:
	Fuzzer(uint64_t seed, int shared, const Unmapped &bad) : rng_(seed), shared_(shared), bad_(bad.p) {}
	~Fuzzer()
	{
		for (int fd : own_)
			if (fd >= 0)
				close(fd);
	}

	void step()
	{
		const unsigned which = pick(3);
		int &own = own_[pick(own_.size())];
		if (own < 0 || pick(40) == 0) {
			reopen(own);
			return;
		}
		const int fd = which == 0 ? shared_ : own;
		switch (pick(10)) {
		case 0: do_read(fd); break;
		case 1: do_write(fd); break;
		case 2: {
			pollfd p{fd, POLLIN | POLLOUT, 0};
			check(poll(&p, 1, 0) < 0 ? errno : 0, "poll");
			break;
		}
		case 3:
			if (pick(4) == 0) {
				zbuf_memory();
				break;
			}
			[[fallthrough]];
		default: do_ioctl(fd, fd == shared_); break;
		}
	}

	std::string first_bad() const { return bad_call_; }
	uint64_t calls() const { return calls_; }

private:
	unsigned pick(size_t n) { return static_cast<unsigned>(rng_() % n); }
	uint32_t any_uint()
	{
		const uint32_t special[] = {0, 1, 2, 3, 4, 31, 32, 64, 4096, 65535, 1u << 20,
					    1u << 24, 0x7fffffff, 0x80000000, 0xffffffff};
		return pick(3) ? special[pick(std::size(special))] : static_cast<uint32_t>(rng_());
	}

	void check(int err, const char *what)
	{
		++calls_;
		if (err && !kModuleErrnos.count(err) && bad_call_.empty())
			bad_call_ = std::string(what) + ": " + strerror(err);
	}

	void reopen(int &fd)
	{
		if (fd >= 0)
			close(fd);
		const char *paths[] = {"/dev/bpf", "/dev/bpf", "/dev/bpf0", "/dev/bpf1"};
		const char *path = paths[pick(std::size(paths))];
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		// A node not created yet is the VFS's ENOENT, not the module's.
		if (fd < 0 && errno != ENOENT)
			check(errno, "open");
		if (fd >= 0 && pick(3) == 0) { // a zero-copy descriptor with good buffers
			unsigned mode = BPF_BUFMODE_ZBUF;
			const size_t n = 1 + pick(4);
			const size_t at = pick(Pool::kPages / 2 - n);
			bpf_zbuf bz{pool_.p + at * pool_.page, pool_.p + (at + n) * pool_.page,
				    n * pool_.page};
			check(ioctl(fd, BIOCSETBUFMODE, &mode) < 0 ? errno : 0, "BIOCSETBUFMODE");
			check(ioctl(fd, BIOCSETZBUF, &bz) < 0 ? errno : 0, "BIOCSETZBUF");
		}
	}

	// What a process does to donated memory: acknowledge a buffer (or write
	// garbage where the kernel looks), or replace a page under the kernel.
	void zbuf_memory()
	{
		uint8_t *page = pool_.p + pick(Pool::kPages) * pool_.page;
		auto *h = reinterpret_cast<bpf_zbuf_header *>(page);
		if (pick(8) == 0) {
			void *r = mmap(page, pool_.page, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			check(r == MAP_FAILED ? errno : 0, "mmap MAP_FIXED");
			return;
		}
		const unsigned gen = __atomic_load_n(&h->bzh_kernel_gen, __ATOMIC_ACQUIRE);
		__atomic_store_n(&h->bzh_user_gen, pick(4) ? gen : any_uint(), __ATOMIC_RELEASE);
	}

	void do_read(int fd)
	{
		unsigned blen = 0;
		ioctl(fd, BIOCGBLEN, &blen);
		const size_t sizes[] = {blen, blen, blen + 1, 0, 4096, buf_.size()};
		size_t n = std::min(sizes[pick(std::size(sizes))], buf_.size());
		void *to = pick(15) ? static_cast<void *>(buf_.data()) : bad_;
		if (to == bad_)
			n = std::min<size_t>(n, 4096);
		check(read(fd, to, n) < 0 ? errno : 0, "read");
	}

	void do_write(int fd)
	{
		const size_t lens[] = {0, 1, 13, 14, 60, 100, 1514, 1515, 1518, 9000, 70000};
		const size_t n = lens[pick(std::size(lens))];
		for (size_t i = 0; i < n && i < buf_.size(); i++)
			buf_[i] = static_cast<uint8_t>(rng_());
		if (n >= 256 && pick(3) == 0) { // a batch (BIOCSBATCHWRITE) of mostly good records
			for (size_t off = 0; n - off >= 256; off += 256) {
				bpf_hdr h{};
				h.bh_hdrlen = static_cast<unsigned short>(pick(4) ? 26 : pick(300));
				h.bh_caplen = pick(4) ? 230 : any_uint(); // 26 + 230: exactly 256
				h.bh_datalen = pick(8) ? h.bh_caplen : any_uint();
				std::memcpy(buf_.data() + off, &h, SIZEOF_BPF_HDR(struct bpf_hdr));
			}
		}
		const void *from = pick(15) ? static_cast<const void *>(buf_.data()) : bad_;
		check(write(fd, from, from == bad_ ? std::min<size_t>(n, 4096) : n) < 0 ? errno : 0, "write");
	}

	void random_program(bpf_program &prog)
	{
		const unsigned lens[] = {0, 1, 2, 4, 8, 16, 64, BPF_MAXINSNS, BPF_MAXINSNS + 1};
		prog.bf_len = lens[pick(std::size(lens))];
		const unsigned n = std::min<unsigned>(prog.bf_len, insns_.size());
		for (unsigned i = 0; i < n; i++) {
			bpf_insn &in = insns_[i];
			in.code = kCodes[pick(std::size(kCodes))];
			in.jt = static_cast<uint8_t>(pick(4));
			in.jf = static_cast<uint8_t>(pick(4));
			in.k = pick(2) ? pick(80) : any_uint();
		}
		if (n && pick(4)) // most end in a return, so some pass the loader
			insns_[n - 1] = BPF_STMT(BPF_RET | BPF_K, pick(2) ? 0xffff : pick(100));
		prog.bf_insns = pick(20) ? insns_.data() : static_cast<bpf_insn *>(pick(2) ? nullptr : bad_);
	}

	void do_ioctl(int fd, bool shared)
	{
		if (pick(25) == 0) { // a command no BSD has
			const unsigned long cmd = _IOC(pick(4), 'B', 140 + pick(60), pick(64));
			check(ioctl(fd, cmd, buf_.data()) < 0 ? errno : 0, "unknown ioctl");
			return;
		}
		const Op &op = kOps[pick(std::size(kOps))];
		if (skip_ && std::strstr(skip_, op.name))
			return; // BPFDEV_FUZZ_SKIP: leave these ioctls out (to bisect a finding)
		if (op.cmd == BIOCLOCK && shared)
			return; // keep the shared descriptor useful to the end
		if (op.cmd == BIOCSBLEN && pick(4)) { // mostly modest, some huge
			unsigned size = 32u << pick(16);
			check(ioctl(fd, op.cmd, &size) < 0 ? errno : 0, "BIOCSBLEN");
			return;
		}
		uint32_t u = any_uint();
		timeval tv{};
		ifreq ifr{};
		bpf_program prog{};
		unsigned dlts[4];
		bpf_dltlist list{pick(5), pick(6) ? dlts : nullptr};
		bpf_fanout fo{};
		bpf_zbuf zb{};
		void *arg = nullptr;
		switch (op.arg) {
		case Arg::none: break;
		case Arg::uint: arg = &u; break;
		case Arg::timeval: {
			const long secs[] = {-1, 0, 0, 1, 3600, 0x7fffffff};
			const long usecs[] = {-1, 0, 1, 500000, 999999, 1000000};
			tv.tv_sec = secs[pick(std::size(secs))];
			tv.tv_usec = usecs[pick(std::size(usecs))];
			arg = &tv;
			break;
		}
		case Arg::ifreq: {
			const char *names[] = {"bf0", "bf1", "bf2", "bf3", "lo", "nosuch0"};
			if (pick(10))
				std::strncpy(ifr.ifr_name, names[pick(std::size(names))], IFNAMSIZ - 1);
			else // unterminated garbage
				std::memset(ifr.ifr_name, 'a' + static_cast<int>(pick(26)), IFNAMSIZ);
			arg = &ifr;
			break;
		}
		case Arg::program: random_program(prog); arg = &prog; break;
		case Arg::dltlist: arg = &list; break;
		case Arg::fanout: { // a few groups, so joins meet; modes valid, invalid, mismatched
			const unsigned modes[] = {BPF_FANOUT_NONE, BPF_FANOUT_HASH, BPF_FANOUT_CPU,
						  BPF_FANOUT_RR, BPF_FANOUT_HASH | BPF_FANOUT_ROLLOVER,
						  BPF_FANOUT_RR | BPF_FANOUT_ROLLOVER, BPF_FANOUT_ROLLOVER, 4};
			fo.bf_group = pick(3);
			fo.bf_mode = pick(10) ? modes[pick(std::size(modes))] : any_uint();
			arg = &fo;
			break;
		}
		case Arg::zbuf: { // pool pages, mostly whole and aligned; some not, some overlapping
			const size_t pg = pool_.page;
			uint8_t *a = pool_.p + pick(Pool::kPages) * pg + (pick(6) ? 0 : pick(pg));
			uint8_t *b = pool_.p + pick(Pool::kPages) * pg + (pick(6) ? 0 : pick(pg));
			size_t len = pick(6) ? (1 + pick(4)) * pg : any_uint();
			zb = bpf_zbuf{pick(20) ? a : nullptr, pick(20) ? b : static_cast<uint8_t *>(bad_), len};
			arg = &zb;
			break;
		}
		case Arg::out: arg = buf_.data(); break;
		}
		if (op.arg != Arg::none && pick(12) == 0)
			arg = pick(2) ? nullptr : bad_;
		check(ioctl(fd, op.cmd, arg) < 0 ? errno : 0, op.name);
	}

	const char *skip_ = std::getenv("BPFDEV_FUZZ_SKIP");
	Pool pool_;
	std::mt19937_64 rng_;
	int shared_;
	void *bad_;
	std::array<int, 2> own_{-1, -1};
	std::array<bpf_insn, BPF_MAXINSNS + 1> insns_{};
	std::array<uint8_t, 70000> buf_{};
	std::string bad_call_;
	uint64_t calls_ = 0;
};

} // namespace

TEST(Fuzz, RandomCallsGetDocumentedErrnosAndLeaveTheModuleWorking)
{
	const char *secs_env = std::getenv("BPFDEV_FUZZ_SECONDS");
	const char *seed_env = std::getenv("BPFDEV_FUZZ_SEED");
	const auto length = std::chrono::seconds(secs_env ? std::atoi(secs_env) : 10);
	const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 0)
				       : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
	std::printf("fuzz: seed %llu (BPFDEV_FUZZ_SEED replays it), %lld s\n", (unsigned long long)seed,
		    (long long)length.count());

	Veth v("bf0", "bf1");
	Unmapped bad;
	Fd shared = open_bpf(v.a());
	ASSERT_TRUE(shared);
	// Non-blocking: a random filter or timeout must not park a worker forever.
	fcntl(shared.get(), F_SETFL, fcntl(shared.get(), F_GETFL) | O_NONBLOCK);
	std::atomic<bool> stop{false};

	Turmoil turmoil(v.b(), "bf2", "bf3", 50ms, 200us);

	std::mutex mu;
	std::string bad_call;
	std::atomic<uint64_t> calls{0};
	auto worker = [&](uint64_t worker_seed) {
		Fuzzer fz(worker_seed, shared.get(), bad);
		while (!stop)
			fz.step();
		calls += fz.calls();
		std::lock_guard lock(mu);
		if (bad_call.empty())
			bad_call = fz.first_bad();
	};
	std::thread w1(worker, seed), w2(worker, seed + 1), w3(worker, seed + 2);
	std::this_thread::sleep_for(length);
	stop = true;
	for (auto *t : {&w1, &w2, &w3})
		t->join();
	turmoil.stop();

	EXPECT_EQ(bad_call, "") << "an errno the module does not document (seed " << seed << ")";
	EXPECT_GT(calls.load(), 1000u);
	std::printf("fuzz: %llu calls\n", (unsigned long long)calls.load());

	Fd after = open_bpf(v.a());
	PacketSocket(v.b()).send(frame(kTestType, 100, 42));
	bool found = false;
	for (const Record &r : read_all(after.get()))
		found = found || r.data.size() == 100;
	EXPECT_TRUE(found) << "the module still captures afterwards";
}
