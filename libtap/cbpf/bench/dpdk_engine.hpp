// DPDK's rte_bpf as a benchmark baseline: libpcap program -> rte_bpf_convert
// -> rte_bpf_load -> x86 JIT, run on one rte_mbuf per packet. Kept in its
// own translation unit so DPDK's compile flags (-march, forced include)
// stay out of everything else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct bpf_program;

namespace tap::cbpf::bench {

class DpdkJit {
public:
	// Initialises the EAL once (no hugepages, no PCI) and copies the packets
	// into mbufs. False when DPDK is unusable here; then nothing else works.
	static bool setup(const std::vector<std::vector<std::uint8_t>> &packets, std::string &why);

	// nullptr with a reason when the program does not convert or load.
	static std::unique_ptr<DpdkJit> create(const bpf_program &program, std::string &why);

	// The JIT is known to crash on this program (jset with an 8-bit
	// immediate, docs/REFERENCE.md §4 bug 2): run() must not be called.
	bool jit_crashes() const noexcept { return jit_crashes_; }
	~DpdkJit();

	std::uint32_t run(std::size_t packet) const noexcept;
	std::uint32_t run_interpreter(std::size_t packet) const noexcept;
	static std::size_t packet_count() noexcept;

private:
	explicit DpdkJit(void *bpf) noexcept;
	void *bpf_;                     // struct rte_bpf *
	std::uint64_t (*jit_)(void *);
	bool jit_crashes_ = false;
};

} // namespace tap::cbpf::bench
