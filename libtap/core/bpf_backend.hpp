// The kernel backend: a /dev/bpf descriptor (bpfdev.ko, FreeBSD bpf(4)
// semantics) plus an eventfd that interrupt() signals. Reads never block in
// the kernel: the descriptor is non-blocking and we poll it together with
// the eventfd, so an interrupt always wakes us.
#pragma once

#include <memory>
#include <string_view>

#include "backend.hpp"
#include "bpf_source.hpp"
#include "unique_fd.hpp"

namespace tap::detail {

class BpfBackend final : public Backend {
public:
	// Take a descriptor that is attached and configured. poll_slice: how
	// often a waiting read collects a part-filled buffer (read_timeout);
	// zero means only when the descriptor says it is readable.
	// Tests hand in a pipe or socket in place of /dev/bpf.
	// source: where batches come from; null means copy mode (read()).
	static Result<std::unique_ptr<BpfBackend>> adopt(UniqueFd fd, DeviceInfo info,
							 std::chrono::nanoseconds poll_slice,
							 std::unique_ptr<BufferSource> source = {});

	Result<Batch> read(std::optional<std::chrono::nanoseconds> timeout) override;
	Result<Batch> try_read() override;
	void interrupt() noexcept override;
	Result<void> write(std::span<const std::byte> frame) override;
	using Backend::write;
	Result<Stats> stats() const override;
	Result<void> set_filter(const Filter &filter) override;
	std::optional<int> pollable_handle() const noexcept override { return fd_.get(); }

private:
	BpfBackend(UniqueFd fd, UniqueFd wake, DeviceInfo info, std::chrono::nanoseconds slice,
		   std::unique_ptr<BufferSource> source);
	std::unexpected<Error> sys_error(int err, std::string_view call) const;
	bool consume_interrupt() noexcept;
	std::unexpected<Error> take_parse_error();

	UniqueFd fd_;
	UniqueFd wake_; // eventfd
	std::unique_ptr<BufferSource> source_; // copy mode or zero-copy
	std::chrono::nanoseconds poll_slice_;
	ParseStatus parse_; // what the walk of the last batch found
};

// Find a free /dev/bpf node, attach it to ifname and apply options.
Result<std::unique_ptr<Backend>> open_bpf(std::string_view ifname, const Options &options,
					  const std::string &name);

} // namespace tap::detail
