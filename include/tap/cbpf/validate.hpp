// Load-time checks for classic-BPF programs. A program that passes runs to a
// RET on every input, in at most one pass over its instructions, without
// undefined behaviour, in every engine of tap::cbpf.
#pragma once

#include <net/bpf.h>

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace tap::cbpf {

// Every rule the validator enforces; describe() gives its one-line reason.
// The enum is also the documentation index: see validate.cpp for why each
// rule is stricter than (or equal to) libpcap's bpf_validate().
enum class Rule : std::uint8_t {
	empty_program,        // 0 instructions
	too_long,             // more than BPF_MAXINSNS instructions
	unknown_opcode,       // code not in the whitelist of 49 classic opcodes
	jump_out_of_range,    // a target past the last instruction (or backwards)
	no_final_return,      // last instruction is not RET
	divide_by_zero,       // DIV or MOD by constant 0
	shift_too_large,      // LSH or RSH by constant >= 32
	scratch_out_of_range, // M[k] with k >= BPF_MEMWORDS
	scratch_uninitialized, // M[k] read on a path where it was never written
};

std::string_view describe(Rule rule) noexcept;

// Trivially copyable on purpose: the error travels in std::expected and is
// formatted only when someone asks for the message.
struct ValidationError {
	std::uint32_t index = 0; // offending instruction (0 for whole-program rules)
	Rule rule = Rule::empty_program;
	bpf_insn insn{};         // copy of the offending instruction

	// "insn 3 (code 0x34 k 0x0): division or modulo by constant 0"
	std::string message() const;
};

std::expected<void, ValidationError> validate(std::span<const bpf_insn> program) noexcept;

} // namespace tap::cbpf
