// Race-test tools (see stall.hpp).
#include "stall.hpp"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace testnet {

StalledBuffer::StalledBuffer(size_t size)
	: size_((size + 4095) & ~size_t(4095)),
	  uffd_(static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)))
{
	if (!uffd_)
		throw std::runtime_error("userfaultfd: " + std::string(strerror(errno)));
	uffdio_api api{};
	api.api = UFFD_API;
	if (ioctl(uffd_.get(), UFFDIO_API, &api) != 0)
		throw std::runtime_error("UFFDIO_API: " + std::string(strerror(errno)));
	void *p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		throw std::runtime_error("mmap");
	data_ = static_cast<uint8_t *>(p);
	uffdio_register reg{};
	reg.range.start = reinterpret_cast<uintptr_t>(data_);
	reg.range.len = size_;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd_.get(), UFFDIO_REGISTER, &reg) != 0)
		throw std::runtime_error("UFFDIO_REGISTER: " + std::string(strerror(errno)));
}

StalledBuffer::~StalledBuffer()
{
	release();
	munmap(data_, size_);
}

bool StalledBuffer::wait_fault(std::chrono::milliseconds limit) const
{
	pollfd p{uffd_.get(), POLLIN, 0};
	return ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

void StalledBuffer::release()
{
	if (released_)
		return;
	released_ = true;
	std::vector<uint8_t> zeros(size_);
	uffdio_copy copy{};
	copy.dst = reinterpret_cast<uintptr_t>(data_);
	copy.src = reinterpret_cast<uintptr_t>(zeros.data());
	copy.len = size_;
	ioctl(uffd_.get(), UFFDIO_COPY, &copy);
}

pid_t this_tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

static bool asleep_in(pid_t tid, long nr)
{
	const std::string task = "/proc/self/task/" + std::to_string(tid);
	std::ifstream sc(task + "/syscall");
	long cur = -1;
	if (!(sc >> cur) || cur != nr)
		return false;
	std::ifstream st(task + "/stat");
	std::string line;
	std::getline(st, line);
	const auto paren = line.rfind(')');
	return paren != std::string::npos && paren + 2 < line.size() &&
	       (line[paren + 2] == 'S' || line[paren + 2] == 'D');
}

bool wait_asleep_in(pid_t tid, long nr, const std::atomic<bool> &done,
		    std::chrono::milliseconds limit)
{
	const auto end = std::chrono::steady_clock::now() + limit;
	while (std::chrono::steady_clock::now() < end) {
		if (done || asleep_in(tid, nr))
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return false;
}

} // namespace testnet
