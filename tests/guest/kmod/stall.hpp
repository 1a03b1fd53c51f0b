// Tools for race tests that must not depend on timing: a user buffer whose
// first touch blocks the kernel until the test lets it go (userfaultfd), and
// a wait for a thread to be asleep in a given system call.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "testnet.hpp"

namespace testnet {

// Anonymous pages registered with userfaultfd: a copy_to_user() into them
// sleeps in the kernel until release().
class StalledBuffer {
public:
	explicit StalledBuffer(size_t size);
	~StalledBuffer();
	StalledBuffer(const StalledBuffer &) = delete;
	StalledBuffer &operator=(const StalledBuffer &) = delete;
	uint8_t *data() const { return data_; }
	// True once something faulted on the buffer (within `limit`).
	bool wait_fault(std::chrono::milliseconds limit) const;
	// Maps zeroed pages under the whole buffer and wakes the faulting thread.
	void release();

private:
	uint8_t *data_ = nullptr;
	size_t size_ = 0;
	Fd uffd_;
	bool released_ = false;
};

// This thread's kernel id.
pid_t this_tid();
// True once thread `tid` of this process sleeps in system call `nr`, or
// `done` is set (it finished instead); false after `limit`.
bool wait_asleep_in(pid_t tid, long nr, const std::atomic<bool> &done,
		    std::chrono::milliseconds limit);

} // namespace testnet
