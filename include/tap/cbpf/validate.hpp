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

// For a validated program: bit i set when M[i] may be read on some path
// before any write. Such reads see 0 (libpcap >= 1.10.4 semantics; 1.10.3
// reads uninitialised stack). Not a rejection, because libpcap itself
// emits such programs (e.g. "pppoes" on DLT_IEEE802_11_RADIO reads M[0]);
// engines use the mask to clear only the slots that need it.
std::uint16_t scratch_read_before_write(std::span<const bpf_insn> validated) noexcept;

} // namespace tap::cbpf
