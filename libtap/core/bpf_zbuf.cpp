// Zero-copy reader. Ownership is the kernel's while bzh_kernel_gen ==
// bzh_user_gen. We load bzh_kernel_gen with acquire ordering before reading
// bzh_kernel_len and the records (pairs with the module's release store),
// and hand a buffer back with a release store of bzh_user_gen once the
// caller is done with it -- at the next call, when the Batch from it is
// dead by the API's rule -- so our reads of the records happen before the
// module writes there again. The module fills the buffers alternately, a
// first; we take them in the same order.
#include "bpf_zbuf.hpp"

#include <net/bpf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace tap::detail {
namespace {

// One donated buffer; unmapped on destruction (the module keeps its pinned
// pages until the descriptor closes, so the order does not matter to it).
class Mapping {
public:
	explicit Mapping(std::size_t len)
		: len_(len), p_(::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
	{
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	~Mapping()
	{
		if (ok())
			::munmap(p_, len_);
	}
	bool ok() const noexcept { return p_ != MAP_FAILED; }
	std::size_t size() const noexcept { return len_; }
	void *get() const noexcept { return p_; }
	bpf_zbuf_header &header() const noexcept { return *static_cast<bpf_zbuf_header *>(p_); }
	std::byte *records() const noexcept
	{
		return static_cast<std::byte *>(p_) + sizeof(bpf_zbuf_header);
	}

private:
	std::size_t len_;
	void *p_;
};

// The header's fields are volatile for C; atomic_ref gives them an order.
unsigned int load_acquire(volatile unsigned int &v)
{
	return std::atomic_ref<unsigned int>(const_cast<unsigned int &>(v)).load(std::memory_order_acquire);
}

void store_release(volatile unsigned int &v, unsigned int x)
{
	std::atomic_ref<unsigned int>(const_cast<unsigned int &>(v)).store(x, std::memory_order_release);
}

class ZbufSource final : public BufferSource {
public:
	explicit ZbufSource(std::size_t len) : a_(len), b_(len) {}
	bool ok() const noexcept { return a_.ok() && b_.ok(); }
	void *a() const noexcept { return a_.get(); }
	void *b() const noexcept { return b_.get(); }

	std::expected<std::span<std::byte>, Failure> next(int fd) override
	{
		release();
		if (auto s = take(); !s.empty())
			return s;
		// Nothing handed over yet. bpfdev hands a due store over by itself
		// (read timeout, immediate mode) before poll() returns, so this is
		// for a module that leaves that to the process, as FreeBSD's does:
		// have it hand over its store now, then look again.
		bpf_zbuf bz{};
		++syscalls_;
		if (::ioctl(fd, BIOCROTZBUF, &bz) < 0)
			return std::unexpected(Failure{errno, "BIOCROTZBUF"});
		return take();
	}
	bool ready_now() noexcept override
	{
		release();
		bpf_zbuf_header &h = expected_next().header();
		return load_acquire(h.bzh_kernel_gen) != h.bzh_user_gen;
	}
	std::size_t syscalls() const noexcept override { return syscalls_; }

private:
	Mapping &expected_next() noexcept { return next_b_ ? b_ : a_; }
	std::span<std::byte> take() noexcept
	{
		Mapping &m = expected_next();
		bpf_zbuf_header &h = m.header();
		const unsigned int gen = load_acquire(h.bzh_kernel_gen);
		if (gen == h.bzh_user_gen)
			return {};
		held_ = &m;
		held_gen_ = gen;
		next_b_ = !next_b_;
		// The header is in our own memory; a stray write of ours must not
		// make the walk leave the buffer.
		return {m.records(), std::min<std::size_t>(h.bzh_kernel_len, m.size() - sizeof(h))};
	}
	void release() noexcept
	{
		if (held_)
			store_release(held_->header().bzh_user_gen, held_gen_);
		held_ = nullptr;
	}

	Mapping a_, b_;
	Mapping *held_ = nullptr;
	unsigned int held_gen_ = 0;
	bool next_b_ = false;
	std::size_t syscalls_ = 0;
};

} // namespace

Result<std::unique_ptr<BufferSource>> zbuf_source(int fd, std::size_t size, const std::string &where)
{
	unsigned int mode = BPF_BUFMODE_ZBUF;
	if (::ioctl(fd, BIOCSETBUFMODE, &mode) < 0) {
		if (errno == EINVAL)
			return std::unique_ptr<BufferSource>(); // not offered: copy mode
		return fail_errno(errno, where + "BIOCSETBUFMODE");
	}
	std::size_t zmax = 0;
	if (::ioctl(fd, BIOCGETZMAX, &zmax) < 0)
		return fail_errno(errno, where + "BIOCGETZMAX");
	const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
	std::size_t len = (size + sizeof(bpf_zbuf_header) + page - 1) / page * page;
	len = std::min(len, zmax);
	auto src = std::make_unique<ZbufSource>(len);
	if (!src->ok())
		return fail_errno(errno, where + "mmap");
	bpf_zbuf bz{src->a(), src->b(), len};
	if (::ioctl(fd, BIOCSETZBUF, &bz) < 0)
		return fail_errno(errno, where + "BIOCSETZBUF");
	return std::unique_ptr<BufferSource>(std::move(src));
}

} // namespace tap::detail
