// Kernel backend, steady state: waiting, reading, interrupting, writing.
#include "bpf_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

namespace tap::detail {

using namespace std::chrono;

namespace {

// Copy mode: bpf(4)'s read(), given exactly the buffer size.
class CopySource final : public BufferSource {
public:
	// operator new aligns to at least 16 >= BPF_ALIGNMENT, as the parser needs.
	explicit CopySource(std::size_t size)
		: size_(size), buffer_(std::make_unique_for_overwrite<std::byte[]>(size))
	{
	}
	std::expected<std::span<std::byte>, Failure> next(int fd) override
	{
		// A non-blocking read hands over the hold buffer, or else the
		// part-filled store buffer; EAGAIN only when both are empty.
		ssize_t n;
		do {
			++syscalls_;
			n = ::read(fd, buffer_.get(), size_);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return std::span<std::byte>{};
		if (n < 0)
			return std::unexpected(Failure{errno, "read"});
		return std::span<std::byte>{buffer_.get(), static_cast<std::size_t>(n)};
	}
	std::size_t syscalls() const noexcept override { return syscalls_; }

private:
	std::size_t size_;
	std::unique_ptr<std::byte[]> buffer_;
	std::size_t syscalls_ = 0;
};

} // namespace

std::unique_ptr<BufferSource> copy_source(std::size_t size)
{
	return std::make_unique<CopySource>(size);
}

Result<std::unique_ptr<BpfBackend>> BpfBackend::adopt(UniqueFd fd, DeviceInfo info,
						      WriteMode write_mode,
						      std::unique_ptr<BufferSource> source)
{
	const int flags = ::fcntl(fd.get(), F_GETFL);
	if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0)
		return fail_errno(errno, info.name + ": fcntl(O_NONBLOCK)");
	UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!wake)
		return fail_errno(errno, info.name + ": eventfd");
	if (info.buffer_size == 0)
		return fail(errc::invalid_option, info.name + ": zero buffer size");
	if (!source)
		source = copy_source(info.buffer_size);
	return std::unique_ptr<BpfBackend>(new BpfBackend(std::move(fd), std::move(wake),
							  std::move(info), write_mode, std::move(source)));
}

BpfBackend::BpfBackend(UniqueFd fd, UniqueFd wake, DeviceInfo info, WriteMode write_mode,
		       std::unique_ptr<BufferSource> source)
	: Backend(std::move(info)), fd_(std::move(fd)), wake_(std::move(wake)), write_mode_(write_mode),
	  source_(std::move(source))
{
}

std::unexpected<Error> BpfBackend::sys_error(int err, std::string_view call) const
{
	return fail_errno(err, info_.name + ": " + std::string(call));
}

bool BpfBackend::consume_interrupt() noexcept
{
	std::uint64_t count;
	interrupt_pending_.store(false, std::memory_order_relaxed);
	return ::read(wake_.get(), &count, sizeof count) == sizeof count;
}

void BpfBackend::interrupt() noexcept
{
	const std::uint64_t one = 1;
	// Seen by the zero-copy fast path in read(), which makes no poll().
	interrupt_pending_.store(true, std::memory_order_release);
	// Fails only if the counter is saturated, i.e. already signalled.
	[[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

// The last batch's walk stopped at a corrupt record: say so once, before
// handing out more.
std::unexpected<Error> BpfBackend::take_parse_error()
{
	const ParseStatus found = std::exchange(parse_, {});
	return fail(found.error, info_.name + ": read: " + found.where());
}

Result<Batch> BpfBackend::try_read()
{
	if (parse_.error)
		return take_parse_error();
	auto buf = source_->next(fd_.get());
	if (!buf)
		return sys_error(buf.error().err, buf.error().call);
	std::span<std::byte> got = *buf;
	if (userland_) {
		// That walk checks every record; the compacted buffer is then
		// intact, and a corrupt record it met is reported as the
		// batch's (and the next read's) error. The buffer is ours until
		// the next call, zero-copy included, so compacting it in place
		// is safe.
		ParseStatus found;
		got = got.first(userland_->filter_in_place(got, found));
		Batch batch = Batch::walk(got, info_.timestamp_unit, parse_);
		parse_ = found;
		return batch;
	}
	// Checked as the caller walks it: one pass over the buffer, not two.
	return Batch::walk(got, info_.timestamp_unit, parse_);
}

Result<Batch> BpfBackend::read(std::optional<nanoseconds> timeout)
{
	if (parse_.error)
		return take_parse_error();
	// One wait for the whole timeout (none without one): an idle device
	// makes no wakeups. The module bounds how long a packet waits in a
	// part-filled buffer: poll() arms its read timeout (BIOCSRTIMEOUT,
	// Options::read_timeout), after which stored records make the
	// descriptor readable, as on FreeBSD.
	const auto start = steady_clock::now();
	for (;;) {
		if (parse_.error) // the userland filter's walk met a corrupt record
			return take_parse_error();
		// Zero-copy: a buffer handed over while the caller was busy is
		// taken without a system call; a reader that keeps up polls only
		// when it has caught up.
		if (!interrupt_pending_.load(std::memory_order_acquire) && source_->ready_now()) {
			auto batch = try_read();
			if (!batch || !batch->empty())
				return batch;
		}
		std::optional<nanoseconds> wait;
		if (timeout)
			wait = std::max(nanoseconds::zero(), *timeout - (steady_clock::now() - start));

		pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
		timespec ts{};
		if (wait) {
			ts.tv_sec = duration_cast<seconds>(*wait).count();
			ts.tv_nsec = (*wait % seconds(1)).count();
		}
		const int ready = ::ppoll(fds, 2, wait ? &ts : nullptr, nullptr);
		if (ready < 0) {
			if (errno == EINTR)
				continue; // a signal; interrupt() is what stops a read
			return sys_error(errno, "poll");
		}
		if (fds[1].revents & POLLIN) {
			consume_interrupt();
			return sys_error(EINTR, "read interrupted");
		}
		// Readable, or the timeout passed: collect what the kernel holds.
		auto batch = try_read();
		if (!batch || !batch->empty())
			return batch;
		if (fds[0].revents & (POLLHUP | POLLERR))
			return sys_error(ENXIO, "read (device detached)");
		if (timeout && steady_clock::now() - start >= *timeout)
			return Batch{};
	}
}

Result<Stats> BpfBackend::stats() const
{
	// The 64-bit form: BIOCGSTATS's 32-bit counters wrap within minutes at
	// line rate, and a wrapped drop count would hide losses.
	struct bpf_stat64 st {};
	if (::ioctl(fd_.get(), BIOCGSTATS64, &st) < 0)
		return sys_error(errno, "BIOCGSTATS64");
	// Filtering in userland, the kernel's program accepts everything:
	// what passed is what our filter passed, of the frames read so far.
	return Stats{st.bs_recv, st.bs_drop, userland_ ? userland_->accepted() : st.bs_capt};
}

} // namespace tap::detail
