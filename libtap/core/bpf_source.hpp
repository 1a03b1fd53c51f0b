// Where the kernel backend's batches come from: read() into a buffer of
// ours (copy mode), or the two buffers shared with the module (zero-copy,
// FreeBSD's BIOCSETZBUF, bpf_zbuf.cpp). The backend polls; a source only
// hands over what the kernel has now.
#pragma once

#include <cstddef>
#include <expected>
#include <memory>
#include <span>

namespace tap::detail {

class BufferSource {
public:
	virtual ~BufferSource() = default;
	// Release the span the last call returned (zero-copy: hand it back to
	// the kernel), then return the next buffer of records: the full hold
	// buffer, else what the store holds; empty when there is nothing.
	// On failure, the errno and the call that failed.
	struct Failure {
		int err;
		const char *call;
	};
	virtual std::expected<std::span<std::byte>, Failure> next(int fd) = 0;
	// Release the last span, as next() does, and say whether the next
	// buffer is already ours, so next() needs no system call (zero-copy:
	// the module handed it over while we were busy). Copy mode: never.
	virtual bool ready_now() noexcept { return false; }
	// System calls made other than poll, for tests and benchmarks.
	virtual std::size_t syscalls() const noexcept = 0;
};

// Copy mode: read() of exactly `size` bytes into a buffer of ours.
std::unique_ptr<BufferSource> copy_source(std::size_t size);

} // namespace tap::detail
