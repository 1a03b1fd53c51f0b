// Kernel backend, filters: BIOCSETF, and the userland fallback for programs
// the kernel refuses.
#include "bpf_filter.hpp"

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf_backend.hpp"

namespace tap::detail {

std::size_t UserlandFilter::filter_in_place(std::span<std::byte> buffer, ParseStatus &status) noexcept
{
	status = {};
	if (buffer.empty() || !aligned(buffer)) {
		if (!buffer.empty())
			status = {errc::misaligned_buffer, 0, buffer.size()};
		return 0;
	}
	std::byte *const base = buffer.data();
	std::size_t in = 0;  // where the current input record starts
	std::size_t out = 0; // where the next kept record goes (aligned)
	std::size_t end = 0; // end of the last kept record (the last is unpadded)
	// The checked walk: records are contiguous, so each one starts at the
	// aligned end of the one before, and its header length is the distance
	// from there to its data.
	for (RecordIterator it(buffer, TimestampUnit::nanoseconds, &status); it != std::default_sentinel;
	     ++it) {
		const PacketView p = *it;
		const std::byte *data = p.bytes().data();
		const auto hdrlen = static_cast<std::size_t>(data - (base + in));
		const std::size_t next = align_record(static_cast<std::size_t>(data - base) + p.captured_length());
		const std::uint32_t keep = engine_.run(
			{reinterpret_cast<const std::uint8_t *>(data), p.captured_length()}, p.wire_length());
		if (keep != 0) {
			++accepted_;
			const std::uint32_t caplen = std::min(keep, p.captured_length());
			if (out != in)
				std::memmove(base + out, base + in, hdrlen + caplen);
			std::memcpy(base + out + offsetof(struct bpf_xhdr, bh_caplen), &caplen, sizeof caplen);
			end = out + hdrlen + caplen;
			out = align_record(end);
		}
		in = next;
	}
	return end;
}

Result<void> BpfBackend::set_filter(const Filter &filter)
{
	struct bpf_program prog = filter.program();
	if (::ioctl(fd_.get(), BIOCSETF, &prog) == 0) {
		userland_.reset();
	} else {
		// EINVAL: the kernel's loader refused it. If the program is valid
		// all the same (Linux refuses some that BSD runs), filter here.
		if (errno != EINVAL)
			return sys_error(errno, "BIOCSETF");
		auto engine = cbpf::Filter::create(filter.instructions());
		if (!engine)
			return sys_error(EINVAL, "BIOCSETF (" + engine.error().message() + ")");
		const struct bpf_insn all = BPF_STMT(BPF_RET | BPF_K, UserlandFilter::kernel_snap_length);
		struct bpf_program accept{1, const_cast<struct bpf_insn *>(&all)};
		if (::ioctl(fd_.get(), BIOCSETF, &accept) < 0)
			return sys_error(errno, "BIOCSETF (accept-all, to filter in userland)");
		// BIOCSETF flushed the buffers and zeroed the kernel's counters:
		// the new counter starts with them.
		userland_.emplace(std::move(*engine));
	}
	// The program's return value is the snap length now.
	info_.snap_length = filter.snap_length(Options::max_snap_length);
	return {};
}

} // namespace tap::detail
