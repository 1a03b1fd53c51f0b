// Kernel backend, writing. Per frame, one write() each (bpf(4)); or, when
// the module takes macOS's BIOCSBATCHWRITE, a batch of frames as bpf_hdr
// records in one write(), the layout read() returns. A batch write that
// fails part-way returns the bytes of the records it sent, so the count of
// frames that went out is exact and the next call reports the error, as
// sendmmsg() does.
#include "bpf_backend.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tap::detail {
namespace {

constexpr std::size_t kHeader = SIZEOF_BPF_HDR(struct bpf_hdr);
// Records per write() stay within this many bytes (one frame may exceed it).
constexpr std::size_t kBatchBytes = 1u << 20;

std::size_t record_size(std::span<const std::byte> frame) noexcept
{
	return BPF_WORDALIGN(kHeader + frame.size());
}

void append_record(std::vector<std::byte> &out, std::span<const std::byte> frame)
{
	const std::size_t at = out.size();
	out.resize(at + record_size(frame)); // padding: zeros, as resize gives
	struct bpf_hdr h {};
	h.bh_caplen = static_cast<bpf_u_int32>(frame.size());
	h.bh_datalen = h.bh_caplen;
	h.bh_hdrlen = static_cast<unsigned short>(kHeader);
	std::memcpy(out.data() + at, &h, kHeader);
	// An empty frame's span may hold a null pointer: memcpy's arguments
	// must not be null even for 0 bytes (UBSan reports it).
	if (!frame.empty())
		std::memcpy(out.data() + at + kHeader, frame.data(), frame.size());
}

} // namespace

std::size_t batch_frames_within(std::span<const std::span<const std::byte>> frames,
				std::size_t bytes) noexcept
{
	std::size_t n = 0, end = 0;
	for (const auto frame : frames) {
		// A short batch write() ends at a record boundary.
		end += record_size(frame);
		if (end > bytes)
			break;
		++n;
	}
	return n;
}

Result<void> BpfBackend::write(std::span<const std::byte> frame)
{
	if (write_mode_ == WriteMode::batch) {
		const std::span<const std::byte> one[] = {frame};
		auto sent = write_batch(one);
		if (!sent)
			return std::unexpected(std::move(sent.error()));
		return {};
	}
	ssize_t n;
	do
		n = ::write(fd_.get(), frame.data(), frame.size());
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sys_error(errno, "write");
	if (static_cast<std::size_t>(n) != frame.size())
		return sys_error(EIO, "write (short: " + std::to_string(n) + " of " +
					      std::to_string(frame.size()) + " bytes)");
	return {};
}

Result<std::size_t> BpfBackend::write(std::span<const std::span<const std::byte>> frames)
{
	if (write_mode_ == WriteMode::per_frame)
		return Backend::write(frames);
	std::size_t sent = 0;
	while (sent < frames.size()) {
		// As many frames as fit in kBatchBytes, at least one.
		std::size_t count = 0, bytes = 0;
		while (sent + count < frames.size() &&
		       (count == 0 || bytes + record_size(frames[sent + count]) <= kBatchBytes))
			bytes += record_size(frames[sent + count++]);
		auto r = write_batch(frames.subspan(sent, count));
		if (!r) {
			if (sent == 0)
				return std::unexpected(std::move(r.error()));
			break; // the caller's next write of the rest reports it
		}
		sent += *r;
		if (*r < count)
			break;
	}
	return sent;
}

// One write() of frames as records: how many went out, or the first one's error.
Result<std::size_t> BpfBackend::write_batch(std::span<const std::span<const std::byte>> frames)
{
	batch_.clear();
	for (const auto frame : frames)
		append_record(batch_, frame);
	ssize_t n;
	do
		n = ::write(fd_.get(), batch_.data(), batch_.size());
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sys_error(errno, "write");
	const std::size_t done = batch_frames_within(frames, static_cast<std::size_t>(n));
	if (done == 0 && !frames.empty())
		return sys_error(EIO, "write (batch: " + std::to_string(n) + " of " +
					      std::to_string(batch_.size()) + " bytes)");
	return done;
}

} // namespace tap::detail
