// The kernel backend: a /dev/bpf descriptor (bpfdev.ko, FreeBSD bpf(4)
// semantics) plus an eventfd that interrupt() signals. Reads never block in
// the kernel: the descriptor is non-blocking and we poll it together with
// the eventfd, so an interrupt always wakes us.
#pragma once

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

#include "backend.hpp"
#include "bpf_filter.hpp"
#include "bpf_source.hpp"
#include "unique_fd.hpp"

namespace tap::detail {

// How write() hands frames to the descriptor: one per write(), or
// bpf_hdr-framed, several per write() (BIOCSBATCHWRITE, bpf_write.cpp).
enum class WriteMode { per_frame, batch };

// Of frames written as one batch, how many records end within the first
// `bytes` bytes (what a short batch write() sent).
std::size_t batch_frames_within(std::span<const std::span<const std::byte>> frames,
				std::size_t bytes) noexcept;

class BpfBackend final : public Backend {
public:
	// Take a descriptor that is attached and configured (all but the
	// filter: set_filter). Tests hand in a socket in place of /dev/bpf.
	// source: where batches come from; null means copy mode (read()).
	static Result<std::unique_ptr<BpfBackend>> adopt(UniqueFd fd, DeviceInfo info,
							 WriteMode write_mode = WriteMode::per_frame,
							 std::unique_ptr<BufferSource> source = {});

	Result<Batch> read(std::optional<std::chrono::nanoseconds> timeout) override;
	Result<Batch> try_read() override;
	void interrupt() noexcept override;
	Result<void> write(std::span<const std::byte> frame) override;
	Result<std::size_t> write(std::span<const std::span<const std::byte>> frames) override;
	Result<Stats> stats() const override;
	// BIOCSETF; a valid program the kernel refuses (EINVAL) is run in
	// userland instead (UserlandFilter), an invalid one is an EINVAL error.
	Result<void> set_filter(const Filter &filter) override;
	std::optional<int> pollable_handle() const noexcept override { return fd_.get(); }

private:
	BpfBackend(UniqueFd fd, UniqueFd wake, DeviceInfo info, WriteMode write_mode,
		   std::unique_ptr<BufferSource> source);
	Result<std::size_t> write_batch(std::span<const std::span<const std::byte>> frames);
	std::unexpected<Error> sys_error(int err, std::string_view call) const;
	bool consume_interrupt() noexcept;
	std::unexpected<Error> take_parse_error();

	UniqueFd fd_;
	UniqueFd wake_; // eventfd
	std::atomic<bool> interrupt_pending_{false}; // interrupt() called, not yet consumed
	WriteMode write_mode_;
	std::vector<std::byte> batch_; // records of the batch being written
	std::unique_ptr<BufferSource> source_; // copy mode or zero-copy
	ParseStatus parse_; // what the walk of the last batch found
	// Set while the kernel runs accept-all for a program it refused.
	std::optional<UserlandFilter> userland_;
};

// A kernel fan-out group to join (BIOCSFANOUT).
struct Fanout {
	std::uint32_t group;
	unsigned int mode; // BPF_FANOUT_* | BPF_FANOUT_ROLLOVER
};

// Find a free /dev/bpf node, attach it to ifname and apply options; then
// join the fan-out group, if given.
Result<std::unique_ptr<Backend>> open_bpf(std::string_view ifname, const Options &options,
					  const std::string &name, const Fanout *fanout = nullptr);

} // namespace tap::detail
