// The classic-BPF interpreter: libpcap's bpf_filter() semantics, exactly.
#pragma once

#include <net/bpf.h>

#include <cstdint>
#include <span>
#include <vector>

namespace tap::cbpf {

// Runs a program that passed validate(). The constructor decodes the program
// once into a dense form (handler index, relative jumps) so the per-packet
// loop dispatches with one indirect branch per instruction.
class Interpreter {
public:
	// Precondition: validate(program) succeeded.
	explicit Interpreter(std::span<const bpf_insn> validated);

	// bytes: the captured part of the frame; wire_len: its length on the
	// wire (what BPF_LEN loads). Returns the snap length, 0 = drop.
	// Const and stateless: safe to call from many threads at once.
	std::uint32_t run(std::span<const std::uint8_t> bytes, std::uint32_t wire_len) const noexcept;

	// Same, and adds 1 to hits[i] for each executed instruction i.
	// hits.size() must be the program length.
	std::uint32_t run_counting(std::span<const std::uint8_t> bytes, std::uint32_t wire_len,
				   std::span<std::uint64_t> hits) const noexcept;

	std::size_t size() const noexcept { return ops_.size(); }

	struct Op {
		std::uint8_t handler; // index into the dispatch table
		std::uint8_t jt;      // relative, as in bpf_insn
		std::uint8_t jf;
		std::uint8_t unused;
		std::uint32_t k;
	};

private:
	std::vector<Op> ops_;
	bool zero_scratch_;
};

} // namespace tap::cbpf
